"""Cost of run context capture (console capture, system monitor) on a tight training loop.

Usage: .venv/bin/python bench/context_bench.py [--steps N] [--repeat R] [--flood LINES] [--monitor]

Each measurement is a fresh Python process (``tracklet.init(mode="offline")`` in a
temporary directory) that runs a tight "training loop": a little arithmetic, a
``run.log`` of three scalars every step, a ``print`` every 10 steps and a progress
bar redrawn with ``\\r`` every step (what real training scripts write). Its stdout goes
to a pipe read by this process, like a terminal or a job scheduler's log.
The child reports steps per second of the loop (``time.perf_counter``); the table shows
the median of ``--repeat`` processes per configuration, configurations interleaved
round-robin so that machine noise hits all alike.

A second figure, the flood: a loop printing ``--flood`` lines as fast as it can; the
seconds of that loop, and of ``finish`` after it (where the backlog is recorded).

Configurations: console ``off`` against ``auto`` (file-descriptor capture) and ``wrap``.
MONITORING: the system monitor is measured too with ``--monitor`` (the setting
``disable_stats``, env ``TRACKLET_DISABLE_STATS``): it adds the rows "monitor on" and
"console + monitor on". Until the monitor exists those rows equal "off".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap

LOOP = """
import json, sys, time, tracklet
steps = {steps}
run = tracklet.init(project="bench", mode="offline")
x = 0.0
start = time.perf_counter()
for step in range(steps):
    for k in range(200):  # the "work" of a step: ~10 us of arithmetic
        x = (x * 1.000001 + k) % 1000.0
    run.log({{"loss": x, "lr": 0.001, "epoch": step // 1000}})
    sys.stdout.write(f"\\rstep {{step}}/{{steps}} loss {{x:.3f}}")
    if step % 10 == 0:
        print(f"\\nstep {{step}}: loss {{x:.4f}}")
elapsed = time.perf_counter() - start
t = time.perf_counter()
run.finish()
print("BENCH_RESULT " + json.dumps({{"steps_per_s": steps / elapsed, "finish_s": time.perf_counter() - t}}),
      file=sys.stderr)
"""

FLOOD = """
import json, sys, time, tracklet
run = tracklet.init(project="bench", mode="offline")
start = time.perf_counter()
for i in range({lines}):
    print(f"line {{i}} of the flood, some text to make it a realistic length")
elapsed = time.perf_counter() - start
t = time.perf_counter()
run.finish()
print("BENCH_RESULT " + json.dumps({{"loop_s": elapsed, "finish_s": time.perf_counter() - t}}), file=sys.stderr)
"""

# name -> (TRACKLET_CONSOLE, TRACKLET_DISABLE_STATS)
BASE = {"off": ("off", "true"), "console auto": ("auto", "true"), "console wrap": ("wrap", "true")}
# MONITORING: the rows that switch the system monitor on (--monitor)
WITH_MONITOR = {"monitor on": ("off", "false"), "console + monitor on": ("auto", "false")}


def measure(code: str, console: str, disable_stats: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKLET_")}
        env.update(TRACKLET_SILENT="1", TRACKLET_CONSOLE=console, TRACKLET_DISABLE_STATS=disable_stats,
                   TRACKLET_DIR=tmp, TRACKLET_CONFIG_DIR=os.path.join(tmp, "config"))
        proc = subprocess.run([sys.executable, "-c", code], cwd=tmp, env=env, capture_output=True, timeout=600,
                              check=False)
    for line in proc.stderr.decode(errors="replace").splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line[len("BENCH_RESULT "):])
    raise RuntimeError(f"no result (exit {proc.returncode}): {proc.stderr.decode(errors='replace')[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--flood", type=int, default=200_000, help="lines of the flood (0: skip it)")
    parser.add_argument("--monitor", action="store_true", help="also measure with the system monitor on")
    args = parser.parse_args()
    configs = dict(BASE)
    if args.monitor:
        configs.update(WITH_MONITOR)
    loop = textwrap.dedent(LOOP).format(steps=args.steps)
    flood = textwrap.dedent(FLOOD).format(lines=args.flood)
    rates: dict[str, list[float]] = {name: [] for name in configs}
    floods: dict[str, list[dict[str, float]]] = {name: [] for name in configs}
    for _ in range(args.repeat):
        for name, (console, stats) in configs.items():
            rates[name].append(measure(loop, console, stats)["steps_per_s"])
            if args.flood:
                floods[name].append(measure(flood, console, stats))
    base = statistics.median(rates["off"])
    print(f"\nTight loop: {args.steps:,} steps (log every step, a \\r progress bar every step, a line every "
          f"10 steps); median of {args.repeat} processes\n")
    print("| configuration | steps/s | vs off |")
    print("|---|---:|---:|")
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"| {name} | {rate:,.0f} | {100 * (rate / base - 1):+.1f}% |")
    if args.flood:
        base_loop = statistics.median(f["loop_s"] for f in floods["off"])
        print(f"\nFlood: {args.flood:,} lines printed as fast as possible; median of {args.repeat} processes\n")
        print("| configuration | print loop (s) | vs off | finish (s) |")
        print("|---|---:|---:|---:|")
        for name, results in floods.items():
            loop_s = statistics.median(f["loop_s"] for f in results)
            finish_s = statistics.median(f["finish_s"] for f in results)
            print(f"| {name} | {loop_s:.3f} | {100 * (loop_s / base_loop - 1):+.1f}% | {finish_s:.3f} |")


if __name__ == "__main__":
    main()
