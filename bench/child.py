"""Measure one tracker run in this (fresh) process and print one JSON result line.

Usage: python bench/child.py TRACKER DATA_DIR STEPS [CASE]

Times init, the log loop and finish with time.perf_counter, then reads peak RSS
and the bytes the tracker left in DATA_DIR. Started by bench/sdk_bench.py (CASE
`scalar`, the default: ten floats per call) and bench/media_bench.py (CASE
`image` or `table`: one media value per call, each call timed), which set the
environment and use DATA_DIR as the working directory.
"""

from __future__ import annotations

import json
import os
import random
import resource
import sys
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trackers import TRACKERS, LogFn, Metrics, Tracker

RESULT_PREFIX = "BENCH_RESULT "
KEYS = tuple(f"metric_{j}" for j in range(10))
IMAGE_SIDE = 256
TABLE_ROWS = 1_000
TABLE_COLUMNS = ("id", "label", "score", "ok")


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


def media_case(tracker: Tracker, mod: Any, case: str) -> tuple[Callable[[int], Any], Callable[[Any], Any]]:
    """For CASE: a function making step's raw data (untimed), and one making the logged value of it."""
    if case == "image":
        import numpy as np

        rng = np.random.default_rng(0)
        shape = (IMAGE_SIDE, IMAGE_SIDE, 3)
        return (lambda step: rng.integers(0, 256, shape, dtype=np.uint8)), (lambda px: tracker.image(mod, px))
    if case == "table":
        rand = random.Random(0).random

        def rows(step: int) -> list[list[Any]]:
            return [[i, f"label_{i % 10}", rand(), i % 3 == 0] for i in range(TABLE_ROWS)]

        return rows, (lambda data: tracker.table(mod, list(TABLE_COLUMNS), data))
    raise SystemExit(f"unknown case {case!r}: scalar, image or table")


def cpu_s(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def measure_media(name: str, data_dir: Path, steps: int, case: str) -> dict[str, Any]:
    """Run init, `steps` calls of log({case: value}) each timed on its own, and finish.

    A call's time includes making the value (`Image(array)`, `Table(...)`), since either
    tracker may do its work there; the raw data of each step is made before the timer starts.
    """
    tracker = TRACKERS[name]
    mod = tracker.load()
    raw_of, value_of = media_case(tracker, mod, case)

    start = time.perf_counter()
    run = tracker.init(mod, data_dir)
    init_s = time.perf_counter() - start
    log = tracker.logger(mod, run)

    calls: list[float] = []
    calls_cpu: list[float] = []
    raw_cpu = 0.0
    cpu_start = cpu_s(resource.RUSAGE_SELF)
    for step in range(steps):
        t = time.thread_time()
        raw = raw_of(step)
        raw_cpu += time.thread_time() - t
        t, start = time.thread_time(), time.perf_counter()
        log({case: value_of(raw)}, step)
        calls.append(time.perf_counter() - start)
        calls_cpu.append(time.thread_time() - t)

    start = time.perf_counter()
    tracker.finish(mod, run)
    finish_s = time.perf_counter() - start
    cpu_self = cpu_s(resource.RUSAGE_SELF) - cpu_start - raw_cpu

    maxrss_self = maxrss_mib(resource.RUSAGE_SELF)
    helpers_peak = helpers_peak_mib()
    start = time.perf_counter()
    tracker.teardown(mod)
    teardown_s = time.perf_counter() - start
    size = dir_bytes(data_dir)
    us = sorted(c * 1e6 for c in calls)
    return {
        "case": case,
        "steps": steps,
        "init_s": init_s,
        "call_median_us": statistics.median(us),
        "call_p95_us": us[min(len(us) - 1, round(0.95 * (len(us) - 1)))],
        "call_mean_us": statistics.fmean(us),
        "call_max_us": us[-1],
        "call_first_us": calls[0] * 1e6,
        "call_cpu_mean_us": statistics.fmean(calls_cpu) * 1e6,
        "calls_total_s": sum(calls),
        "finish_s": finish_s,
        "calls_plus_finish_s": sum(calls) + finish_s,
        "teardown_s": teardown_s,
        "cpu_self_s": cpu_self,
        "cpu_children_s": cpu_s(resource.RUSAGE_CHILDREN),
        "maxrss_self_mib": maxrss_self,
        "helpers_peak_mib": helpers_peak,
        "run_bytes": size,
        "run_files": sum(len(files) for _root, _dirs, files in os.walk(data_dir)),
        "calls_us": [round(c * 1e6, 1) for c in calls],
    }


def main() -> None:
    name, data_dir, steps = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    case = sys.argv[4] if len(sys.argv) > 4 else "scalar"
    if case == "scalar":
        result: dict[str, Any] = measure(name, data_dir, steps)
    else:
        result = measure_media(name, data_dir, steps, case)
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
