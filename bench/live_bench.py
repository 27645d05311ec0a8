"""Live updates at scale: 0, 100 and 500 open ``/events`` streams on one replica while a run uploads.

One ``tracklet server`` over a throwaway PostgreSQL cluster (Debian's binaries, as tests/postgres.py
starts them), loopback only. For each client count: the clients connect (server-sent events, raw
asyncio sockets in this process); a quiet window (nothing uploads) counts the store queries of the
live feed and the server's CPU with the clients idle; then a run uploads (``--batches-per-second`` batches of 20 steps × 20 metrics for
``--seconds``) while every client records when each ``runs`` event arrives. The clients run in a
process of their own, so that reading 500 streams does not slow the uploader. Figures:

- store queries: statements PostgreSQL ran (``log_statement = all`` on the bench's database, read
  from the cluster's log), the feed's polls (``runs.updated_at >``) per second, quiet and uploading;
- server CPU (its process tree, user + system) per second of the quiet window and of the upload
  window, and its resident memory (RSS) at the end;
- delay: from the acknowledgement of an upload batch (the ingest committed) to a client reading the
  event that reports it (an event names the run's ``last_seq``; the first batch at or past it is the
  one meant), p50 / p99 over every client and event.

Usage: .venv/bin/python bench/live_bench.py [--clients 0,100,500] [--seconds 10] [--quiet-seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import concurrent.futures
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from postgres_cluster import cluster, create_database  # noqa: E402
from server_bench import TrackletServer, tree_cpu_seconds  # noqa: E402

POLL_SIGNATURE = "runs.updated_at >"  # the live feed's query (server/live.py changes_since)
STEPS_PER_BATCH = 20
METRICS = 20


class PostgresServer(TrackletServer):
    def __init__(self, tmp: Path, env: dict[str, str], store_url: str) -> None:
        super().__init__(tmp, env)
        self.store_url = store_url

    def command(self) -> list[str]:
        return [sys.executable, "-m", "tracklet.cli.main", "server", "--port", str(self.port), "--store", self.store_url]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class StatementLog:
    """Counts the statements PostgreSQL logged for the bench's database, from a byte offset on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.mark()

    def mark(self) -> None:
        self.offset = self.path.stat().st_size

    def since_mark(self) -> tuple[int, int]:
        """(statements, live-feed polls) logged since ``mark``."""
        with open(self.path, "rb") as log:
            log.seek(self.offset)
            text = log.read().decode("utf-8", "replace")
        statements = [part for part in text.split("LOG:  statement: ")[1:]]
        polls = sum(POLL_SIGNATURE in s and "projects.entity_id = " not in s for s in statements)
        return len(statements), polls


class Clients:
    """``count`` server-sent event streams on one asyncio loop in a thread; ``arrivals`` per client."""

    def __init__(self, port: int, key: str, entity: str, project: str, count: int) -> None:
        self.port, self.key, self.entity, self.project, self.count = port, key, entity, project, count
        self.arrivals: list[list[tuple[float, int]]] = [[] for _ in range(count)]  # (monotonic, last_seq)
        self.connected = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.tasks: list[concurrent.futures.Future[None]] = []

    def start(self, timeout: float = 120) -> None:
        self.thread.start()
        self.tasks = [asyncio.run_coroutine_threadsafe(self.client(i), self.loop) for i in range(self.count)]
        deadline = time.monotonic() + timeout
        while self.connected < self.count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {self.connected} of {self.count} clients connected")
            failed = [t.exception() for t in self.tasks if t.done() and t.exception()]
            if failed:
                raise RuntimeError(f"a client failed: {failed[0]!r}")
            time.sleep(0.05)

    async def client(self, index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write((f"GET /api/v1/events?entity={self.entity}&project={self.project} HTTP/1.1\r\n"
                      f"Host: 127.0.0.1\r\nAuthorization: Bearer {self.key}\r\nAccept: text/event-stream\r\n\r\n")
                     .encode())
        await writer.drain()
        mine = self.arrivals[index]
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                if line.startswith(b": connected"):
                    self.connected += 1
                elif line.startswith(b"data: "):
                    now = time.monotonic()
                    for run in json.loads(line[6:])["runs"]:
                        mine.append((now, run["last_seq"]))
        finally:
            writer.close()

    def stop(self) -> None:
        async def shutdown() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def client_process(conn: Any, port: int, key: str, entity: str, project: str, count: int) -> None:
    """The clients, in a child process: "connected" once all are, then their arrivals when told to stop."""
    clients = Clients(port, key, entity, project, count)
    try:
        clients.start()
        conn.send("connected")
        conn.recv()
    except Exception as exc:  # told to the parent, which stops
        conn.send(f"failed: {exc!r}")
        return
    clients.stop()
    conn.send(clients.arrivals)


def upload(server: PostgresServer, project: str, run_id: str, seconds: float, rate: float) -> tuple[str, list[tuple[int, float]]]:
    """A run uploading ``rate`` batches a second for ``seconds``; (entity, [(last_seq, acknowledged at)])."""
    from tracklet.protocol import RecordBatch, RunHandshake
    from tracklet.runlog.records import RecordType, encode, encode_history

    api = server.transport()
    entity = api.call("POST", "/runs", RunHandshake(project=project, run_id=run_id))["entity"]
    start = {"run_id": run_id, "project": project, "entity": entity, "mode": "online", "name": run_id, "notes": None,
             "tags": [], "group": "", "job_type": "", "start_time": time.time(), "starting_step": 0,
             "runtime_offset": 0.0, "resumed": False, "resume": None, "branch": None, "restore": None}
    path = f"/runs/{entity}/{project}/{run_id}/records"
    acks: list[tuple[int, float]] = []
    records, seq, step = [encode(RecordType.START, start)], 1, 0
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        due = began + len(acks) / rate
        time.sleep(max(0.0, due - time.monotonic()))
        for _ in range(STEPS_PER_BATCH):
            records.append(encode_history(step, time.time(), True, {f"m{k}": step * 0.1 + k for k in range(METRICS)}))
            step += 1
        ack = api.send_records(path, RecordBatch(first_seq=seq, records=records))
        acks.append((ack["last_seq"], time.monotonic()))
        seq, records = ack["last_seq"] + 1, []
    return entity, acks


def delays(arrivals: list[list[tuple[float, int]]], acks: list[tuple[int, float]]) -> list[float]:
    seqs = [s for s, _ in acks]
    found = []
    for mine in arrivals:
        for at, last_seq in mine:
            i = bisect.bisect_left(seqs, last_seq)
            if i < len(acks) and acks[i][0] == last_seq:
                found.append(at - acks[i][1])
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def phase(server: PostgresServer, log: StatementLog, entity: str, count: int, args: argparse.Namespace) -> str:
    project = f"live{count}"
    assert server.proc is not None
    pid = server.proc.pid
    api = server.transport()
    api.call("POST", "/runs", {"project": project, "run_id": "warmup"})  # the project exists for the streams
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.Process(target=client_process, args=(theirs, server.port, server.api_key, entity, project,
                                                                 count), daemon=True)
    child.start()
    try:
        if (said := ours.recv()) != "connected":
            raise RuntimeError(said)
        time.sleep(1.0)  # subscriptions' first queries done
        log.mark()
        quiet_cpu0 = tree_cpu_seconds(pid)
        time.sleep(args.quiet_seconds)
        quiet_cpu = (tree_cpu_seconds(pid) - quiet_cpu0) / args.quiet_seconds
        quiet_statements, quiet_polls = log.since_mark()
        log.mark()
        window = time.monotonic()
        cpu0, began = tree_cpu_seconds(pid), time.monotonic()
        _, acks = upload(server, project, f"run{count}", args.seconds, args.batches_per_second)
        elapsed = time.monotonic() - began
        time.sleep(1.5)  # the last events on their way
        cpu = (tree_cpu_seconds(pid) - cpu0) / elapsed
        statements, polls = log.since_mark()
        window = time.monotonic() - window
        rss = rss_mib(pid)
        ours.send("stop")
        found = delays(ours.recv(), acks)
    finally:
        child.join(30)
        if child.is_alive():
            child.kill()
    delay = (f"delay p50 {percentile(found, 0.5) * 1000:6.0f} ms  p99 {percentile(found, 0.99) * 1000:6.0f} ms "
             f"({len(found)} events)") if count else "delay -"
    return (f"{count:4} clients: quiet {quiet_polls / args.quiet_seconds:4.1f} polls/s "
            f"({quiet_statements / args.quiet_seconds:5.1f} statements/s), CPU {quiet_cpu * 100:4.1f} %; "
            f"uploading {len(acks)} batches: "
            f"{polls / window:4.1f} polls/s ({statements / window:5.1f} statements/s), "
            f"server CPU {cpu * 100:5.1f} %, RSS {rss:5.0f} MiB, {delay}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="0,100,500")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--quiet-seconds", type=float, default=5.0)
    parser.add_argument("--batches-per-second", type=float, default=5.0)
    args = parser.parse_args()
    report = []
    with cluster() as admin, tempfile.TemporaryDirectory(prefix="tracklet-live-bench-") as tmp:
        url = create_database(admin, "live_bench")
        import psycopg

        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("ALTER DATABASE live_bench SET log_statement = 'all'")
            data_dir = Path(str(conn.execute("SHOW data_directory").fetchone()[0]))  # type: ignore[index]
        log = StatementLog(data_dir.parent / "log")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKLET_")}
        server = PostgresServer(Path(tmp), env, url)
        server.start()
        try:
            entity = server.transport().call("POST", "/runs", {"project": "setup", "run_id": "setup"})["entity"]
            for count in (int(c) for c in args.clients.split(",")):
                report.append(phase(server, log, entity, count, args))
                print(report[-1], flush=True)
            time.sleep(2.0)  # every client has gone: the feed stops polling
            log.mark()
            time.sleep(args.quiet_seconds)
            report.append(f"after the clients left: {log.since_mark()[1] / args.quiet_seconds:.1f} polls/s")
        finally:
            server.stop()
    print(f"\none replica over PostgreSQL, {args.batches_per_second:g} batches/s × {STEPS_PER_BATCH} steps × "
          f"{METRICS} metrics for {args.seconds:g} s per row, {os.cpu_count()} CPUs, loadavg {os.getloadavg()[0]:.1f}")
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
