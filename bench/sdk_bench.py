"""Benchmark the Tracklet SDK against wandb (offline), trackio and mlflow.

Every measurement runs in a fresh subprocess (cold imports), trackers are
interleaved round-robin so that noise on a shared machine hits them alike, and
the result is a Markdown table of medians plus "other/tracklet" ratios.
Raw per-process results go to bench/results/sdk-<timestamp>.json.

Run with the bench venv:  .bench-venv/bin/python bench/sdk_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from child import RESULT_PREFIX
from trackers import COMMON_ENV, TRACKERS, Tracker

BENCH_DIR = Path(__file__).resolve().parent
CHILD = BENCH_DIR / "child.py"
IMPORT_SNIPPET = (
    "import time; t = time.perf_counter(); import {module}; "
    "print({prefix!r} + '{{\"import_s\": %r}}' % (time.perf_counter() - t))"
)


@dataclass(frozen=True)
class Figure:
    """One row of the table: a key of the child results and how to show it."""

    key: str
    label: str
    digits: int
    target: float | None = None


FIGURES = (
    Figure("import_s", "import (s)", 3, 0.1),
    Figure("init_s", "offline init (s)", 3, 0.04),
    Figure("log_us", "log of 10 floats (µs/call)", 1, 10),
    Figure("finish_s", "finish after the log run (s)", 3, 0.1),
    Figure("maxrss_self_mib", "peak RSS, logging process (MiB)", 0),
    Figure("maxrss_children_mib", "peak RSS, children: RUSAGE_CHILDREN (MiB)", 0),
    Figure("helpers_peak_mib", "peak RSS, helper processes alive at finish (MiB)", 0),
    Figure("bytes_per_point", "disk bytes per logged point", 1, 30),
)


NOTES = (
    "ratios are other/tracklet: how many times Tracklet is lower (better)",
    "RUSAGE_CHILDREN is the largest reaped child; a helper started by fork() "
    "(e.g. a `git` or `uname` call) reports the parent's RSS at fork time",
    "helper processes alive at finish: sum of VmHWM of live descendants, read before teardown",
)


@dataclass
class Samples:
    """Results collected for one tracker, or why it was dropped."""

    tracker: Tracker
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    error: str | None = None

    def values(self, key: str) -> list[float]:
        """All non-null values of `key` over the phases that report it."""
        phase = {"import_s": "import", "init_s": "init"}.get(key, "log")
        return [r[key] for r in self.runs.get(phase, []) if r.get(key) is not None]

    def median(self, key: str) -> float | None:
        values = self.values(key)
        return statistics.median(values) if values else None


ArgvFn = Callable[[Tracker, Path], list[str]]


def run_child(tracker: Tracker, argv_of: ArgvFn, timeout: float, keep: bool) -> dict[str, Any]:
    """Run `python argv...` in a fresh temp dir with the tracker's environment.

    The tracker writes below DATA (also the working directory); HOME points to
    a sibling directory so that caches and settings stay out of DATA and out of
    the real home directory.
    """
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{tracker.name}-"))
    data, home = tmp / "data", tmp / "home"
    data.mkdir()
    home.mkdir()
    env = {**os.environ, **COMMON_ENV, "HOME": str(home), **tracker.env(data)}
    cmd = [sys.executable, *argv_of(tracker, data)]
    try:
        proc = subprocess.run(
            cmd, cwd=data, env=env, capture_output=True, text=True, timeout=timeout
        )
    finally:
        if keep:
            print(f"    kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    tail = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1]
    raise RuntimeError(f"exit code {proc.returncode}: {tail}")


def import_argv(tracker: Tracker, data: Path) -> list[str]:
    """Time only `import <module>` in a bare interpreter."""
    return ["-c", IMPORT_SNIPPET.format(module=tracker.module, prefix=RESULT_PREFIX)]


def run_argv(steps: dict[str, int]) -> ArgvFn:
    """Run bench/child.py: init, `steps[tracker]` log calls, finish."""
    return lambda tracker, data: [str(CHILD), tracker.name, str(data), str(steps[tracker.name])]


def run_phase(
    samples: list[Samples], phase: str, repeat: int, argv_of: ArgvFn, args: argparse.Namespace
) -> None:
    """Run `repeat` rounds of one fresh process per live tracker, round-robin."""
    for round_ in range(repeat):
        for s in samples:
            if s.error:
                continue
            t0 = time.perf_counter()
            try:
                result = run_child(s.tracker, argv_of, args.timeout, args.keep)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                s.error = f"{phase} failed: {exc}"
                print(f"  {s.tracker.name}: {s.error}", file=sys.stderr)
                continue
            s.runs.setdefault(phase, []).append(result)
            print(
                f"  {phase} {round_ + 1}/{repeat} {s.tracker.name}: "
                f"{time.perf_counter() - t0:.1f}s wall",
                file=sys.stderr,
            )


def fmt(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def ratio(other: float | None, base: float | None) -> str:
    """How many times `base` (tracklet) is better than `other`; lower is better."""
    if other is None or not base:
        return "—"
    return f"{other / base:,.1f}×"


def target_cell(fig: Figure, value: float | None) -> str:
    if fig.target is None:
        return ""
    mark = "" if value is None else (" ✓" if value < fig.target else " ✗")
    return f"< {fig.target:g}{mark}"


def table(samples: list[Samples], steps: dict[str, int]) -> str:
    """Markdown table: rows = figures, columns = medians and other/tracklet ratios."""
    base = next((s for s in samples if s.tracker.name == "tracklet"), None)
    others = [s for s in samples if s is not base]
    header = ["figure", "tracklet"]
    for s in others:
        header += [s.tracker.name, f"{s.tracker.name}/tracklet"]
    header.append("tracklet target")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for fig in FIGURES:
        base_value = base.median(fig.key) if base else None
        row = [fig.label, fmt(base_value, fig.digits)]
        for s in others:
            value = s.median(fig.key)
            row += [fmt(value, fig.digits), ratio(value, base_value)]
        row.append(target_cell(fig, base_value))
        lines.append("| " + " | ".join(row) + " |")
    row = ["steps in the log run", f"{steps.get('tracklet', 0):,}"]
    for s in others:
        row += [f"{steps[s.tracker.name]:,}", ""]
    lines.append("| " + " | ".join(row + [""]) + " |")
    return "\n".join(lines)


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--steps", type=int, default=100_000, help="log calls in the log run")
    p.add_argument("--repeat", type=int, default=5, help="processes for import and init")
    p.add_argument("--log-repeat", type=int, default=3, help="processes for the log run")
    p.add_argument("--quick", action="store_true", help="smoke run: 2,000 steps, 2/1 repeats")
    p.add_argument("--trackers", default=",".join(TRACKERS), help="comma-separated subset")
    p.add_argument("--timeout", type=float, default=300, help="seconds per process")
    p.add_argument("--keep", action="store_true", help="keep the temp run directories")
    p.add_argument("--out", type=Path, default=BENCH_DIR / "results", help="raw JSON folder")
    args = p.parse_args()
    if args.quick:
        args.steps, args.repeat, args.log_repeat = 2_000, 2, 1
    return args


def main() -> int:
    args = parse_args()
    samples = [Samples(TRACKERS[name]) for name in args.trackers.split(",")]
    for s in samples:
        if importlib.util.find_spec(s.tracker.module) is None:
            s.error = f"not installed in {sys.executable}"
            print(f"skipping {s.tracker.name}: {s.error}", file=sys.stderr)
    steps = {s.tracker.name: min(args.steps, s.tracker.max_steps or args.steps) for s in samples}

    started = time.time()
    print("warm-up (byte-code compilation, page cache)", file=sys.stderr)
    run_phase(samples, "warmup", 1, import_argv, args)
    run_phase(samples, "import", args.repeat, import_argv, args)
    run_phase(samples, "init", args.repeat, run_argv(dict.fromkeys(steps, 0)), args)
    run_phase(samples, "log", args.log_repeat, run_argv(steps), args)
    elapsed = time.time() - started

    shown = [s for s in samples if set(s.runs) - {"warmup"}]
    md = table(shown, steps)
    info = (
        f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.platform()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; "
        + ", ".join(f"{s.tracker.name} {version(s.tracker.module)}" for s in samples)
        + f"; medians of {args.repeat} processes (import, init) and {args.log_repeat} (log run); "
        f"{elapsed:.0f} s in all"
    )
    notes = [f"- {s.tracker.name}: {s.tracker.note}" for s in shown if s.tracker.note]
    notes += [f"- {note}" for note in NOTES]
    notes += [f"- {s.tracker.name} dropped: {s.error}" for s in samples if s.error]
    print(f"\n{info}\n\n{md}\n" + ("\n" + "\n".join(notes) + "\n" if notes else ""))

    return save_results(args, "sdk", info, md, samples, steps=steps)


def save_results(args: argparse.Namespace, name: str, info: str, md: str, samples: list[Samples],
                 **extra: Any) -> int:
    """Write the raw results to ``<out>/<name>-<time>.json``; the exit status (1: a required tracker failed)."""
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    raw = {
        "info": info,
        "args": {k: str(v) for k, v in vars(args).items()},
        **extra,
        "trackers": {
            s.tracker.name: {"version": version(s.tracker.module), "error": s.error, "runs": s.runs}
            for s in samples
        },
        "table": md,
    }
    out.write_text(json.dumps(raw, indent=2))
    print(f"raw results: {out}", file=sys.stderr)
    return 1 if any(s.error and s.tracker.required for s in samples) else 0


if __name__ == "__main__":
    sys.exit(main())
