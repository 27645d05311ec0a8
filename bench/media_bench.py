"""Benchmark logging media with the Tracklet SDK against wandb (offline).

Cases, each in fresh processes (bench/child.py), trackers interleaved round-robin:

- image: 1,000 steps of log({"image": Image(a)}), a new random 256x256x3 uint8
  array a each step (made before the timer starts); every call is timed,
  constructing the Image included.
- table x1, table x10: log({"table": Table(columns=..., data=rows)}) of 1,000 rows
  (id int, label str, score float, ok bool), once and ten times (new scores each).
- scalar: sdk_bench.py's log run (10 floats per call, 100,000 steps), for context.

The table has medians over the processes and "wandb/tracklet" ratios; raw
per-process results (every call's time) go to bench/results/media-<timestamp>.json.

Run with the bench venv:  .bench-venv/bin/python bench/media_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sdk_bench import CHILD, ArgvFn, Samples, fmt, import_argv, run_argv, run_phase, save_results, version
from trackers import TRACKERS, Tracker

BENCH_DIR = Path(__file__).resolve().parent
TARGET = 0.5  # Tracklet's time on the training thread, at most this fraction of wandb's


@dataclass(frozen=True)
class Row:
    """One row of the table: a figure of one case's child results, and how to show it."""

    case: str
    key: str
    label: str
    digits: int
    scale: float = 1.0
    target: bool = False  # a training-thread time, held to TARGET × wandb


ROWS = (
    Row("image", "call_median_us", "log(Image) per call, median (µs)", 0, target=True),
    Row("image", "call_p95_us", "log(Image) per call, p95 (µs)", 0, target=True),
    Row("image", "call_mean_us", "log(Image) per call, mean (µs)", 0, target=True),
    Row("image", "call_cpu_mean_us", "training-thread CPU per call, mean (µs)", 0),
    Row("image", "call_first_us", "first call (ms)", 1, 1e-3),
    Row("image", "finish_s", "finish (s)", 2),
    Row("image", "calls_plus_finish_s", "all log calls + finish (s)", 2),
    Row("image", "teardown_s", "teardown after finish (s)", 2),
    Row("image", "cpu_self_s", "CPU of the logging process, log calls + finish (s)", 2),
    Row("image", "cpu_children_s", "CPU of helper processes, whole run (s)", 2),
    Row("image", "run_bytes", "bytes on disk (MB)", 1, 1e-6),
    Row("image", "run_files", "files on disk", 0),
    Row("table1", "call_median_us", "log(Table) (ms)", 1, 1e-3, target=True),
    Row("table1", "finish_s", "finish (s)", 2),
    Row("table1", "run_bytes", "bytes on disk (MB)", 2, 1e-6),
    Row("table10", "call_median_us", "log(Table) per call, median (ms)", 1, 1e-3, target=True),
    Row("table10", "finish_s", "finish (s)", 2),
    Row("table10", "run_bytes", "bytes on disk (MB)", 2, 1e-6),
    Row("scalar", "log_us", "log of 10 floats (µs/call)", 1, target=True),
    Row("scalar", "finish_s", "finish (s)", 2),
    Row("scalar", "run_bytes", "bytes on disk (MB)", 1, 1e-6),
)


def media_argv(case: str, steps: int) -> ArgvFn:
    """Run bench/child.py's media CASE: init, `steps` timed log calls, finish."""
    return lambda tracker, data: [str(CHILD), tracker.name, str(data), str(steps), case]


def median(s: Samples, row: Row) -> float | None:
    values = [r[row.key] for r in s.runs.get(row.case, []) if r.get(row.key) is not None]
    return statistics.median(values) * row.scale if values else None


def ratio_cell(value: float | None, base: float | None, digits: int) -> str:
    """other/tracklet; "—" where Tracklet's value shows as zero, "< 0.1×" below that."""
    if value is None or base is None or round(base, digits) == 0:
        return "—"
    return "< 0.1×" if value / base < 0.05 else f"{value / base:,.1f}×"


def target_cell(row: Row, value: float | None, reference: float | None) -> str:
    if not row.target:
        return ""
    if value is None or not reference:
        return f"≤ {TARGET:g}× wandb"
    return f"≤ {TARGET:g}× wandb {'✓' if value <= TARGET * reference else '✗'}"


def table(samples: list[Samples], titles: dict[str, str]) -> str:
    """Markdown table: rows = figures by case, columns = medians and other/tracklet ratios."""
    base = next((s for s in samples if s.tracker.name == "tracklet"), None)
    others = [s for s in samples if s is not base]
    wandb = next((s for s in others if s.tracker.name == "wandb"), None)
    header = ["figure", "tracklet"]
    for s in others:
        header += [s.tracker.name, f"{s.tracker.name}/tracklet"]
    header.append("tracklet target")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for case, title in titles.items():
        if not any(s.runs.get(case) for s in samples):
            continue
        lines.append("| " + " | ".join([f"**{title}**"] + [""] * (len(header) - 1)) + " |")
        for row in (r for r in ROWS if r.case == case):
            base_value = median(base, row) if base else None
            cells = [row.label, fmt(base_value, row.digits)]
            for s in others:
                value = median(s, row)
                ratio = ratio_cell(value, base_value, row.digits)
                cells += [fmt(value, row.digits), ratio]
            cells.append(target_cell(row, base_value, median(wandb, row) if wandb else None))
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--steps", type=int, default=1_000, help="images logged in the image case")
    p.add_argument("--tables", type=int, default=10, help="tables logged in the repeated table case")
    p.add_argument("--scalar-steps", type=int, default=100_000,
                   help="log calls in the scalar case (sdk_bench's log run); 0 leaves it out")
    p.add_argument("--repeat", type=int, default=3, help="processes per case and tracker")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 100 images, 3 tables, 5,000 scalar steps, 1 process each")
    p.add_argument("--trackers", default="tracklet,wandb", help="comma-separated subset")
    p.add_argument("--timeout", type=float, default=300, help="seconds per process")
    p.add_argument("--keep", action="store_true", help="keep the temp run directories")
    p.add_argument("--out", type=Path, default=BENCH_DIR / "results", help="raw JSON folder")
    args = p.parse_args()
    if args.quick:
        args.steps, args.tables, args.scalar_steps, args.repeat = 100, 3, 5_000, 1
    return args


def main() -> int:
    args = parse_args()
    samples = [Samples(TRACKERS[name]) for name in args.trackers.split(",")]
    for s in samples:
        if importlib.util.find_spec(s.tracker.module) is None:
            s.error = f"not installed in {sys.executable}"
            print(f"skipping {s.tracker.name}: {s.error}", file=sys.stderr)
    trackers: list[Tracker] = [s.tracker for s in samples]
    titles = {
        "image": f"image: {args.steps:,} steps of a 256×256 RGB image",
        "table1": "table of 1,000 rows × 4 columns, logged once",
        "table10": f"table of 1,000 rows × 4 columns, logged {args.tables} times",
    }
    cases: dict[str, ArgvFn] = {
        "image": media_argv("image", args.steps),
        "table1": media_argv("table", 1),
        "table10": media_argv("table", args.tables),
    }
    if args.scalar_steps:
        titles["scalar"] = f"scalars: {args.scalar_steps:,} steps of 10 floats (sdk_bench's log run)"
        cases["scalar"] = run_argv({t.name: args.scalar_steps for t in trackers})

    load_before = os.getloadavg()
    started = time.time()
    print("warm-up (byte-code compilation, page cache)", file=sys.stderr)
    run_phase(samples, "warmup", 1, import_argv, args)
    for case, argv_of in cases.items():
        run_phase(samples, case, args.repeat, argv_of, args)
    elapsed = time.time() - started

    shown = [s for s in samples if set(s.runs) - {"warmup"}]
    md = table(shown, titles)
    info = (
        f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.platform()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; "
        + ", ".join(f"{s.tracker.name} {version(s.tracker.module)}" for s in samples)
        + f", pillow {version('pillow')}, numpy {version('numpy')}; "
        f"medians of {args.repeat} processes per case; {elapsed:.0f} s in all; "
        f"load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    notes = [
        "- ratios are other/tracklet: how many times Tracklet is lower (better); the target "
        f"holds Tracklet's training-thread time to ≤ {TARGET:g}× wandb's (wandb/tracklet ≥ {1 / TARGET:g}×)",
        "- a call's time includes constructing the Image or Table; finish waits for what is "
        "still being encoded or written",
    ]
    notes += [f"- {s.tracker.name} dropped: {s.error}" for s in samples if s.error]
    print(f"\n{info}\n\n{md}\n\n" + "\n".join(notes) + "\n")

    return save_results(args, "media", info, md, samples)


if __name__ == "__main__":
    sys.exit(main())
