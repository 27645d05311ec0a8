"""UI benchmark: a real `tracklet server` filled through the HTTP API, measured in Chromium.

1. Workspace: RUNS runs × METRICS metrics × STEPS steps (default 100 × 20 × 100,000; `--quick`:
   100 × 20 × 2,000), uploaded as record batches like server_bench.py (no SDK), from `--workers`
   client processes. Then the time from navigating to the project page until every chart panel in
   the viewport has data-state="ready", the bytes transferred on the way (Performance API
   transferSize, navigation and resources), and each series request's timing.
2. A project of TABLE_RUNS runs (default 10,000) with a little config and summary, created through
   the API (a handshake and one record batch each, 8 at a time) → time from navigating to the
   first runs-table row drawn.

3. Chart queries through the API, each the first request after a server (re)start and then warm
   (median of 3): one run's 1,000-bucket series (``/runs/…/history/series``), and one metric of all
   RUNS runs in 1,000 buckets (``/projects/…/series``, a chart panel's request). With
   ``--drop-caches`` (root) the OS page cache is dropped before each server start, and before the
   workspace load; otherwise "cold" means a restarted server over the page cache as it is.

``--server-src DIR`` runs the server from another source tree (``DIR/src``, e.g. an older commit
from ``git archive``) over the same store: the before/after figures of a change, on the same data.

The loaded store (with its client settings) is kept in bench/results/.cache/, one folder per size
and kind of values, and reused by later runs: loading the full size takes ~6 minutes on 2 cores.
`--rebuild` loads it again, `--no-cache` uses a temporary store.

Targets: workspace charts < 2 s, runs table < 1 s. Needs the built UI (web/: npm run build) and
Chromium (/usr/bin/chromium). Usage: .venv/bin/python bench/ui_bench.py [--quick] [--values curves] ...
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_bench import BOUND_TIMEOUT, TrackletServer, metric_rows, upload_run  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 120_000

# True once every panel in the viewport is ready (and there is at least one). Panels load lazily
# (only near the viewport), so the others are still "idle" then and not waited for.
PANELS_READY = """() => {
  const panels = [...document.querySelectorAll('[data-testid=panel]')];
  const inView = panels.filter((p) => {
    const r = p.getBoundingClientRect();
    return r.width > 0 && r.bottom > 0 && r.top < innerHeight;
  });
  const ready = inView.length > 0 && inView.every((p) => p.dataset.state === 'ready');
  if (ready && window.__benchReadyAt === undefined) window.__benchReadyAt = performance.now();
  return ready;
}"""
BYTES = """() => {
  const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
  return { transfer: entries.reduce((s, e) => s + (e.transferSize || 0), 0),
           body: entries.reduce((s, e) => s + (e.encodedBodySize || 0), 0), requests: entries.length };
}"""


CACHE_DIR = Path(__file__).resolve().parent / "results" / ".cache"  # bench/results/ is git-ignored
CACHE_FORMAT = 1  # bump when what is loaded changes (record shapes, keys, values)
DONE = "complete.json"  # written last: a cache folder without it is an interrupted load


def curves(rows: Any, run: int, keys: tuple[str, ...]) -> Any:
    """Loss-like values: a decaying curve per (run, metric) plus ±1% noise. The noise keeps the low
    mantissa bytes random (as incompressible as uniform values), while a chart's band (min..max of
    a bucket) stays narrow, as in real training curves."""
    scale = {k: 1.0 + 0.05 * i for i, k in enumerate(keys)}
    tau = 20_000.0 + 500.0 * run
    for step, ts, data in rows:
        decay = math.exp(-step / tau)
        yield step, ts, {k: scale[k] * decay + 0.1 + 0.02 * (v - 0.5) for k, v in data.items()}


def _load_runs(url: str, api_key: str, project: str, indexes: list[int], steps: int, keys: tuple[str, ...],
               t0: float, values: str = "random") -> tuple[str, int]:
    """One worker process: the runs in `indexes`, sent as server_bench.upload_run sends them."""
    from tracklet.api.transport import Transport

    entity, requests = "", 0
    with Transport(url, api_key, timeout=BOUND_TIMEOUT) as api:
        for r in indexes:
            rows = metric_rows(steps, keys, seed=r, t0=t0)
            if values == "curves":
                rows = curves(rows, r, keys)
            entity, sent, _ = upload_run(api, project, f"{project}-{r:05d}", rows, t0)
            requests += sent
    return entity, requests


def load_workspace(server: TrackletServer, project: str, runs: int, steps: int, keys: tuple[str, ...],
                   workers: int, values: str = "random") -> dict[str, Any]:
    """The workspace's runs through the HTTP API from `workers` client processes (runs dealt round-robin):
    encoding records in Python is about as costly as storing them, so one client leaves a core idle."""
    t0 = time.time()
    started = time.perf_counter()
    shares = [list(range(w, runs, workers)) for w in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        done = list(pool.map(_load_runs, *zip(*[(server.url, server.api_key, project, share, steps, keys, t0, values)
                                                 for share in shares if share])))
    wall = time.perf_counter() - started
    points = runs * steps * len(keys)
    return {"wall_s": wall, "points": points, "points_per_s": points / wall, "requests": sum(n for _, n in done),
            "workers": workers, "entity": done[0][0]}


def bulk_load_workspace(server: TrackletServer, project: str, runs: int, steps: int, keys: tuple[str, ...],
                        values: str = "random") -> dict[str, Any]:
    """The workspace with its history written in bulk: each run is created through the API (handshake,
    START and its first row, as upload_run sends them), then the server is stopped and steps 1… of
    every key are written straight into its store with the store's own ingest (``series.append``),
    the same blocks HTTP ingest would make (without the ``_timestamp``/``_runtime`` series). Loading
    2·10^8 points through HTTP takes about an hour on this loaded 2-core machine; this takes minutes."""
    import numpy as np
    from sqlalchemy import select

    from tracklet.server.store import open_store, series
    from tracklet.server.store.schema import runs as runs_table

    t0 = time.time()
    started = time.perf_counter()
    entity = ""
    with server.transport() as api:
        for r in range(runs):
            rows = metric_rows(1, keys, seed=r, t0=t0)
            entity, _, _ = upload_run(api, project, f"{project}-{r:05d}", curves(rows, r, keys) if values == "curves"
                                      else rows, t0)
    server.stop()
    store = open_store(f"sqlite:///{server.db}")
    try:
        with store.read() as conn:
            found = {row.run_id: row for row in conn.execute(
                select(runs_table.c.run_id, runs_table.c.pk, runs_table.c.segment))}
        steps_of = np.arange(1, steps)
        for r in range(runs):
            row = found[f"{project}-{r:05d}"]
            rng = np.random.default_rng(r)
            columns = {}
            for i, key in enumerate(keys):
                noise = rng.random(steps - 1)
                if values == "curves":  # curves(): a decaying curve per (run, metric) plus ±1% noise
                    scale, tau = 1.0 + 0.05 * i, 20_000.0 + 500.0 * r
                    noise = scale * np.exp(-steps_of / tau) + 0.1 + 0.02 * (noise - 0.5)
                columns[key] = (steps_of, noise)
            with store.transaction() as conn:
                series.append(conn, row.pk, row.segment, columns)
            print(f"  run {r + 1}/{runs} written ({time.perf_counter() - started:.0f} s)", file=sys.stderr, end="\r")
    finally:
        store.close()
    server.start()
    wall = time.perf_counter() - started
    points = runs * steps * len(keys)
    return {"wall_s": wall, "points": points, "points_per_s": points / wall, "requests": 2 * runs, "workers": 1,
            "entity": entity, "bulk": True}


# The series requests (one per chart panel): when each was sent and answered (ms since navigation), the
# server's share (request sent → first byte), and its sizes on the wire and decoded.
SERIES = """() => performance.getEntriesByType('resource').filter((e) => e.name.includes('/series?')).map((e) => ({
  start: e.startTime, first_byte: e.responseStart, end: e.responseEnd, server_ms: e.responseStart - e.requestStart,
  transfer: e.transferSize, body: e.encodedBodySize, decoded: e.decodedBodySize,
  server_timing: Object.fromEntries((e.serverTiming || []).map((t) => [t.name, t.duration])) }))"""


def create_table_runs(server: TrackletServer, project: str, count: int) -> str:
    from tracklet.protocol import RecordBatch, RunHandshake
    from tracklet.runlog.records import RecordType, encode

    with server.transport() as api:
        entity = api.call("POST", "/runs", RunHandshake(project=project, run_id=f"{project}-00000"))["entity"]

        def one(i: int) -> None:
            run_id = f"{project}-{i:05d}"
            if i:
                api.call("POST", "/runs", RunHandshake(project=project, run_id=run_id))
            start = {"run_id": run_id, "project": project, "entity": entity, "mode": "online", "name": run_id,
                     "notes": None, "tags": ["bench"], "group": f"g{i % 10}", "job_type": "train",
                     "start_time": 1.7e9 + i, "starting_step": 0, "runtime_offset": 0.0, "resumed": False,
                     "resume": None, "branch": None, "restore": None}
            records = [encode(RecordType.START, start),
                       encode(RecordType.CONFIG, {"set": {"lr": 0.001 * (i % 50 + 1), "layers": i % 8, "opt": "adam"}}),
                       encode(RecordType.SUMMARY, {"set": [[["acc"], (i % 100) / 100], [["epoch"], i % 30]],
                                                   "remove": []}),
                       encode(RecordType.EXIT, {"exit_code": 0, "timestamp": 1.7e9 + i + 60, "runtime": 60.0})]
            api.send_records(f"/runs/{entity}/{project}/{run_id}/records", RecordBatch(first_seq=1, records=records))

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(one, range(count)))
    return entity


# Scrolling the 10,000-run table: 100 steps of 330 px (ten rows), each until the frame after it is
# painted; and the main-thread tasks over 50 ms meanwhile. Smooth: steps of about two frames, no long task.
SCROLL_TABLE = """async () => {
  const box = document.querySelector('[data-testid=runs-scroll]');
  const long = [];
  const observer = new PerformanceObserver((list) => long.push(...list.getEntries().map((e) => e.duration)));
  observer.observe({ type: 'longtask' });
  const steps = [];
  for (let i = 0; i < 100; i++) {
    const t0 = performance.now();
    box.scrollTop += 330;
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    steps.push(performance.now() - t0);
  }
  observer.disconnect();
  steps.sort((a, b) => a - b);
  return { median_ms: steps[50], p95_ms: steps[95], max_ms: steps[99], long_tasks: long.length,
           rows_in_dom: document.querySelectorAll('tr[data-testid=run-row]').length };
}"""


def measure(server: TrackletServer, path: str, ready_js: str, repeat: int,
            after_js: str | None = None) -> list[dict[str, Any]]:
    """Loads `path` `repeat` times in fresh (signed-in) browser contexts; time to `ready_js` and bytes
    (and what `after_js` returns, run once ready)."""
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for _ in range(repeat):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.add_init_script(
                    f"localStorage.setItem('tracklet.apiKey', {json.dumps(server.api_key)});"
                    "performance.setResourceTimingBufferSize(100000);")
                page = context.new_page()
                started = time.perf_counter()
                page.goto(server.url + path)
                page.wait_for_function(ready_js, timeout=TIMEOUT_MS, polling="raf")
                elapsed = time.perf_counter() - started
                sizes = page.evaluate(BYTES)
                series = page.evaluate(SERIES)
                ready_ms = page.evaluate("() => window.__benchReadyAt ?? null")
                panels = page.evaluate("() => document.querySelectorAll('[data-testid=panel]').length")
                rows = page.evaluate("() => document.querySelectorAll('tr[data-testid=run-row]').length")
                drawn = page.evaluate("() => document.querySelectorAll('[data-testid=panel][data-state=ready]').length")
                after = page.evaluate(after_js) if after_js else None
                out.append({"seconds": elapsed, "bytes": sizes["transfer"], "body_bytes": sizes["body"],
                            "requests": sizes["requests"], "panels": panels, "panels_drawn": drawn,
                            "rows_in_dom": rows, "ready_ms": ready_ms, "series": series, "after": after})
                context.close()
        finally:
            browser.close()
    return out


def drop_caches() -> None:
    """Drop the OS page cache (root): the next reads come from disk."""
    subprocess.run(["sync"], check=True)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def restart(server: TrackletServer, drop: bool) -> None:
    server.stop()
    if drop:
        drop_caches()
    server.start()


def api_charts(server: TrackletServer, entity: str, runs: int, key: str, drop: bool) -> dict[str, Any]:
    """Cold (first request after a server restart) and warm (median of 3) chart queries through the API."""
    run_ids = [f"ws-{r:05d}" for r in range(runs)]
    queries = {
        "one run, 1,000 buckets": (f"/runs/{entity}/ws/{run_ids[0]}/history/series", {"key": key, "buckets": 1000}),
        f"{runs} runs, 1,000 buckets": (f"/projects/{entity}/ws/series",
                                        {"key": key, "runs": ",".join(run_ids), "buckets": 1000}),
    }
    out = {}
    for name, (path, params) in queries.items():
        restart(server, drop)
        times = []
        with server.transport() as api:
            for _ in range(4):
                started = time.perf_counter()
                api.call("GET", path, params=params)
                times.append(time.perf_counter() - started)
        out[name] = {"cold_s": times[0], "warm_s": sorted(times[1:])[1]}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,000 steps a run (not 100,000)")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--metrics", type=int, default=20)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--table-runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="page loads per measurement (fresh contexts)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--values", choices=("random", "curves"), default="random",
                        help="random: uniform random doubles (the default; every chart is full-height noise, the "
                             "worst case to draw); curves: decaying loss-like curves with 1%% noise")
    parser.add_argument("--workers", type=int, default=2, help="client processes uploading the workspace")
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR,
                        help="where loaded stores are kept, one folder per size (default bench/results/.cache)")
    parser.add_argument("--rebuild", action="store_true", help="load the data again even if a cached store exists")
    parser.add_argument("--no-cache", action="store_true", help="a temporary store, loaded and deleted")
    parser.add_argument("--server-src", type=Path, help="run the server from this source tree (DIR/src) instead")
    parser.add_argument("--drop-caches", action="store_true", help="drop the OS page cache before each cold start")
    parser.add_argument("--skip-table", action="store_true", help="measure the workspace and API charts only")
    parser.add_argument("--bulk", action="store_true",
                        help="write the workspace's history with the store's ingest function, not HTTP (minutes, not an hour)")
    args = parser.parse_args()
    steps = args.steps if args.steps is not None else (2_000 if args.quick else 100_000)
    full = (args.runs, args.metrics, steps, args.table_runs) == (100, 20, 100_000, 10_000)

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if args.server_src:
        env["PYTHONPATH"] = str(args.server_src.resolve() / "src")
    results: dict[str, Any] = {"size": "full" if full else "REDUCED", "runs": args.runs, "metrics": args.metrics,
                               "steps": steps, "table_runs": args.table_runs, "values": args.values}
    if args.no_cache:
        folder, cached = Path(tempfile.mkdtemp(prefix="tracklet-ui-bench-")), False
    else:
        name = f"ui-v{CACHE_FORMAT}-{args.runs}x{args.metrics}x{steps}-table{args.table_runs}" + (
            "-bulk" if args.bulk else "")
        folder = args.cache_dir.resolve() / (name if args.values == "random" else f"{name}-{args.values}")
        cached = (folder / DONE).is_file() and not args.rebuild
        if not cached:  # nothing there, an interrupted load, or --rebuild
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
    server = TrackletServer(folder, env)
    try:
        server.start()
        if cached:
            built = json.loads((folder / DONE).read_text())
            print(f"reusing the data loaded on {built['date']} in {folder} (--rebuild loads it again)", file=sys.stderr)
        else:
            built = {"date": time.strftime("%Y-%m-%d %H:%M:%S")}
            keys = tuple(f"{['train', 'val', 'sys', 'eval'][k % 4]}/m{k:02d}" for k in range(args.metrics))
            print(f"loading {args.runs} runs × {args.metrics} metrics × {steps:,} steps "
                  f"({args.runs * args.metrics * steps:,} points) from {args.workers} client processes …", file=sys.stderr)
            if args.bulk:
                load = bulk_load_workspace(server, "ws", args.runs, steps, keys, args.values)
            else:
                load = load_workspace(server, "ws", args.runs, steps, keys, args.workers, args.values)
            built["workspace_load"] = {k: load[k] for k in ("wall_s", "points", "points_per_s", "requests", "workers")} | {
                "bulk": args.bulk}
            built["entity"] = load["entity"]
            print(f"  loaded in {load['wall_s']:.1f} s ({load['points_per_s']:,.0f} points/s)", file=sys.stderr)
            started = time.perf_counter()
            create_table_runs(server, "table", args.table_runs)
            built["table_load_s"] = time.perf_counter() - started
            print(f"  {args.table_runs:,} table runs created in {built['table_load_s']:.1f} s", file=sys.stderr)
            if not args.no_cache:
                (folder / DONE).write_text(json.dumps(built, indent=2))
        results.update({k: v for k, v in built.items() if k != "entity"}, cached=cached)
        entity = built["entity"]

        results["server_src"] = str(args.server_src or "this tree")
        results["api"] = api_charts(server, entity, args.runs, "train/m00", args.drop_caches)
        restart(server, args.drop_caches)  # the workspace's first load comes right after a server start
        results["workspace"] = measure(server, f"/{entity}/ws", PANELS_READY, args.repeat)
        if not args.skip_table:
            results["table"] = measure(server, f"/{entity}/table",
                                       "() => !!document.querySelector('tr[data-testid=run-row]')", args.repeat,
                                       SCROLL_TABLE)
    finally:
        server.stop()
        if args.no_cache:
            shutil.rmtree(folder, ignore_errors=True)

    ws = results["workspace"]
    tb = results.get("table")
    best = lambda xs: min(x["seconds"] for x in xs)  # noqa: E731
    med = lambda xs: sorted(x["seconds"] for x in xs)[len(xs) // 2]  # noqa: E731
    print(f"\nUI bench ({results['size']} size: {args.runs} runs × {args.metrics} metrics × {steps:,} steps, "
          f"{args.values} values; "
          f"table {args.table_runs:,} runs)")
    print(f"  data load{' (cached, from ' + results['date'] + ')' if results['cached'] else ''}: "
          f"workspace {results['workspace_load']['wall_s']:.1f} s "
          f"({results['workspace_load']['points']:,} points), table runs {results['table_load_s']:.1f} s")
    print(f"  workspace → visible panels ready: median {med(ws):.2f} s, best {best(ws):.2f} s, first load "
          f"{ws[0]['seconds']:.2f} s (target < 2 s); "
          f"{ws[0]['panels_drawn']} of {ws[0]['panels']} panels drawn, {ws[0]['bytes']:,} bytes over {ws[0]['requests']} requests (first load)")
    for i, load in enumerate(ws):
        print(f"    load {i + 1}: {load['seconds']:.2f} s; series requests (ms since navigation: sent → first byte → "
              f"end, server share, bytes on the wire / decoded), ready at {load['ready_ms'] or 0:.0f} ms:")
        for r in load["series"]:
            print(f"      {r['start']:6.0f} → {r['first_byte']:6.0f} → {r['end']:6.0f}  server {r['server_ms']:5.0f} ms  "
                  f"{r['transfer']:>10,} / {r['decoded']:>10,} B  {r['server_timing'] or ''}")
    for name, r in results["api"].items():
        print(f"  API chart query, {name}: cold (first after a server start) {r['cold_s']:.3f} s, warm {r['warm_s']:.3f} s")
    if tb is None:
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        return 0
    print(f"  runs table → first rows drawn: median {med(tb):.2f} s, best {best(tb):.2f} s, first load "
          f"{tb[0]['seconds']:.2f} s (target < 1 s); "
          f"{tb[0]['rows_in_dom']} rows in the DOM, {tb[0]['bytes']:,} bytes")
    for i, load in enumerate(tb):
        scroll = load["after"]
        print(f"    load {i + 1}: scrolling 100 × ten rows, until painted: median {scroll['median_ms']:.0f} ms, "
              f"p95 {scroll['p95_ms']:.0f} ms, max {scroll['max_ms']:.0f} ms; {scroll['long_tasks']} tasks over "
              f"50 ms; {scroll['rows_in_dom']} rows in the DOM")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
