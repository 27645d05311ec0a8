"""Load on one machine: N concurrent training processes logging through the real SDK into real servers.

Each training process is a real script (``tracklet.init`` online, its agent, its console tee) that
logs 20 metrics per step (one of them ``t``, the wall clock at the call) at a fixed rate for a fixed
time, then ``finish()`` (which waits until its agent has every record acknowledged). The modes run
one after the other in the same invocation, each with fresh servers:

- ``sqlite``: one ``tracklet server`` on SQLite;
- ``postgres``: two replicas over one PostgreSQL (a throwaway cluster, bench/postgres_cluster.py),
  half of the runs on each (as behind a DNS or L4 split; ``--balancer`` puts tests/balancer.py,
  a Python round-robin proxy, in front instead, so agents switch replica between batches).

Figures per mode:

- loss: every step of every run read back through the API (``GET …/history``), every point counted
  and compared with the value logged; a run missing steps at the first read is read again 10 s
  later, so late and lost are told apart;
- upload lag: every second the runs' summaries are listed (one request), giving the last step the
  server holds for each run; after the run, the history gives the wall time at which every step was
  logged, so the lag at a sample is the age of the oldest step logged but not yet on the server
  (0 when caught up). p50/p99/max over all samples of all runs while the processes log (until the last one's last ``log``);
- ``log`` cost: µs per call in each process, first 10 s vs last 10 s (p50, p99, mean);
- ingest latency: each agent's ``POST …/records`` round trips (request out to answer in), timed
  inside the real agent by a ``sitecustomize`` the bench puts on its PYTHONPATH;
- server CPU seconds (the server processes and their children, and PostgreSQL's postmaster and
  backends) per 1,000 points;
- the machine: CPU used by processes outside the bench during the window (other users).

``--runs 10,25,50,100`` sweeps the SQLite mode over several run counts (each its own fresh server).
Results: a Markdown table on stdout, raw JSON in bench/results/load-<timestamp>.json.

    bench/run-load                                  # 50 runs x 60 s, both modes
    bench/run-load --runs 5 --seconds 10            # a quick try
    bench/run-load --runs 10,25,50,100 --seconds 20 --modes sqlite   # the sweep
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH_DIR), str(BENCH_DIR.parent)]

from postgres_cluster import cluster, create_database  # noqa: E402
from server_bench import TrackletServer, tree_cpu_seconds  # noqa: E402

PROJECT = "load"
METRICS = 20  # per step, ``t`` included
SAMPLE_SECONDS = 1.0
WINDOW_SECONDS = 10.0  # the first / last window of log cost
START_DELAY = 5.0  # after the last process is ready, all start logging together at this margin
READY_TIMEOUT = 600.0
HTTP_TIMEOUT = 120.0

WORKER = r"""
import json, resource, sys, time
from array import array
import tracklet

def cpu():
    return sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ("ru_utime", "ru_stime"))

rate, seconds, index = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
run = tracklet.init(project=%(project)r, name=f"load-{index}")
print(json.dumps({"path": run.path, "id": run.id, "offline": run.offline}), flush=True)
start_at = float(sys.stdin.readline())  # the bench's go: a wall time shared by all processes
keys = [f"m{k:02d}" for k in range(%(metrics)d - 1)]
costs = array("d")
cpu_costs = array("d")  # CPU time of the call (this thread): what a loaded machine's scheduling does not add
steps = int(rate * seconds)
interval = 1.0 / rate
time.sleep(max(0.0, start_at - time.time()))
cpu_began = cpu()
began = next_at = time.perf_counter()
for step in range(steps):
    now = time.perf_counter()
    if now < next_at:
        time.sleep(next_at - now)
    elif now - next_at > 0.1:  # fell behind (a loaded machine): go on at the rate, no burst to catch up
        next_at = now
    row = {key: (step %% 1000) * 0.001 + k for k, key in enumerate(keys)}
    row["t"] = time.time()
    before, cpu_before = time.perf_counter(), time.thread_time()
    run.log(row)
    costs.append(time.perf_counter() - before)
    cpu_costs.append(time.thread_time() - cpu_before)
    next_at += interval
logged_s = time.perf_counter() - began
before = time.perf_counter()
run.finish()
print(json.dumps({"steps": steps, "logged_s": logged_s, "finish_s": time.perf_counter() - before,
                  "cpu_s": cpu() - cpu_began,
                  "costs": [round(c * 1e6, 2) for c in costs], "cpu_costs": [round(c * 1e6, 2) for c in cpu_costs]}),
      flush=True)
"""

# Loaded by every Python process of a run through PYTHONPATH; acts only in agents.
TIMING_HOOK = r"""
import os
try:
    with open("/proc/self/cmdline", "rb") as _f:
        _agent = b"tracklet.agent" in _f.read()
except OSError:
    _agent = False
if _agent and os.environ.get("TRACKLET_LOAD_TIMINGS"):
    import atexit, time
    from tracklet.api import transport as _transport

    _out = open(os.path.join(os.environ["TRACKLET_LOAD_TIMINGS"], f"{os.getpid()}.tsv"), "a")
    _send = _transport.Transport._send

    def _timed_send(self, method, path, **kwargs):
        if not path.endswith("/records"):
            return _send(self, method, path, **kwargs)
        started, before, ok = time.time(), time.perf_counter(), 0
        try:
            answer = _send(self, method, path, **kwargs)
            ok = 1
            return answer
        finally:
            _out.write(f"{started:.6f}\t{time.perf_counter() - before:.6f}\t{_cpu():.3f}\t{ok}\n")

    def _cpu():
        times = os.times()
        return times.user + times.system

    def _end():
        _out.write(f"{time.time():.6f}\t-\t{_cpu():.3f}\n")  # the agent's CPU at its end
        _out.close()

    _transport.Transport._send = _timed_send
    atexit.register(_end)
"""


# --- servers ----------------------------------------------------------------------------------


class Replica(TrackletServer):
    """A ``tracklet server`` on a given store URL and files folder; replicas after the first leave the
    client settings alone and use the first one's administrator key."""

    def __init__(self, tmp: Path, env: dict[str, str], store: str, files: Path, first: Replica | None) -> None:
        super().__init__(tmp, env)
        self.store_url, self.files, self.first = store, files, first

    @property
    def db(self) -> Path:
        return self.tmp / "data" / "unused"  # the store is PostgreSQL

    def command(self) -> list[str]:
        extra = ["--no-client-setup"] if self.first is not None else []
        return [sys.executable, "-m", "tracklet.cli.main", "server", "--port", str(self.port),
                "--store", self.store_url, "--files", str(self.files), *extra]

    def start(self) -> None:
        if self.first is None:
            super().start()
            return
        self.env = {**self.env, "TRACKLET_DATA_DIR": str(self.tmp / "data"), "TRACKLET_CONFIG_DIR": str(self.config_dir)}
        super(TrackletServer, self).start()
        self.api_key = self.first.api_key


class PostgresProcesses:
    """The CPU of the cluster's postmaster and its backends (started by pg_ctl: no child of a replica)."""

    def __init__(self, admin_url: str) -> None:
        port = admin_url.rsplit(":", 1)[1].split("/")[0]
        self.pid = 0
        for entry in Path("/proc").iterdir():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"/postgres") and f"-p {port}".encode() in b" ".join(argv):
                self.pid = int(entry.name)
                break

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.pid) if self.pid else 0.0


@contextlib.contextmanager
def deployment(mode: str, tmp: Path, env: dict[str, str],
               balancer: bool) -> Iterator[tuple[list[str], str, list[Any], list[Any]]]:
    """Start the servers of ``mode``; yield (the URL each run is given in turn, the admin key, the
    servers, what server CPU is counted of: the servers and PostgreSQL)."""
    if mode == "sqlite":
        server = TrackletServer(tmp / "sqlite", env)
        try:
            server.start()
            yield [server.url], server.api_key, [server], [server]
        finally:
            server.stop()
        return
    with cluster() as admin_url:
        store = create_database(admin_url, "tracklet_load")
        files = tmp / "pg-files"
        servers: list[Any] = []
        proxy = None
        try:
            for name in ("a", "b"):
                server = Replica(tmp / f"replica-{name}", env, store, files, servers[0] if servers else None)
                server.start()  # one after the other: the first migrates and creates the administrator
                servers.append(server)
            urls = [s.url for s in servers]
            if balancer:
                from tests.balancer import Balancer
                from tests.conftest import free_port

                proxy = Balancer(urls, free_port())
                proxy.start()
                urls = [proxy.url]
            yield urls, servers[0].api_key, servers, [*servers, PostgresProcesses(admin_url)]
        finally:
            if proxy is not None:
                proxy.stop()
            for server in servers:
                server.stop()


# --- the machine ------------------------------------------------------------------------------


def machine_busy_seconds() -> float:
    """CPU seconds spent by the whole machine so far (all cores, /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(f) for f in fields]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# --- one load ---------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Sampler(threading.Thread):
    """Every second, the last step the server holds for each run (one list request)."""

    def __init__(self, url: str, key: str, entity: str) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=url + "/api/v1", headers={"Authorization": f"Bearer {key}"},
                                   timeout=HTTP_TIMEOUT)
        self.path = f"/runs/{entity}/{PROJECT}"
        self.samples: list[tuple[float, dict[str, int]]] = []
        self.durations: list[float] = []  # of the list requests: how much a lag may be overstated
        self.failures = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            asked = time.monotonic()
            try:
                answer = self.client.get(self.path, params={"limit": 10_000})
                answer.raise_for_status()
                seen = time.time()  # the answer's arrival: a lag measured from here is never too small
                steps = {r["run_id"]: int(r["summary"].get("_step", -1)) for r in answer.json()}
                self.samples.append((seen, steps))
                self.durations.append(time.monotonic() - asked)
            except (httpx.HTTPError, ValueError, KeyError):
                self.failures += 1
            self.stop.wait(max(0.0, SAMPLE_SECONDS - (time.monotonic() - asked)))


def start_workers(count: int, urls: list[str], key: str, work: Path, env: dict[str, str],
                  rate: float, seconds: float) -> list[tuple[subprocess.Popen[str], dict[str, Any]]]:
    script = work / "worker.py"
    script.write_text(WORKER % {"project": PROJECT, "metrics": METRICS}, encoding="utf-8")
    started = []
    for i in range(count):
        run_env = {**env, "TRACKLET_BASE_URL": urls[i % len(urls)], "TRACKLET_API_KEY": key}
        proc = subprocess.Popen([sys.executable, str(script), str(rate), str(seconds), str(i)],
                                cwd=work, env=run_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=open(work / f"worker-{i}.err", "w"), text=True)  # noqa: SIM115
        started.append(proc)
    ready = []
    for proc in started:  # each says which run it is once init() returned
        line = proc.stdout.readline() if proc.stdout else ""
        if not line:
            raise RuntimeError(f"a training process ended before init returned: see {work}/worker-*.err")
        info = json.loads(line)
        if info["offline"]:
            raise RuntimeError(f"a training process went offline: see {work}/worker-*.err")
        ready.append((proc, info))
    return ready


def history(client: httpx.Client, path: str) -> dict[int, dict[str, Any]]:
    """Every row the API gives for the run, by step (one request: up to 100,000 rows)."""
    answer = client.get(f"/runs/{path}/history")
    answer.raise_for_status()
    return {row["_step"]: row for row in answer.json()["rows"]}


def wrong_values(row: dict[str, Any]) -> int:
    """Points of ``row`` that are missing or not what the worker logged at that step."""
    step = row["_step"]
    expected = {f"m{k:02d}": (step % 1000) * 0.001 + k for k in range(METRICS - 1)}
    return sum(1 for key, value in expected.items() if row.get(key) != value) + (0 if "t" in row else 1)


def load(mode: str, count: int, rate: float, seconds: float, root: Path, base_env: dict[str, str],
         balancer: bool) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"{mode}-{count}-", dir=root))
    timings = tmp / "timings"
    hook = tmp / "hook"
    timings.mkdir()
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(TIMING_HOOK, encoding="utf-8")
    env = {**base_env, "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), base_env.get("PYTHONPATH")])),
           "TRACKLET_LOAD_TIMINGS": str(timings), "TRACKLET_SILENT": "1", "TRACKLET_FINISH_TIMEOUT": "1800",
           "TRACKLET_CONFIG_DIR": str(tmp / "client-config"), "TRACKLET_DIR": str(tmp / "runs")}
    server_env = {k: v for k, v in base_env.items()}
    with deployment(mode, tmp, server_env, balancer) as (urls, key, servers, cpu_sources):
        work = tmp / "work"
        work.mkdir()
        workers = start_workers(count, urls, key, work, env, rate, seconds)
        # A run whose handshake waited past init's limit starts locally and learns its entity later
        # (its agent opens it): its path has no entity yet. The runs all belong to the administrator.
        entity = next(info["path"].split("/")[0] for _, info in workers if info["path"].count("/") == 2)
        for _, info in workers:
            info["path"] = f"{entity}/{PROJECT}/{info['id']}"
        sampler = Sampler(servers[0].url, key, entity)
        cpu_before = sum(s.cpu_seconds() for s in cpu_sources)
        start_at = time.time() + START_DELAY
        for proc, _ in workers:
            assert proc.stdin is not None
            proc.stdin.write(f"{start_at}\n")
            proc.stdin.flush()
        time.sleep(max(0.0, start_at - time.time()))
        busy_before, bench_before = machine_busy_seconds(), own_cpu_seconds()
        sampler.start()
        reports = []
        for proc, info in workers:
            out, _ = proc.communicate(timeout=seconds + READY_TIMEOUT + 1800)
            if proc.returncode != 0 or not out.strip():
                raise RuntimeError(f"run {info['id']} ended with {proc.returncode}: see {work}/worker-*.err")
            reports.append({**info, **json.loads(out.strip().splitlines()[-1])})
        drained_s = time.time() - start_at
        logging_s = max(r["logged_s"] for r in reports)  # longer than asked where the machine could not keep the rate
        sampler.stop.set()
        sampler.join()
        busy_after, bench_after = machine_busy_seconds(), own_cpu_seconds()
        server_cpu = sum(s.cpu_seconds() for s in cpu_sources) - cpu_before
        # Read everything back through the API.
        client = httpx.Client(base_url=servers[-1].url + "/api/v1", headers={"Authorization": f"Bearer {key}"},
                              timeout=HTTP_TIMEOUT)
        logged_points = stored_points = missing_steps = wrong = 0
        missing_first_read = 0
        timed_lags: list[tuple[float, float]] = []  # (sample time, lag)
        for report in reports:
            by_step = history(client, report["path"])
            first_missing = sum(1 for step in range(report["steps"]) if step not in by_step)
            if first_missing:  # told apart: late (visible after a while) or lost
                missing_first_read += first_missing
                time.sleep(10)
                by_step = history(client, report["path"])
            logged_points += report["steps"] * METRICS
            stored_points += sum(sum(1 for k in row if not k.startswith("_")) for row in by_step.values())
            missing_steps += sum(1 for step in range(report["steps"]) if step not in by_step)
            wrong += sum(wrong_values(row) for row in by_step.values())
            logged_at = [by_step[s]["t"] if s in by_step else float("inf") for s in range(report["steps"])]
            timed_lags += run_lags(sampler.samples, report["id"], logged_at, start_at, start_at + logging_s)
    lags = [lag for _, lag in timed_lags]
    by_window: dict[int, list[float]] = {}
    for at, lag in timed_lags:
        by_window.setdefault(int((at - start_at) // WINDOW_SECONDS), []).append(lag)
    lag_by_window = [percentile(by_window[i], 0.99) for i in sorted(by_window)]
    cost_first = [c for r in reports for c in r["costs"][: int(rate * WINDOW_SECONDS)]]
    cost_last = [c for r in reports for c in r["costs"][-int(rate * WINDOW_SECONDS):]]
    latencies, agents_cpu, failed_uploads = agent_timings(timings, start_at)
    cpu_first = [c for r in reports for c in r["cpu_costs"][: int(rate * WINDOW_SECONDS)]]
    cpu_last = [c for r in reports for c in r["cpu_costs"][-int(rate * WINDOW_SECONDS):]]
    window = busy_after - busy_before
    ours = (bench_after - bench_before) + server_cpu + agents_cpu + sum(r["cpu_s"] for r in reports)
    return {
        "mode": mode + ("+balancer" if balancer and mode != "sqlite" else ""),
        "runs": count, "rate": rate, "seconds": seconds, "metrics": METRICS,
        "logged_points": logged_points, "stored_points": stored_points, "missing_steps": missing_steps,
        "missing_steps_at_first_read": missing_first_read, "wrong_points": wrong,
        "achieved_steps_per_s": statistics.mean(r["steps"] / r["logged_s"] for r in reports),
        "lag_s": {"p50": percentile(lags, 0.5), "p99": percentile(lags, 0.99), "max": max(lags, default=float("nan")),
                  "p99_by_window": lag_by_window,
                  "samples": len(lags), "sample_failures": sampler.failures,
                  "sample_request_s_p50": percentile(sampler.durations, 0.5),
                  "sample_request_s_max": max(sampler.durations, default=float("nan"))},
        "log_us": {"first": summary(cost_first), "last": summary(cost_last)},
        "log_cpu_us": {"first": summary(cpu_first), "last": summary(cpu_last)},
        "ingest_ms": {"p50": percentile(latencies, 0.5) * 1e3, "p99": percentile(latencies, 0.99) * 1e3,
                      "requests": len(latencies), "failed": failed_uploads},
        "server_cpu_s": server_cpu, "server_cpu_s_per_1k_points": server_cpu / (stored_points / 1000) if stored_points else None,
        "finish_s_max": max(r["finish_s"] for r in reports), "drained_s": drained_s, "logging_s": logging_s,
        "agents_cpu_s": agents_cpu, "training_cpu_s": sum(r["cpu_s"] for r in reports),
        "machine_cpu_s": window, "ours_cpu_s": ours, "others_cpu_s": max(0.0, window - ours),
        "wall_s": time.time() - start_at, "cores": os.cpu_count(),
    }


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def agent_timings(folder: Path, start_at: float) -> tuple[list[float], float, int]:
    """The agents' record-upload round trips (seconds), the CPU they used from ``start_at`` to their end,
    and how many uploads failed (a timeout, an error answer: the agent sends those again)."""
    latencies: list[float] = []
    cpu = 0.0
    failed = 0
    for path in folder.glob("*.tsv"):
        at_start = 0.0
        last = 0.0
        for line in path.read_text().splitlines():
            started, duration, used, *ok = line.split("\t")
            if duration != "-":
                latencies.append(float(duration))
                failed += ok == ["0"]
            if float(started) <= start_at:
                at_start = float(used)
            last = float(used)
        cpu += last - at_start
    return latencies, cpu, failed


def run_lags(samples: list[tuple[float, dict[str, int]]], run_id: str, logged_at: list[float],
             begin: float, end: float) -> list[tuple[float, float]]:
    """At each sample in [begin, end]: its time, and how long the oldest step logged but not on the
    server has waited."""
    lags: list[tuple[float, float]] = []
    for seen, steps in samples:
        if not begin <= seen <= end or run_id not in steps:
            continue
        pending = steps[run_id] + 1  # the first step the server does not hold yet
        if pending >= len(logged_at) or logged_at[pending] >= seen:
            lags.append((seen, 0.0))  # caught up: nothing logged before this moment is missing
        else:
            lags.append((seen, seen - logged_at[pending]))
    return lags


def summary(costs: list[float]) -> dict[str, float]:
    return {"p50": percentile(costs, 0.5), "p99": percentile(costs, 0.99),
            "mean": statistics.fmean(costs) if costs else float("nan")}


# --- report -----------------------------------------------------------------------------------


def table(results: list[dict[str, Any]]) -> str:
    head = ("| mode | runs | points logged / stored | steps/s per run | upload lag p50 / p99 / max (s) "
            "| `log` µs p50 / p99, first 10 s | last 10 s | `log` CPU µs p50 / p99, first / last 10 s "
            "| ingest p50 / p99 (ms), failed | server CPU s / 1k points "
            "| all on the server, s after the last `log` | others' CPU (cores) |")
    lines = [head, "|" + "---|" * 12]
    for r in results:
        lag, first, last, ingest = r["lag_s"], r["log_us"]["first"], r["log_us"]["last"], r["ingest_ms"]
        lines.append(
            f"| {r['mode']} | {r['runs']} | {r['logged_points']:,} / {r['stored_points']:,} "
            f"| {r['achieved_steps_per_s']:.0f} of {r['rate']:.0f} | {lag['p50']:.2f} / {lag['p99']:.2f} / {lag['max']:.2f} "
            f"| {first['p50']:.0f} / {first['p99']:.0f} | {last['p50']:.0f} / {last['p99']:.0f} "
            f"| {cpu(r, 'first')} / {cpu(r, 'last')} "
            f"| {ingest['p50']:.0f} / {ingest['p99']:.0f}, {ingest.get('failed', '?')} "
            f"| {r['server_cpu_s_per_1k_points']:.3f} "
            f"| {r['drained_s'] - r.get('logging_s', r['seconds']):.1f} | {r['others_cpu_s'] / r['drained_s']:.2f} of {r['cores']} |")
    for r in results:
        windows = ", ".join(f"{lag:.2f}" for lag in r["lag_s"].get("p99_by_window", []))
        lines.append(f"\n{r['mode']}, {r['runs']} runs: upload lag p99 per {WINDOW_SECONDS:.0f} s of logging (s): {windows}")
    return "\n".join(lines)


def cpu(result: dict[str, Any], window: str) -> str:
    costs = result.get("log_cpu_us", {}).get(window)
    return f"{costs['p50']:.0f}, {costs['p99']:.0f}" if costs else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="50", help="concurrent training processes; a comma list sweeps (default 50)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long each process logs (default 60)")
    parser.add_argument("--rate", type=float, default=100.0, help="steps per second per process (default 100)")
    parser.add_argument("--modes", default="sqlite,postgres", help="sqlite, postgres or both (default both)")
    parser.add_argument("--balancer", action="store_true", help="postgres: route through tests/balancer.py")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders (servers' logs, run dirs)")
    args = parser.parse_args(argv)
    try:
        counts = [int(n) for n in args.runs.split(",")]
    except ValueError:
        parser.error(f"--runs must be integers separated by commas, got {args.runs!r}")
    if any(n < 1 for n in counts) or args.seconds <= WINDOW_SECONDS or args.rate <= 0:
        parser.error(f"--runs must be >= 1, --seconds > {WINDOW_SECONDS:.0f}, --rate > 0")
    modes = [m for m in args.modes.split(",") if m]
    if not set(modes) <= {"sqlite", "postgres"}:
        parser.error(f"--modes takes sqlite and/or postgres, got {args.modes!r}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop servers and the cluster on the way out
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKLET_")}
    results: list[dict[str, Any]] = []
    out = BENCH_DIR / "results"
    out.mkdir(exist_ok=True)
    path = out / f"load-{time.strftime('%Y%m%d-%H%M%S')}.json"
    root = Path(tempfile.mkdtemp(prefix="tracklet-load-"))
    try:
        for count in counts:
            for mode in modes:
                print(f"{mode}: {count} runs x {args.rate:.0f} steps/s x {args.seconds:.0f} s ...", file=sys.stderr)
                result = load(mode, count, args.rate, args.seconds, root, base_env, args.balancer)
                print(json.dumps({k: v for k, v in result.items()}, default=str), file=sys.stderr)
                results.append(result)
                path.write_text(json.dumps(results, indent=1), encoding="utf-8")  # kept if a later load fails
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"kept {root}", file=sys.stderr)
    print(table(results))
    print(f"\nraw: {path}")
    lost = [r for r in results if r["stored_points"] != r["logged_points"] or r["missing_steps"] or r["wrong_points"]]
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
