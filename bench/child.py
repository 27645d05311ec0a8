"""Measure one tracker run in this (fresh) process and print one JSON result line.

Usage: python bench/child.py TRACKER DATA_DIR STEPS

Times init, the log loop and finish with time.perf_counter, then reads peak RSS
and the bytes the tracker left in DATA_DIR. Started by bench/sdk_bench.py,
which sets the environment and uses DATA_DIR as the working directory.
"""

from __future__ import annotations

import json
import os
import random
import resource
import sys
import time
from pathlib import Path

from trackers import TRACKERS, LogFn, Metrics

RESULT_PREFIX = "BENCH_RESULT "
KEYS = tuple(f"metric_{j}" for j in range(10))


def timed_loop(log: LogFn, steps: int) -> float:
    """Seconds to log `steps` dicts of ten fresh random floats."""
    rand = random.Random(0).random
    start = time.perf_counter()
    for step in range(steps):
        log({key: rand() for key in KEYS}, step)
    return time.perf_counter() - start


def dir_bytes(path: Path) -> int:
    """Total size of the regular files below `path` (symlinks not followed)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            file = os.path.join(root, name)
            if not os.path.islink(file):
                total += os.path.getsize(file)
    return total


def maxrss_mib(who: int) -> float:
    """Peak resident set size in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(who).ru_maxrss / 1024


def helpers_peak_mib() -> float:
    """Sum of the peak RSS (VmHWM) of this process's live descendants, in MiB.

    Catches long-lived helper processes (such as wandb's service) before they
    are torn down; Linux only.
    """
    children: dict[int, list[int]] = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    total_kib, todo = 0, list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total_kib += sum(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")
        )
    return total_kib / 1024


def noop(metrics: Metrics, step: int) -> None:
    """Stand-in logger that measures the cost of building the metrics dicts."""


def measure(name: str, data_dir: Path, steps: int) -> dict[str, float | int | None]:
    """Run init, `steps` log calls and finish; return the raw figures."""
    tracker = TRACKERS[name]
    mod = tracker.load()
    build_s = timed_loop(noop, steps)

    start = time.perf_counter()
    run = tracker.init(mod, data_dir)
    init_s = time.perf_counter() - start

    loop_s = timed_loop(tracker.logger(mod, run), steps)

    start = time.perf_counter()
    tracker.finish(mod, run)
    finish_s = time.perf_counter() - start

    maxrss_self = maxrss_mib(resource.RUSAGE_SELF)
    helpers_peak = helpers_peak_mib()
    tracker.teardown(mod)
    size = dir_bytes(data_dir)
    return {
        "steps": steps,
        "init_s": init_s,
        "loop_s": loop_s,
        "build_s": build_s,
        "log_us": (loop_s - build_s) / steps * 1e6 if steps else None,
        "finish_s": finish_s,
        "maxrss_self_mib": maxrss_self,
        "maxrss_children_mib": maxrss_mib(resource.RUSAGE_CHILDREN),
        "helpers_peak_mib": helpers_peak,
        "run_bytes": size,
        "bytes_per_point": size / (steps * len(KEYS)) if steps else None,
    }


def main() -> None:
    name, data_dir, steps = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    result = measure(name, data_dir, steps)
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
