"""History at scale: bytes per point stored, and a 1,000-bucket chart of many runs, cold and warm,
three ways on the same data: from the pre-aggregates (``store/charts.py``: one level of per-window
summaries, migration 0009), from every block decoded into the same buckets (``summaries=False``:
the same answer, checked by a digest), and the exact M4 of every point in equal step buckets
(``series.downsample(series.read(…))``: the path before migration 0007).

RUNS runs (default 100) × STEPS steps (default 1,000,000) of one loss-like metric (a decaying curve
plus 1% noise: the low mantissa bytes are as random as real training curves'; ``--values random``
for uniform doubles). The points are written through the store's own ingest function
(``series.append``, 262,144 points a call) rather than HTTP: 10^8 points through the API would take
hours on 2 cores. Stores: SQLite, and a throwaway PostgreSQL cluster (Debian's binaries).

A chart query is what ``GET /projects/…/series?key=loss&runs=<all>&buckets=1000`` does in the store:
one read transaction, each run's M4 columns. Each query runs in a fresh process (a restarted server).
Cold: before that process, PostgreSQL is restarted (its shared buffers emptied) and, with
``--drop-caches`` (root), the OS page cache is dropped (``sync; echo 3 > /proc/sys/vm/drop_caches``);
without it the page cache stays as it is. Warm: the median of ``--repeat`` more queries in that process.
Charts in 1,000 buckets (default) and in 100: a 1M-step run reads ~980 windows of 1,024 points
(resp. ~240 of 4,096) and no points but those of its open block.

Target: < 0.5 s cold on PostgreSQL at 100 × 1M; ≤ 8 bytes per point.
Usage: .venv/bin/python bench/history_bench.py [--runs 10 --steps 100000] [--stores sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from postgres_cluster import cluster, create_database  # noqa: E402

CHUNK = 262_144
KEY = "loss"
MODES = ("every point", "decoded", "preaggregates")  # exact M4 of points; same buckets as the last, decoded


def curve(run: int, steps: int, kind: str) -> np.ndarray:
    rng = np.random.default_rng(run)
    if kind == "random":
        return rng.random(steps)
    s = np.arange(steps, dtype=np.float64)
    return np.exp(-s / (steps / 5 + 1000.0 * run)) + 0.1 + 0.02 * (rng.random(steps) - 0.5)


def load(url: str, runs: int, steps: int, kind: str) -> dict[str, Any]:
    """The runs through ``series.append`` in chunks, one transaction per chunk."""
    from tracklet.protocol import RunHandshake
    from tracklet.server.store import accounts, open_store, runs as store_runs, series

    store = open_store(url)
    started = time.perf_counter()
    try:
        with store.transaction() as conn:
            accounts.create_user(conn, "bench")
            entity_id, _ = accounts.entity_role(conn, accounts.find_user(conn, "bench"), "bench") or (0, "")
        ref = store_runs.RunRef(entity_id, "bench", "history")
        for r in range(runs):
            run_id = f"run{r:05d}"
            with store.transaction() as conn:
                store_runs.open_run(conn, ref, RunHandshake(project="history", run_id=run_id))
                pk = store_runs.require_run(conn, ref, run_id).pk
            values = curve(r, steps, kind)
            for lo in range(0, steps, CHUNK):
                hi = min(steps, lo + CHUNK)
                with store.transaction() as conn:
                    series.append(conn, pk, 0, {KEY: (np.arange(lo, hi), values[lo:hi])})
            print(f"  run {r + 1}/{runs} loaded ({time.perf_counter() - started:.0f} s)", file=sys.stderr, end="\r")
        print(file=sys.stderr)
        wall = time.perf_counter() - started
        return {"load_s": wall, "points_per_s": runs * steps / wall} | sizes(store, url, runs * steps)
    finally:
        store.close()


def sizes(store: Any, url: str, points: int) -> dict[str, Any]:
    """Bytes per point: the encoded blocks and summaries, and what the database holds on disk."""
    from sqlalchemy import func, select, text

    from tracklet.server.store.schema import series_blocks, series_summaries

    with store.read() as conn:
        blocks = conn.execute(select(func.sum(func.length(series_blocks.c.data)))).scalar_one() or 0
        summaries = conn.execute(select(func.sum(func.length(series_summaries.c.data)))).scalar_one() or 0
        if url.startswith("sqlite"):
            path = url.removeprefix("sqlite:///")  # and its write-ahead log, not yet checkpointed
            on_disk = os.path.getsize(path) + (os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else 0)
        else:
            on_disk = conn.execute(text(  # series_summaries is partitioned: its size is its partitions'
                "SELECT pg_total_relation_size('series_blocks') + (SELECT sum(pg_total_relation_size(relid)) "
                "FROM pg_partition_tree('series_summaries'))::bigint")).scalar_one()
    return {"points": points, "block_bytes_per_point": blocks / points, "summary_bytes_per_point": summaries / points,
            "stored_bytes_per_point": (blocks + summaries) / points, "on_disk_bytes_per_point": on_disk / points,
            "on_disk_what": "the whole SQLite file and its WAL" if url.startswith("sqlite") else "series_blocks + series_summaries"}


def query(url: str, mode: str, buckets: int, repeat: int) -> dict[str, Any]:
    """In this (fresh) process: the chart of every run, first cold, then ``repeat`` times warm."""
    from sqlalchemy import select

    from tracklet.server.store import charts, open_store, series
    from tracklet.server.store.schema import runs as runs_table

    store = open_store(url)

    def chart() -> tuple[float, str]:
        digest = hashlib.sha256()
        started = time.perf_counter()
        with store.read() as conn:
            found = conn.execute(select(runs_table.c.pk, runs_table.c.visible_until).order_by(runs_table.c.pk)).all()
            runs = [(row.pk, {int(segment): until for segment, until in row.visible_until.items()}) for row in found]
            if mode in MODES[1:]:  # all runs together, as GET /projects/…/series does
                answers = charts.downsampled_runs(conn, KEY, runs, buckets, summaries=mode == "preaggregates")
            else:
                answers = [(series.downsample(*series.read(conn, pk, KEY, visible), buckets), 0) for pk, visible in runs]
            for columns, _ in answers:
                for column in columns.values():
                    digest.update(column.tobytes())
        return time.perf_counter() - started, digest.hexdigest()

    try:
        cold, digest = chart()
        warm = [chart()[0] for _ in range(repeat)]
    finally:
        store.close()
    return {"cold_s": cold, "warm_s": statistics.median(warm), "digest": digest}


def make_cold(url: str, drop_caches: bool) -> None:
    """Restart PostgreSQL (empty shared buffers); drop the OS page cache when asked (root only)."""
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url) as conn:
            data_dir = conn.execute("SHOW data_directory").fetchone()[0]  # type: ignore[index]
        pg_ctl = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1]
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        log = str(Path(data_dir).parent / "log")  # a log file: else the server would hold our output pipe open
        subprocess.run([*as_postgres, str(pg_ctl), "-D", data_dir, "-l", log, "-m", "fast", "-w", "restart"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    if drop_caches:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")


def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """For each bucket count: both ways, each cold in a fresh process, then warm."""
    out: dict[str, Any] = {}
    for buckets in args.buckets:
        out[str(buckets)] = found = {}
        for mode in MODES:
            make_cold(url, args.drop_caches)
            answer = subprocess.run([sys.executable, __file__, "--query", url, "--mode", mode, "--buckets",
                                     str(buckets), "--repeat", str(args.repeat)], check=True, capture_output=True, text=True)
            found[mode] = json.loads(answer.stdout)
            print(f"  {buckets} buckets, {mode}: cold {found[mode]['cold_s']:.3f} s, warm {found[mode]['warm_s']:.3f} s",
                  file=sys.stderr)
        found["same_answers"] = found["decoded"]["digest"] == found["preaggregates"]["digest"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--buckets", default="1000,100", help="bucket counts, comma-separated (default 1000,100)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--values", choices=("curves", "random"), default="curves")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--drop-caches", action="store_true", help="drop the OS page cache before each cold query")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--query", help=argparse.SUPPRESS)  # internal: one measuring process
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.query:
        print(json.dumps(query(args.query, args.mode, int(args.buckets), args.repeat)))
        return 0
    args.buckets = [int(b) for b in args.buckets.split(",")]

    size = "full" if (args.runs, args.steps) == (100, 1_000_000) else "REDUCED"
    results: dict[str, Any] = {"size": size, "runs": args.runs, "steps": args.steps, "buckets": args.buckets,
                               "values": args.values, "drop_caches": args.drop_caches}
    for store in args.stores.split(","):
        print(f"{store}: loading {args.runs} runs × {args.steps:,} steps …", file=sys.stderr)
        if store == "sqlite":
            with tempfile.TemporaryDirectory(prefix="tracklet-history-bench-") as tmp:
                url = f"sqlite:///{tmp}/store.db"
                results[store] = load(url, args.runs, args.steps, args.values) | measure(url, args)
        else:
            with cluster() as admin:
                url = create_database(admin, "history")
                results[store] = load(url, args.runs, args.steps, args.values) | measure(url, args)

    print(f"\nHistory bench ({size} size: {args.runs} runs × {args.steps:,} steps = {args.runs * args.steps:,} points, "
          f"{args.values} values; chart of every run in {' and '.join(f'{b:,}' for b in args.buckets)} buckets; "
          f"cold = fresh process{', PostgreSQL restarted' if 'postgresql' in args.stores else ''}"
          f"{', OS page cache dropped' if args.drop_caches else ', OS page cache as it was'})")
    for store in args.stores.split(","):
        r = results[store]
        print(f"  {store}: loaded in {r['load_s']:.0f} s ({r['points_per_s']:,.0f} points/s through series.append); "
              f"{r['stored_bytes_per_point']:.2f} bytes/point stored ({r['block_bytes_per_point']:.2f} points + "
              f"{r['summary_bytes_per_point']:.2f} pre-aggregates), {r['on_disk_bytes_per_point']:.2f} on disk "
              f"({r['on_disk_what']})")
        for buckets in args.buckets:
            b = r[str(buckets)]
            ways = " | ".join(f"{mode} cold {b[mode]['cold_s']:.3f} s, warm {b[mode]['warm_s']:.3f} s" for mode in MODES)
            print(f"    {buckets:,} buckets: {ways}; pre-aggregates ×{b['every point']['cold_s'] / b['preaggregates']['cold_s']:.1f} "
                  f"cold, ×{b['every point']['warm_s'] / b['preaggregates']['warm_s']:.1f} warm against every point; "
                  f"same answers as decoded: {b['same_answers']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
