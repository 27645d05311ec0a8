"""UI benchmark: a real `tracklet server` filled through the HTTP API, measured in Chromium.

1. Workspace: RUNS runs × METRICS metrics × STEPS steps (default 100 × 20 × 100,000; `--quick`:
   100 × 20 × 2,000), uploaded as record batches like server_bench.py (no SDK). Then the time from
   navigating to the project page until every chart panel in the viewport has data-state="ready",
   and the bytes transferred on the way (Performance API transferSize, navigation and resources).
2. A project of TABLE_RUNS runs (default 10,000) with a little config and summary, created through
   the API (a handshake and one record batch each, 8 at a time) → time from navigating to the
   first runs-table row drawn.

Targets: workspace charts < 2 s, runs table < 1 s. Needs the built UI (web/: npm run build) and
Chromium (/usr/bin/chromium). Usage: .venv/bin/python bench/ui_bench.py [--quick] [--steps N] ...
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_bench import TrackletServer, tracklet_load  # noqa: E402

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
  return inView.length > 0 && inView.every((p) => p.dataset.state === 'ready');
}"""
BYTES = """() => {
  const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
  return { transfer: entries.reduce((s, e) => s + (e.transferSize || 0), 0),
           body: entries.reduce((s, e) => s + (e.encodedBodySize || 0), 0), requests: entries.length };
}"""


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


def measure(server: TrackletServer, path: str, ready_js: str, repeat: int) -> list[dict[str, Any]]:
    """Loads `path` `repeat` times in fresh (signed-in) browser contexts; time to `ready_js` and bytes."""
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
                panels = page.evaluate("() => document.querySelectorAll('[data-testid=panel]').length")
                rows = page.evaluate("() => document.querySelectorAll('tr[data-testid=run-row]').length")
                drawn = page.evaluate("() => document.querySelectorAll('[data-testid=panel][data-state=ready]').length")
                out.append({"seconds": elapsed, "bytes": sizes["transfer"], "body_bytes": sizes["body"],
                            "requests": sizes["requests"], "panels": panels, "panels_drawn": drawn,
                            "rows_in_dom": rows})
                context.close()
        finally:
            browser.close()
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
    args = parser.parse_args()
    steps = args.steps if args.steps is not None else (2_000 if args.quick else 100_000)
    full = (args.runs, args.metrics, steps, args.table_runs) == (100, 20, 100_000, 10_000)

    tmp = Path(tempfile.mkdtemp(prefix="tracklet-ui-bench-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = TrackletServer(tmp, env)
    results: dict[str, Any] = {"size": "full" if full else "REDUCED", "runs": args.runs, "metrics": args.metrics,
                               "steps": steps, "table_runs": args.table_runs}
    try:
        server.start()
        keys = tuple(f"{['train', 'val', 'sys', 'eval'][k % 4]}/m{k:02d}" for k in range(args.metrics))
        print(f"loading {args.runs} runs × {args.metrics} metrics × {steps:,} steps "
              f"({args.runs * args.metrics * steps:,} points) …", file=sys.stderr)
        load = tracklet_load(server, "ws", args.runs, steps, keys, progress="workspace")
        results["workspace_load"] = {k: load[k] for k in ("wall_s", "points", "points_per_s", "requests")}
        print(f"  loaded in {load['wall_s']:.1f} s ({load['points_per_s']:,.0f} points/s)", file=sys.stderr)
        entity = load["entity"]

        started = time.perf_counter()
        create_table_runs(server, "table", args.table_runs)
        results["table_load_s"] = time.perf_counter() - started
        print(f"  {args.table_runs:,} table runs created in {results['table_load_s']:.1f} s", file=sys.stderr)

        results["workspace"] = measure(server, f"/{entity}/ws", PANELS_READY, args.repeat)
        results["table"] = measure(server, f"/{entity}/table",
                                   "() => !!document.querySelector('tr[data-testid=run-row]')", args.repeat)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    ws = results["workspace"]
    tb = results["table"]
    best = lambda xs: min(x["seconds"] for x in xs)  # noqa: E731
    med = lambda xs: sorted(x["seconds"] for x in xs)[len(xs) // 2]  # noqa: E731
    print(f"\nUI bench ({results['size']} size: {args.runs} runs × {args.metrics} metrics × {steps:,} steps; "
          f"table {args.table_runs:,} runs)")
    print(f"  data load: workspace {results['workspace_load']['wall_s']:.1f} s "
          f"({results['workspace_load']['points']:,} points), table runs {results['table_load_s']:.1f} s")
    print(f"  workspace → visible panels ready: median {med(ws):.2f} s, best {best(ws):.2f} s (target < 2 s); "
          f"{ws[0]['panels_drawn']} of {ws[0]['panels']} panels drawn, {ws[0]['bytes']:,} bytes over {ws[0]['requests']} requests (first load)")
    print(f"  runs table → first rows drawn: median {med(tb):.2f} s, best {best(tb):.2f} s (target < 1 s); "
          f"{tb[0]['rows_in_dom']} rows in the DOM, {tb[0]['bytes']:,} bytes")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
