"""Benchmark the Tracklet server against an MLflow tracking server, both on SQLite.

Both servers run as subprocesses on free loopback ports, each with a fresh SQLite
store in a temporary directory, and are driven over HTTP from this process (one
client). Four figures, measured in the same run for both:

- ingest: points per second into the store, HTTP round trips included;
- chart query: seconds to fetch one metric of 100 runs, downsampled to 1,000 points;
- store bytes per point: the SQLite files after the ingest, server stopped;
- delay: from `log` returning in a real SDK process to the value being visible
  through the API (polled every 10 ms).

The result is a Markdown table with "mlflow/tracklet" ratios (>1×: Tracklet is
better). Raw results go to bench/results/server-<timestamp>.json.

Run with the bench venv:  .bench-venv/bin/python bench/server_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import configparser
import importlib.metadata
import json
import os
import platform
import queue
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from trackers import COMMON_ENV

BENCH_DIR = Path(__file__).resolve().parent
BATCH_RECORDS = 5000  # records per Tracklet upload, as the agent's MAX_BATCH_RECORDS
MLFLOW_BATCH = 1000  # MLflow's limit of metrics per log_batch call
CHART_KEY = "loss"
CHART_BUCKETS = 1000
STEP_SECONDS = 0.05  # simulated wall time between two training steps
POLL_SECONDS = 0.01  # delay: how often the API is asked whether the value arrived
DELAY_TIMEOUT = 15.0  # delay: give up on a sample after this long
START_TIMEOUT = 120.0  # seconds for a server to answer its health check
BOUND_TIMEOUT = 300.0  # one HTTP request, a child process line


# --- servers -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and its live descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent, cpu seconds)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    wanted, total, changed = {pid}, 0.0, True
    while changed:  # bounded: each pass adds at least one pid or stops
        changed = False
        for child, (parent, _) in stats.items():
            if parent in wanted and child not in wanted:
                wanted.add(child)
                changed = True
    for p in wanted:
        total += stats.get(p, (0, 0.0))[1]
    return total


def sqlite_bytes(db: Path) -> dict[str, int]:
    """Checkpoint the store (WAL into the database file), then the size of its files and its pages.

    The server may be running but idle; a checkpoint that a reader blocks is tried again.
    """
    with sqlite3.connect(db, timeout=30) as conn:
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
        for _ in range(50):  # bounded: 50 tries, 0.1 s apart
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] if journal == "wal" else 0
            if not busy:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"{db}: the WAL checkpoint stayed busy")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    conn.close()
    files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    return {
        "bytes": sum(f.stat().st_size for f in files if f.exists()),
        "page_size": page_size,
        "pages": pages,
        "free_pages": free,
    }


class Server:
    """A server subprocess in its own session, with its store below `tmp`."""

    name = ""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_s = 0.0

    @property
    def db(self) -> Path:
        raise NotImplementedError

    def command(self) -> list[str]:
        raise NotImplementedError

    def health_path(self) -> str:
        raise NotImplementedError

    def start(self) -> None:
        self.db.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.tmp / "server.log", "ab")  # noqa: SIM115 - the child keeps its own descriptor
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.command(), cwd=self.tmp, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + self.health_path(), timeout=2).status_code == 200:
                    self.startup_s = time.perf_counter() - started
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        tail = (self.tmp / "server.log").read_text(errors="replace").strip().splitlines()[-5:]
        raise RuntimeError(f"{self.name} server did not start: " + " | ".join(tail))

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.proc.pid) if self.proc and self.proc.poll() is None else 0.0

    def stop(self) -> None:
        """SIGTERM to the server's process group (only what it started), then SIGKILL."""
        proc = self.proc
        if proc is None:
            return
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            if proc.poll() is not None:
                break
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
        try:  # workers left in the group after the leader exited
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc = None

    def store_size(self) -> dict[str, int]:
        return sqlite_bytes(self.db)

    def settle(self, quiet_cpu: float = 0.05, window: float = 0.5, limit: float = 90.0) -> float:
        """Wait until the server's processes are idle (two windows under `quiet_cpu` CPU seconds).

        A server may still be starting helpers after its health check answers (an MLflow server
        with its job runner keeps ~1 CPU busy for ~10 s); measuring then would charge that to
        the first figure.
        """
        started = time.perf_counter()
        quiet = 0
        before = self.cpu_seconds()
        while quiet < 2 and time.perf_counter() - started < limit:  # bounded by `limit`
            time.sleep(window)
            now = self.cpu_seconds()
            quiet = quiet + 1 if now - before < quiet_cpu else 0
            before = now
        return time.perf_counter() - started


class TrackletServer(Server):
    name = "tracklet"

    @property
    def db(self) -> Path:
        return self.tmp / "data" / "tracklet.db"

    def command(self) -> list[str]:
        store = f"sqlite:///{self.db}"
        return [sys.executable, "-m", "tracklet.cli.main", "server", "--port", str(self.port), "--store", store]

    def health_path(self) -> str:
        return "/api/v1/health"

    @property
    def config_dir(self) -> Path:
        return self.tmp / "config"

    def start(self) -> None:
        # On first start the server writes its URL and the admin's key into the client
        # settings of TRACKLET_CONFIG_DIR: a private folder, read back here and by the SDK.
        dirs = {"TRACKLET_DATA_DIR": str(self.tmp / "data"), "TRACKLET_CONFIG_DIR": str(self.config_dir)}
        self.env = {**self.env, **dirs}
        super().start()
        parser = configparser.ConfigParser()
        parser.read(self.config_dir / "settings", encoding="utf-8")
        self.api_key = parser["default"]["api_key"]

    def transport(self) -> Any:
        from tracklet.api.transport import Transport

        return Transport(self.url, self.api_key, timeout=BOUND_TIMEOUT)


class MlflowServer(Server):
    name = "mlflow"

    @property
    def db(self) -> Path:
        return self.tmp / "mlflow.db"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{self.db}",
            "--default-artifact-root", str(self.tmp / "artifacts"), "--host", "127.0.0.1",
            "--port", str(self.port), "--workers", "1",
        ]  # fmt: skip

    def health_path(self) -> str:
        return "/health"

    def start(self) -> None:
        # Its job runner (GenAI evaluation, scorers: nothing metric logging uses) would start
        # extra processes that keep a CPU busy for ~10 s, run periodic tasks every minute and
        # leave their queues in /dev/shm; the tracking API does not need it.
        self.env = {**self.env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        super().start()

    def client(self) -> Any:
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.url)


# --- what is logged ----------------------------------------------------------------------


Row = tuple[int, float, dict[str, float]]


def metric_rows(steps: int, keys: tuple[str, ...], seed: int, t0: float) -> Iterator[Row]:
    """(step, timestamp, {key: random float}) for each step; STEP_SECONDS apart, with jitter."""
    rand = random.Random(seed).random
    for step in range(steps):
        yield step, t0 + step * STEP_SECONDS + rand() * 0.01, {k: rand() for k in keys}


def upload_run(api: Any, project: str, run_id: str, rows: Iterator[Row],
               t0: float) -> tuple[str, int, float]:
    """One run through the HTTP API as the agent sends it: the handshake, then a START record and
    the history rows in batches of BATCH_RECORDS. Returns (entity, requests, seconds in send_records)."""
    from tracklet.protocol import RecordBatch, RunHandshake
    from tracklet.runlog.records import RecordType, encode, encode_history

    entity = api.call("POST", "/runs", RunHandshake(project=project, run_id=run_id))["entity"]
    # the shape of start_body in tracklet/sdk/init.py
    start_body = {
        "run_id": run_id, "project": project, "entity": entity, "mode": "online", "name": run_id,
        "notes": None, "tags": [], "group": "", "job_type": "", "start_time": t0, "starting_step": 0,
        "runtime_offset": 0.0, "resumed": False, "resume": None, "branch": None, "restore": None,
    }  # fmt: skip
    path = f"/runs/{entity}/{project}/{run_id}/records"
    records = [encode(RecordType.START, start_body)]
    seq, requests, http_s = 1, 0, 0.0
    while True:  # bounded: each pass sends up to BATCH_RECORDS of the rows
        for step, ts, data in rows:
            records.append(encode_history(step, ts, True, data))
            if len(records) >= BATCH_RECORDS:
                break
        if not records:
            return entity, requests, http_s
        sent = time.perf_counter()
        ack = api.send_records(path, RecordBatch(first_seq=seq, records=records))
        http_s += time.perf_counter() - sent
        requests += 1
        seq += len(records)
        if ack["last_seq"] != seq - 1:
            raise RuntimeError(f"{run_id}: acknowledged {ack['last_seq']}, sent up to {seq - 1}")
        records = []


def tracklet_load(server: TrackletServer, project: str, runs: int, steps: int, keys: tuple[str, ...],
                  progress: str = "") -> dict[str, Any]:
    """Create `runs` runs by the handshake and upload a START record plus `steps` history records each."""
    t0 = time.time()
    http_s = 0.0
    requests = 0
    with server.transport() as api:
        cpu0 = server.cpu_seconds()
        started = time.perf_counter()
        for r in range(runs):
            entity, sent, seconds = upload_run(api, project, f"{project}-{r:05d}",
                                               metric_rows(steps, keys, seed=r, t0=t0), t0)
            requests += sent
            http_s += seconds
            if progress and (r + 1) % max(1, runs // 5) == 0:
                print(f"    {progress}: {r + 1}/{runs} runs, {time.perf_counter() - started:.0f} s", file=sys.stderr)
        wall = time.perf_counter() - started
        server_cpu = server.cpu_seconds() - cpu0
    points = runs * steps * len(keys)
    return {"runs": runs, "steps": steps, "metrics": len(keys), "points": points, "wall_s": wall,
            "points_per_s": points / wall, "requests": requests, "send_records_s": http_s,
            "server_cpu_s": server_cpu, "entity": entity}  # fmt: skip


def mlflow_load(server: MlflowServer, experiment: str, runs: int, steps: int, keys: tuple[str, ...],
                progress: str = "") -> dict[str, Any]:
    """Create `runs` runs and log `steps` × keys metrics each with log_batch, 1,000 metrics a call."""
    from mlflow.entities import Metric

    client = server.client()
    t0 = time.time()
    http_s = 0.0
    requests = 0
    run_ids = []
    cpu0 = server.cpu_seconds()
    started = time.perf_counter()
    experiment_id = client.create_experiment(experiment)
    for r in range(runs):
        run_id = client.create_run(experiment_id, run_name=f"{experiment}-{r:05d}").info.run_id
        run_ids.append(run_id)
        batch: list[Any] = []
        for step, ts, data in metric_rows(steps, keys, seed=r, t0=t0):
            millis = int(ts * 1000)
            batch.extend(Metric(k, v, millis, step) for k, v in data.items())
            while len(batch) >= MLFLOW_BATCH or (batch and step == steps - 1):  # bounded: batch shrinks
                sent = time.perf_counter()
                client.log_batch(run_id, metrics=batch[:MLFLOW_BATCH])
                http_s += time.perf_counter() - sent
                requests += 1
                del batch[:MLFLOW_BATCH]
        if progress and (r + 1) % max(1, runs // 5) == 0:
            print(f"    {progress}: {r + 1}/{runs} runs, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    wall = time.perf_counter() - started
    points = runs * steps * len(keys)
    return {"runs": runs, "steps": steps, "metrics": len(keys), "points": points, "wall_s": wall,
            "points_per_s": points / wall, "requests": requests, "log_batch_s": http_s,
            "server_cpu_s": server.cpu_seconds() - cpu0, "experiment_id": experiment_id,
            "run_ids": run_ids}  # fmt: skip


# --- chart queries -----------------------------------------------------------------------


def tracklet_chart(server: TrackletServer, load: dict[str, Any], project: str, repeat: int) -> dict[str, Any]:
    """GET /projects/{entity}/{project}/series?key=loss&runs=…&buckets=1000: every run in one request."""
    import msgspec

    times, buckets, size = [], 0, 0
    headers = {"Authorization": f"Bearer {server.api_key}"}
    run_ids = ",".join(f"{project}-{r:05d}" for r in range(load["runs"]))
    cpu0 = server.cpu_seconds()
    with httpx.Client(base_url=server.url + "/api/v1", headers=headers, timeout=BOUND_TIMEOUT) as http:
        for _ in range(repeat):
            started = time.perf_counter()
            response = http.get(f"/projects/{load['entity']}/{project}/series",
                                params={"key": CHART_KEY, "buckets": CHART_BUCKETS, "runs": run_ids})
            response.raise_for_status()
            answer = msgspec.json.decode(response.content)
            buckets, size = 0, len(response.content)
            for run_id, series in answer["runs"].items():
                buckets += len(series["count"])
                if sum(series["count"]) != load["steps"]:
                    counted = sum(series["count"])
                    raise RuntimeError(f"run {run_id}: the series counts {counted} points, {load['steps']} logged")
            if len(answer["runs"]) != load["runs"]:
                raise RuntimeError(f"{len(answer['runs'])} runs answered, {load['runs']} asked")
            times.append(time.perf_counter() - started)
    return {"times_s": times, "median_s": statistics.median(times), "requests_per_query": 1,
            "buckets_returned": buckets, "response_bytes": size,
            "server_cpu_s_per_query": (server.cpu_seconds() - cpu0) / repeat}  # fmt: skip


def mlflow_chart(server: MlflowServer, load: dict[str, Any], repeat: int) -> dict[str, Any]:
    """GET /api/2.0/mlflow/metrics/get-history-bulk-interval, all runs (≤ 100) in one request."""
    run_ids = load["run_ids"]
    times, returned, size = [], 0, 0
    cpu0 = server.cpu_seconds()
    with httpx.Client(base_url=server.url, timeout=BOUND_TIMEOUT) as http:
        for _ in range(repeat):
            started = time.perf_counter()
            returned, size = 0, 0
            for lo in range(0, len(run_ids), 100):  # the endpoint takes at most 100 runs
                response = http.get(
                    "/api/2.0/mlflow/metrics/get-history-bulk-interval",
                    params={"run_ids": run_ids[lo : lo + 100], "metric_key": CHART_KEY, "max_results": CHART_BUCKETS},
                )
                response.raise_for_status()
                returned += len(response.json().get("metrics", []))
                size += len(response.content)
            times.append(time.perf_counter() - started)
    return {"times_s": times, "median_s": statistics.median(times), "requests_per_query": -(-len(run_ids) // 100),
            "points_returned": returned, "response_bytes": size,
            "server_cpu_s_per_query": (server.cpu_seconds() - cpu0) / repeat}  # fmt: skip


# --- delay from log to the API --------------------------------------------------------------

TRACKLET_SCRIPT = """
import sys, time, tracklet
run = tracklet.init(project="delay")
print("READY", run.entity, run.project, run.id, flush=True)
for line in sys.stdin:
    words = line.split()
    if not words or words[0] != "LOG":
        break
    run.log({"x": int(words[1])})
    print("LOGGED", words[1], time.monotonic(), flush=True)
run.finish()
"""

MLFLOW_SCRIPT = """
import sys, time, mlflow
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("delay")
run = mlflow.start_run()
print("READY", run.info.run_id, flush=True)
for line in sys.stdin:
    words = line.split()
    if not words or words[0] != "LOG":
        break
    mlflow.log_metric("x", int(words[1]), step=int(words[1]))
    print("LOGGED", words[1], time.monotonic(), flush=True)
mlflow.end_run()
"""


class Child:
    """A logging script, driven line by line over stdin/stdout, every read with a timeout."""

    def __init__(self, script: str, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        (cwd / "log_script.py").write_text(script)
        with open(cwd / "script.err", "wb") as err:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "log_script.py", *args], cwd=cwd, env=env, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True,
            )  # fmt: skip
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def expect(self, word: str, timeout: float = BOUND_TIMEOUT) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:  # bounded by the deadline
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"no {word!r} from the logging script in {timeout:g} s") from None
            if line is None:
                raise RuntimeError(f"the logging script ended: {self.error()}")
            if line.startswith(word + " "):
                return line.split()[1:]

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def error(self) -> str:
        lines = (self.cwd / "script.err").read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else f"exit code {self.proc.poll()}"

    def close(self, timeout: float = 90) -> int | None:
        try:
            self.send("END")
            self.proc.stdin.close()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError):
            pass
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            return None


def measure_delay(child: Child, samples: int, visible: Callable[[int], bool]) -> dict[str, Any]:
    """For each sample: log i, then poll `visible(i)` every POLL_SECONDS; the gap from log's return."""
    rand = random.Random(1)
    delays: list[float | None] = []
    polls: list[int] = []
    for i in range(samples):
        time.sleep(rand.uniform(0.05, 0.25))  # spread samples over any periodic upload cycle
        child.send(f"LOG {i}")
        logged_at = float(child.expect("LOGGED")[1])
        deadline = logged_at + DELAY_TIMEOUT
        seen, count = None, 0
        while time.monotonic() < deadline:  # bounded by the deadline
            asked = time.monotonic()
            count += 1
            if visible(i):
                seen = time.monotonic()
                break
            time.sleep(max(0.0, asked + POLL_SECONDS - time.monotonic()))
        delays.append(None if seen is None else seen - logged_at)
        polls.append(count)
    found = [d for d in delays if d is not None]
    return {"delays_s": delays, "polls": polls, "median_s": statistics.median(found) if found else None,
            "max_s": max(found) if found else None, "missed": len(delays) - len(found)}  # fmt: skip


def tracklet_delay(server: TrackletServer, work: Path, env: dict[str, str], samples: int) -> dict[str, Any]:
    env = {**env, "TRACKLET_CONFIG_DIR": str(server.config_dir), "TRACKLET_SILENT": "1"}
    child = Child(TRACKLET_SCRIPT, [], work, env)
    try:
        entity, project, run_id = child.expect("READY")
        with httpx.Client(base_url=server.url + "/api/v1", timeout=BOUND_TIMEOUT,
                          headers={"Authorization": f"Bearer {server.api_key}"}) as http:  # fmt: skip
            def visible(i: int) -> bool:
                response = http.get(f"/runs/{entity}/{project}/{run_id}")
                return response.status_code == 200 and response.json()["summary"].get("x") == i

            result = measure_delay(child, samples, visible)
    finally:
        result_code = child.close()
    return {**result, "script_exit": result_code}


def mlflow_delay(server: MlflowServer, work: Path, env: dict[str, str], samples: int) -> dict[str, Any]:
    child = Child(MLFLOW_SCRIPT, [server.url], work, env)
    try:
        (run_id,) = child.expect("READY")
        with httpx.Client(base_url=server.url, timeout=BOUND_TIMEOUT) as http:
            def visible(i: int) -> bool:
                response = http.get("/api/2.0/mlflow/metrics/get-history", params={"run_id": run_id, "metric_key": "x"})
                return response.status_code == 200 and any(
                    m.get("step", 0) == i for m in response.json().get("metrics", [])
                )

            result = measure_delay(child, samples, visible)
    finally:
        result_code = child.close()
    return {**result, "script_exit": result_code}


# --- the run -------------------------------------------------------------------------------


@dataclass
class Results:
    tracker: str
    version: str
    figures: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def source_revision() -> str:
    """The commit of the measured code, and whether src/ differs from it."""
    root = BENCH_DIR.parent

    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=root, capture_output=True, text=True, timeout=30, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = bool(git("status", "--porcelain", "--", "src"))
    except (OSError, subprocess.TimeoutExpired):
        return "unknown commit"
    if not commit:
        return "unknown commit"
    return f"commit {commit}" + (" + uncommitted changes in src/" if dirty else "")


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


class Workspace:
    """Temporary directories, each with its own HOME, removed at the end unless --keep."""

    def __init__(self, keep: bool) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="bench-server-"))
        self.keep = keep

    def env(self, name: str) -> tuple[Path, dict[str, str]]:
        tmp = self.root / name
        (tmp / "home").mkdir(parents=True)
        # no TRACKLET_* or MLFLOW_* settings of the caller's shell: they would point elsewhere
        base = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKLET_", "MLFLOW_"))}
        return tmp, {**base, **COMMON_ENV, "HOME": str(tmp / "home"), "PYTHONUNBUFFERED": "1"}

    def close(self) -> None:
        if self.keep:
            print(f"kept {self.root}", file=sys.stderr)
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def run_tracker(results: Results, server_cls: type[Server], space: Workspace, args: argparse.Namespace) -> None:
    """One fresh server for every figure of one tracker: started, settled, measured, stopped.

    The steps run in order on the same store: the ingest (then the store's size, so it
    holds only the ingested points), the chart data and its queries, the delay samples.
    A step that fails is reported and the next one still runs.
    """
    tmp, env = space.env(results.tracker)
    server = server_cls(tmp, env)
    tracklet = isinstance(server, TrackletServer)
    figures = results.figures

    def step(label: str, work: Callable[[], None]) -> None:
        started = time.perf_counter()
        print(f"  {results.tracker}: {label} ...", file=sys.stderr)
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - reported in the table's notes
            figures.setdefault("errors", []).append(f"{label}: {type(exc).__name__}: {exc}")
            print(f"  {results.tracker}: {label} failed: {exc}", file=sys.stderr)
        print(f"  {results.tracker}: {label}: {time.perf_counter() - started:.1f} s", file=sys.stderr)

    def start() -> None:
        server.start()
        figures["startup_s"] = server.startup_s
        figures["settle_s"] = server.settle()

    def ingest() -> None:
        keys = tuple(f"metric_{j}" for j in range(args.metrics))
        load = (tracklet_load if tracklet else mlflow_load)(server, "ingest", args.runs, args.steps, keys, "ingest")
        load.pop("run_ids", None)
        figures["ingest"] = load
        size = server.store_size()
        figures["store"] = {**size, "points": load["points"], "bytes_per_point": size["bytes"] / load["points"]}

    def chart() -> None:
        figures["chart"] = chart = {}
        sizes = {"mlflow_size": args.mlflow_chart_steps}
        if tracklet:
            sizes["full"] = args.chart_steps
        for label, steps in sizes.items():
            name = f"chart-{label.replace('_', '-')}"
            progress = f"chart data {args.chart_runs}×{steps:,}"
            if tracklet:
                load = tracklet_load(server, name, args.chart_runs, steps, (CHART_KEY,), progress)
                query = tracklet_chart(server, load, name, args.query_repeat)
            else:
                load = mlflow_load(server, name, args.chart_runs, steps, (CHART_KEY,), progress)
                query = mlflow_chart(server, load, args.query_repeat)
                load.pop("run_ids")
            chart[label] = {"load": load, "query": query}
        before = figures.get("store", {}).get("bytes")
        if before is not None:  # what the chart data (one metric per step) added to the store
            points = sum(c["load"]["points"] for c in chart.values())
            added = server.store_size()["bytes"] - before
            figures["chart_store"] = {"bytes_added": added, "points": points, "bytes_per_point": added / points}

    def delay() -> None:
        work = tmp / "script"
        work.mkdir(exist_ok=True)
        figures["delay"] = (tracklet_delay if tracklet else mlflow_delay)(server, work, env, args.delay_samples)

    try:
        step("start", start)
        if server.proc is None:
            results.error = "the server did not start: " + "; ".join(figures.get("errors", []))
            return
        step("ingest", ingest)
        step("chart", chart)
        step("delay", delay)
    finally:
        server.stop()


# --- the table ------------------------------------------------------------------------------


def get(results: Results, *path: str) -> Any:
    value: Any = results.figures
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def fmt(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def ratio(other: float | None, base: float | None, higher_is_better: bool = False) -> str:
    """How many times Tracklet is better: mlflow/tracklet, or tracklet/mlflow for rates."""
    if other is None or base is None or not (other if higher_is_better else base):
        return "—"
    value = base / other if higher_is_better else other / base
    return f"{value:,.1f}×" if value >= 1 else f"{value:.2g}×"


def table(tracklet: Results, mlflow: Results, args: argparse.Namespace) -> str:
    S = args.mlflow_chart_steps
    full = f"{args.chart_runs} runs × {args.chart_steps:,} steps"
    small = f"{args.chart_runs} runs × {S:,} steps"
    rows: list[tuple[str, Any, Any, int, str, bool, Callable[[float], bool] | None]] = [
        # label, tracklet value, mlflow value, digits, target text, higher is better, target check
        (f"ingest, {args.runs} runs × {args.steps:,} steps × {args.metrics} metrics (points/s)",
         get(tracklet, "ingest", "points_per_s"), get(mlflow, "ingest", "points_per_s"), 0, "≥ 300,000", True,
         lambda v: v >= 300_000),
        ("server CPU during the ingest (s)", get(tracklet, "ingest", "server_cpu_s"),
         get(mlflow, "ingest", "server_cpu_s"), 2, "", False, None),
        ("store bytes per point, after the ingest", get(tracklet, "store", "bytes_per_point"),
         get(mlflow, "store", "bytes_per_point"), 1, "≤ 16", False, lambda v: v <= 16),
        ("store bytes per point, chart data (1 metric per step) ²", get(tracklet, "chart_store", "bytes_per_point"),
         get(mlflow, "chart_store", "bytes_per_point"), 1, "", False, None),
        (f"chart query, {full}, {CHART_BUCKETS:,} buckets (s)", get(tracklet, "chart", "full", "query", "median_s"),
         None, 3, "< 0.5", False, lambda v: v < 0.5),
        (f"chart query, {small}, {CHART_BUCKETS:,} buckets (s) ¹",
         get(tracklet, "chart", "mlflow_size", "query", "median_s"),
         get(mlflow, "chart", "mlflow_size", "query", "median_s"), 3, "", False, None),
        (f"chart data load, {full}, 1 metric (points/s)", get(tracklet, "chart", "full", "load", "points_per_s"),
         None, 0, "", True, None),
        (f"chart data load, {small}, 1 metric (points/s)",
         get(tracklet, "chart", "mlflow_size", "load", "points_per_s"),
         get(mlflow, "chart", "mlflow_size", "load", "points_per_s"), 0, "", True, None),
        (f"delay from log to the API, median of {args.delay_samples} (s)", get(tracklet, "delay", "median_s"),
         get(mlflow, "delay", "median_s"), 3, "< 1", False, lambda v: v < 1),
        (f"delay from log to the API, max of {args.delay_samples} (s)", get(tracklet, "delay", "max_s"),
         get(mlflow, "delay", "max_s"), 3, "", False, None),
        ("server start until its health check answers (s)", get(tracklet, "startup_s"), get(mlflow, "startup_s"), 1,
         "", False, None),
    ]  # fmt: skip
    header = ["figure", "tracklet", "mlflow", "mlflow/tracklet", "tracklet target"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    tracklet_only = (f"chart query, {full},", f"chart data load, {full},")
    for label, base, other, digits, target, higher, check in rows:
        if label.startswith(tracklet_only) and S == args.chart_steps:
            continue  # the same size as MLflow's rows
        mark = "" if not target or base is None or check is None else (" ✓" if check(base) else " ✗")
        other_cell = fmt(other, digits)
        if label.startswith(tracklet_only) and not mlflow.error:
            other_cell = "not measured ¹"
        cells = [label, fmt(base, digits), other_cell, ratio(other, base, higher), target + mark]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def notes(tracklet: Results, mlflow: Results, args: argparse.Namespace) -> list[str]:
    S = args.mlflow_chart_steps
    mlflow_load_s = get(mlflow, "chart", "mlflow_size", "load", "wall_s")
    full_points = args.chart_runs * args.chart_steps
    rate = get(mlflow, "chart", "mlflow_size", "load", "points_per_s")
    full_time = f", so the full {full_points:,} points would take ~{full_points / rate / 60:,.0f} min" if rate else ""
    out = [
        (f"¹ MLflow's chart data is {args.chart_runs} runs × {S:,} steps, not {args.chart_steps:,}: loading it "
         f"through log_batch took {fmt(mlflow_load_s, 0)} s ({fmt(rate, 0)} points/s){full_time}. Its query time "
         f"is not scaled up; the like-for-like comparison is the {S:,}-step row, where Tracklet serves the same "
         f"{args.chart_runs} × {S:,} points. MLflow's query reads every stored point of a run in SQL (window "
         "functions), so its time grows with the steps"),
        (f"² what loading the chart data added to each store, divided by its points: Tracklet's {args.chart_runs} × "
         f"({args.chart_steps:,} + {S:,}) points, MLflow's {args.chart_runs} × {S:,}; with one metric per step, "
         "Tracklet's `_timestamp` and `_runtime` series weigh more per logged point"),
        "ratios are mlflow/tracklet for times and sizes and tracklet/mlflow for rates: >1× means Tracklet is better",
        (f"ingest: one client process, runs one after the other; Tracklet: handshake, then batches of "
         f"{BATCH_RECORDS:,} records (a START record, then one history record of all metrics per step), MessagePack "
         f"+ gzip as the agent sends them; MLflow: create_run, then MlflowClient.log_batch with {MLFLOW_BATCH:,} "
         "metrics per call. Points/s = logged points / wall time, HTTP round trips included. The chart data load "
         "rows are the same with one metric per step"),
        ("chart query: Tracklet: one GET /projects/…/series?key=loss&buckets=1000&runs=… for all the runs (M4: "
         "first, last, min and max of each bucket, ≤ 4 points per bucket); MLflow: GET get-history-bulk-interval with "
         "max_results=1000 and up to 100 run_ids per request (evenly sampled points). Median of "
         f"{args.query_repeat} repeats, JSON decoding included"),
        ("store bytes per point: the SQLite files (database, -wal, -shm) right after the ingest, the server idle, "
         "after a WAL checkpoint (TRUNCATE), divided by the logged points; they include each store's fixed size "
         "(an empty MLflow database is about 1.2 MB). Tracklet also stores `_timestamp` and `_runtime` series for "
         "every step, MLflow a timestamp per point and a latest_metrics table. Values are random doubles "
         "(incompressible mantissas)"),
        (f"delay: a real SDK process logs one value ({args.delay_samples} times, 50-250 ms apart); Tracklet: "
         "tracklet.init(project=...) online, then GET /api/v1/runs/{entity}/{project}/{run_id} until the summary "
         "holds it; MLflow: mlflow.log_metric (synchronous), then GET metrics/get-history until it is there. "
         f"Polled every {POLL_SECONDS * 1000:.0f} ms; the time is from log's return to the poll that saw it"),
        ("server CPU: user + system seconds of the server process and its children, from /proc; the machine's "
         f"{os.cpu_count()} CPUs are shared by the client and the server"),
        ("each tracker gets one fresh server, started and left alone until its processes are idle, then measured: "
         "ingest, store size, chart data and queries, delay; then stopped. Tracklet runs first, then MLflow. "
         "MLflow's server runs with MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false: its job runner (GenAI evaluation, "
         "scorers) plays no part in metric logging but would add busy processes and periodic tasks"),
    ]
    for r in (tracklet, mlflow):
        out += [f"{r.tracker} failed: {e}" for e in r.figures.get("errors", [])]
        if r.error and r.tracker in args.trackers.split(","):
            out.append(f"{r.tracker} dropped: {r.error}")
    return out


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=10, help="ingest: runs (default 10)")
    p.add_argument("--steps", type=int, default=10_000, help="ingest: steps per run (default 10,000)")
    p.add_argument("--metrics", type=int, default=10, help="ingest: metrics per step (default 10)")
    p.add_argument("--chart-runs", type=int, default=100, help="chart: runs (default 100, at most 100)")
    p.add_argument("--chart-steps", type=int, default=100_000, help="chart: steps per run for Tracklet (100,000)")
    p.add_argument("--mlflow-chart-steps", type=int, default=5_000,
                   help="chart: steps per run for MLflow, and for Tracklet's like-for-like row (default 5,000)")
    p.add_argument("--query-repeat", type=int, default=3, help="chart: repeats of each query (median)")
    p.add_argument("--delay-samples", type=int, default=20, help="delay: samples (median)")
    p.add_argument("--trackers", default="tracklet,mlflow", help="comma-separated subset of tracklet,mlflow")
    p.add_argument("--quick", action="store_true", help="smoke run: small sizes, under a minute")
    p.add_argument("--keep", action="store_true", help="keep the temporary stores and logs")
    p.add_argument("--out", type=Path, default=BENCH_DIR / "results", help="raw JSON folder")
    args = p.parse_args()
    if args.quick:
        args.runs, args.steps = 2, 1_000
        args.chart_runs, args.chart_steps, args.mlflow_chart_steps = 10, 10_000, 200
        args.query_repeat, args.delay_samples = 1, 5
    if not 1 <= args.chart_runs <= 100:
        p.error("--chart-runs must be 1 to 100")
    return args


def main() -> int:
    args = parse_args()
    wanted = args.trackers.split(",")
    tracklet = Results("tracklet", version("tracklet"))
    mlflow = Results("mlflow", version("mlflow"))
    classes: dict[str, type[Server]] = {"tracklet": TrackletServer, "mlflow": MlflowServer}
    everyone = [r for r in (tracklet, mlflow) if r.tracker in wanted]
    for r in (tracklet, mlflow):
        if r.tracker not in wanted:
            r.error = "not asked for (--trackers)"
        elif r.version == "not installed":
            r.error = f"not installed in {sys.executable}"
            print(f"skipping {r.tracker}: {r.error}", file=sys.stderr)

    space = Workspace(args.keep)
    started = time.time()
    load_before = os.getloadavg()
    try:
        for r in everyone:
            if not r.error:
                run_tracker(r, classes[r.tracker], space, args)
    finally:
        space.close()
    elapsed = time.time() - started

    info = (
        f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.platform()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; tracklet {tracklet.version} ({source_revision()}), "
        f"mlflow {mlflow.version} "
        f"(both on SQLite, one server process each, loopback HTTP); {elapsed:.0f} s in all; load average "
        f"{load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    md = table(tracklet, mlflow, args)
    footnotes = notes(tracklet, mlflow, args)
    print(f"\n{info}\n\n{md}\n\n" + "\n".join(f"- {n}" for n in footnotes) + "\n")

    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"server-{time.strftime('%Y%m%d-%H%M%S')}.json"
    raw = {
        "info": info,
        "args": {k: str(v) for k, v in vars(args).items()},
        "trackers": {r.tracker: {"version": r.version, "error": r.error, "figures": r.figures} for r in everyone},
        "table": md,
        "notes": footnotes,
    }
    out.write_text(json.dumps(raw, indent=2))
    print(f"raw results: {out}", file=sys.stderr)
    failed = tracklet.error or tracklet.figures.get("errors")
    return 1 if "tracklet" in wanted and failed else 0


if __name__ == "__main__":
    sys.exit(main())
