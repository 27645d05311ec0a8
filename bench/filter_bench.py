"""Run filters: the SQL of ``server/store/filters.py`` against the SQL it replaced and the Python
evaluator before that.

A project of RUNS runs (default 100,000; ``--runs``) with a wandb-like config (30 keys, some
nested) and summary (12 keys), stored directly through the store (no HTTP), on SQLite and on a
throwaway PostgreSQL cluster (Debian's binaries, as tests/postgres.py starts them; vacuumed and
analyzed after the load, as autovacuum would). Then, for each query, the time of a first page
(``--page``, default 1,000, what the runs table asks for; the API client's page is 50) with the
filter and order, and the project's run count the listing route answers with, four ways on the
same data:
``runs.list_runs`` + ``runs.count_runs`` (now: what ``GET /runs/{entity}/{project}`` does); the
filters module of commit COPY_COMMIT (the first SQL over migration 0008's ``jsonb`` copies) over
the one-step listing of then; the filters module of commit TEXT_COMMIT, which read the JSON text
columns (PostgreSQL parsed each run's text into ``jsonb`` per query); and loading every run and
evaluating the filter in Python with the evaluator of commit OLD_COMMIT (all three read from git:
the project no longer ships them; ``--skip-python`` leaves the last out). Median of ``--repeat``
(default 5) after one warm-up (Python: one run); the same runs selected by all. Every earlier way
decodes rows with today's JSON decoder (msgspec), so "now" against them is the SQL's share only.
``--explain`` prints PostgreSQL's ``EXPLAIN (ANALYZE, BUFFERS)`` of today's queries. The load
average is printed with the figures: this is a timing on a shared machine.

Target: a config value and a summary range over 100,000 runs in < 0.3 s server-side on PostgreSQL.
Usage: .venv/bin/python bench/filter_bench.py [--runs 100000] [--stores sqlite,postgresql] [--page 1000]
       [--skip-python] [--explain] [--shared-buffers 1GB]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from postgres_cluster import cluster, create_database  # noqa: E402

from sqlalchemy import event, select  # noqa: E402

from tracklet.server.store import accounts, filters, open_store, runs  # noqa: E402
from tracklet.server.store.schema import runs as runs_table  # noqa: E402

OLD_COMMIT = "7bfabd5"  # the last commit that evaluated filters in Python
TEXT_COMMIT = "79d5867"  # the last commit whose SQL filters read the JSON text columns
COPY_COMMIT = "bcff353"  # the last commit with the first SQL over the jsonb copies (migration 0008)
NOW = time.time()
QUERIES = {
    "config value + summary range": ({"config.optimizer": "adam", "summary.loss": {"$gte": 0.2, "$lt": 0.3}},
                                     "-summary.acc"),
    "nested config, tag, order by summary": ({"config.model.layers": {"$in": [4, 8]}, "tags": "baseline"},
                                             "summary.val.loss"),
    "no filter, newest first": (None, "-created_at"),
    "regex on name, $or": ({"$or": [{"name": {"$regex": "^run-1"}}, {"state": "failed"}]}, "-created_at"),
}


def old_filters(commit: str) -> types.ModuleType:
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:src/tracklet/server/store/filters.py"],
                            check=True, capture_output=True, text=True).stdout
    module = types.ModuleType(f"filters_{commit}")
    exec(compile(source, "old_filters.py", "exec"), module.__dict__)  # noqa: S102 - our own earlier code
    return module


def make_runs(count: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        config = {"optimizer": rng.choice(["adam", "sgd", "adamw", "lion"]), "lr": 10 ** rng.uniform(-5, -1),
                  "batch_size": rng.choice([32, 64, 128, 256]), "seed": i, "dataset": f"ds-{i % 7}",
                  "model": {"layers": rng.choice([2, 4, 8, 16]), "width": rng.choice([256, 512, 1024]),
                            "dropout": round(rng.random() / 2, 3), "activation": rng.choice(["relu", "gelu"])},
                  **{f"param_{k}": rng.random() for k in range(20)}}
        summary = {"loss": rng.random(), "acc": rng.random(), "_step": rng.randrange(100_000),
                   "val": {"loss": rng.random(), "acc": rng.random()}, "lr": config["lr"],
                   **{f"metric_{k}": rng.gauss(0, 1) for k in range(7)}}
        rows.append({"run_id": f"r{i:07}", "name": f"run-{i}", "state": rng.choice(["finished"] * 8 + ["failed", "running"]),
                     "tags": rng.sample(["baseline", "sweep", "ablation", "best"], rng.randrange(3)),
                     "group": f"g{i % 50}", "job_type": "train", "config": config, "summary": summary,
                     "created_at": NOW - count + i, "updated_at": NOW - count + i, "heartbeat_at": NOW,
                     "notes": None, "meta": {}, "visible_until": {"0": None}, "last_seq": 0, "segment": 0})
    return rows


def load(url: str, rows: list[dict[str, Any]]) -> tuple[Any, runs.RunRef]:
    store = open_store(url)
    with store.transaction() as conn:
        accounts.create_user(conn, "bench")
        entity_id, _ = accounts.entity_role(conn, accounts.find_user(conn, "bench"), "bench") or (0, "")
        ref = runs.RunRef(entity_id, "bench", "filters")
        pid = runs.project_id(conn, entity_id, ref.project, create=True)
        for lo in range(0, len(rows), 5000):
            conn.execute(runs_table.insert(), [runs.with_filter_copies(conn, {"project_id": pid, **row})
                                               for row in rows[lo:lo + 5000]])
    if store.engine.dialect.name == "postgresql":  # as autovacuum does after a load (SQLite: the server never does)
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # the cluster commits asynchronously: until the load's commit is flushed (CHECKPOINT), VACUUM
            # may not mark its pages all-visible, and counting the runs would read the whole table
            conn.exec_driver_sql("CHECKPOINT")
            conn.exec_driver_sql("VACUUM ANALYZE runs")  # statistics for the planner, the visibility map for counts
    return store, ref


def timed(work: Any, repeat: int) -> tuple[float, Any]:
    result = work()  # warm-up: caches, statement compilation
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def explain(conn: Any, statements: list[tuple[str, Any]]) -> list[str]:
    """PostgreSQL's plans of the statements a listing ran, as it ran them."""
    lines = []
    for statement, parameters in statements:
        plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
        lines += ["    | " + row[0] for row in plan]
    return lines


def load_average() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def bench_store(name: str, url: str, rows: list[dict[str, Any]], args: argparse.Namespace,
                modules: dict[str, types.ModuleType]) -> list[str]:
    started = time.perf_counter()
    store, ref = load(url, rows)
    lines = [f"{name}: {len(rows):,} runs loaded in {time.perf_counter() - started:.1f} s; "
             f"first page of {args.page:,}; {load_average()}"]
    old, copies, text_sql = modules["python"], modules["copies"], modules["text"]
    for label, (document, order_text) in QUERIES.items():
        condition, order = filters.parse_filter(document), filters.parse_order(order_text)

        def now() -> list[str]:
            with store.read() as conn:
                page = runs.list_runs(conn, ref, None, condition, order, limit=args.page, now=NOW)
                runs.count_runs(conn, ref)
                return [r.run_id for r in page]

        def earlier_sql(module: types.ModuleType) -> Any:
            earlier_condition = module.parse_filter(document)

            def work() -> list[str]:  # the one-step listing of then: every listed column through the sort
                with store.read() as conn:
                    pid = runs.project_id(conn, ref.entity_id, ref.project, create=False)
                    query = select(*runs._LISTED).where(runs_table.c.project_id == pid)
                    module.prepare(conn)
                    query = module.apply(query, earlier_condition, order, conn.dialect.name, NOW)
                    page = [r.run_id for r in conn.execute(query.limit(args.page)).all()]
                    runs.count_runs(conn, ref)
                    return page

            return work

        old_condition, old_order = old.parse_filter(document), old.parse_order(order_text)

        def python() -> list[str]:
            with store.read() as conn:
                everything = runs.list_runs(conn, ref, now=NOW)  # every run, oldest first, as the old route read them
            return [r.run_id for r in old.select(everything, old_condition, old_order, now=NOW)[:args.page]]

        now_s, now_ids = timed(now, args.repeat)
        copies_s, copies_ids = timed(earlier_sql(copies), args.repeat)
        text_s, text_ids = timed(earlier_sql(text_sql), args.repeat)
        py_s, py_ids = (float("nan"), now_ids) if args.skip_python else timed(python, 1)
        agree = "same runs" if now_ids == copies_ids == text_ids == py_ids else \
            f"DIFFERENT ({len(now_ids)} vs {len(copies_ids)} vs {len(text_ids)} vs {len(py_ids)})"
        lines.append(f"  {label:38} now {now_s:6.3f} s   0008 SQL {copies_s:6.3f} s (×{copies_s / now_s:4.1f})   "
                     f"JSON text {text_s:6.3f} s (×{text_s / now_s:4.1f})   "
                     f"Python {py_s:6.3f} s (×{py_s / now_s:5.1f})   {len(now_ids)} listed, {agree}")
        if args.explain and store.engine.dialect.name == "postgresql":
            statements: list[tuple[str, Any]] = []
            def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
                statements.append((statement, parameters))

            event.listen(store.engine, "before_cursor_execute", record)
            now()
            event.remove(store.engine, "before_cursor_execute", record)
            with store.read() as conn:
                lines += explain(conn, statements)
    lines.append(f"  ({load_average()} at the end)")
    store.close()
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--skip-python", action="store_true", help="leave out the Python evaluator (minutes at 100k)")
    parser.add_argument("--explain", action="store_true", help="print PostgreSQL's plans of today's queries")
    parser.add_argument("--shared-buffers", default="", help="PostgreSQL's shared_buffers (default: its own, 128MB)")
    args = parser.parse_args()
    rows = make_runs(args.runs)
    modules = {"python": old_filters(OLD_COMMIT), "text": old_filters(TEXT_COMMIT), "copies": old_filters(COPY_COMMIT)}
    stores = args.stores.split(",")
    report = [time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())]
    if "sqlite" in stores:
        with tempfile.TemporaryDirectory() as tmp:
            report += bench_store("SQLite", f"sqlite:///{tmp}/bench.db", rows, args, modules)
    if "postgresql" in stores:
        settings = {"shared_buffers": args.shared_buffers} if args.shared_buffers else {}
        with cluster(settings) as admin:
            name = f"PostgreSQL (shared_buffers {args.shared_buffers or '128MB'})"
            report += bench_store(name, create_database(admin, "filter_bench"), rows, args, modules)
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
