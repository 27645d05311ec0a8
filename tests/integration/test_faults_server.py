"""The server fails under a running upload: its disk fills up, or it is SIGKILLed inside a write
transaction (on SQLite and on PostgreSQL). Nothing half-stored is ever seen, and once the server is
back (or has room again) the agent completes the run with every point and console line once.
"""

from __future__ import annotations

import configparser
import errno
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import pytest

from tests.conftest import ServerProcess, api, free_port, only_run, start_script
from tests.postgres import PostgresServer
from tests.integration.test_faults_network import assert_run_complete, run_through_fault
from tests.integration.test_server_faults import assert_exactly_once, server_rows
from tests.integration.test_server_runs import wait_for
from tracklet.protocol import RECORDS_CONTENT_TYPE, RecordBatch
from tracklet.runlog import RecordType
from tracklet.runlog.records import encode
from tracklet.sdk import local


def start_server(tmp_path: Path, store_url: str, *extra_args: str) -> ServerProcess:
    """A real ``tracklet server`` over ``store_url``; this machine's client settings point at it
    (as the ``server`` fixture does, with the store and files where the test wants them)."""
    data_dir = tmp_path / "server-data"
    data_dir.mkdir(exist_ok=True)
    config_dir = tmp_path / "global-config"
    port = free_port()
    server = ServerProcess(f"http://127.0.0.1:{port}", port, data_dir, config_dir, "", store_url,
                           extra_args=extra_args)
    server.start()
    parser = configparser.ConfigParser()
    parser.read(config_dir / "settings")
    server.admin_key = parser["default"]["api_key"]
    return server


# -- the disk fills up ---------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB filesystem of its own (tmpfs), for the server's store and files."""
    if os.geteuid() != 0:
        pytest.fail("mounting a small tmpfs for the disk-full test needs root (CI runs as root)", pytrace=False)
    mount = tmp_path / "small-disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "--lazy", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk has no byte left; the file."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (1 << 20, 1 << 12, 1):
            chunk = b"\0" * size
            try:
                while True:
                    os.write(fd, chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def probe_while_full(server: ServerProcess) -> None:
    """What a client sees from a full server: 507 and a problem document, for a new run or for records."""
    with api(server) as client:
        opened = client.post("/runs", json={"project": "disk", "run_id": "probe001"})
        if opened.status_code == 200:  # the run's row fitted: a large batch cannot
            text = "x" * 1000
            batch = RecordBatch(first_seq=1, records=[
                encode(RecordType.OUTPUT, {"timestamp": 1.0, "stream": "stdout", "text": f"{n} {text}"})
                for n in range(4000)])
            opened = client.post("/runs/root/disk/probe001/records", content=msgspec.msgpack.encode(batch),
                                 headers={"Content-Type": RECORDS_CONTENT_TYPE})
    assert opened.status_code == 507, opened.text
    assert opened.headers["content-type"] == "application/json"
    problem = opened.json()
    assert problem["status"] == 507 and problem["title"] == "Insufficient Storage"
    assert "disk is full" in problem["detail"]


def run_until_full_then_freed(server: ServerProcess, workdir: Path, run_id: str, disk: Path) -> None:
    """A run whose upload meets a full disk on the server: refused with 507 while full (a probe
    batch is refused whole), then complete once the filler is deleted."""
    fillers: list[Path] = []

    def full_and_refused() -> bool:
        log = only_run(workdir).dir / "logs" / "agent.log"
        return log.exists() and "507 the server's disk is full" in log.read_text(encoding="utf-8")

    def free_space() -> None:
        probe_while_full(server)
        fillers.pop().unlink()

    printed = run_through_fault(workdir, run_id, "disk", lambda: fillers.append(fill(disk)),
                                full_and_refused, free_space)
    assert_run_complete(server, workdir, "disk", run_id, printed)
    with api(server) as client:  # the probe's records were refused whole
        probe = client.get("/runs/root/disk/probe001")
        if probe.status_code == 200:
            assert probe.json()["last_seq"] == 0
            assert client.get("/runs/root/disk/probe001/console").json()["lines"] == []


def test_disk_full_then_freed(small_disk: Path, tmp_path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = small_disk / "store.db"
    server = start_server(tmp_path, f"sqlite:///{store}", "--files", str(small_disk / "files"))
    try:
        run_until_full_then_freed(server, workdir, "diskfull", small_disk)
        with api(server) as client:
            files = client.get("/runs/root/disk/diskfull/files").json()
        assert "output.log" in [f["path"] for f in files]
        with sqlite3.connect(store) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert not list((small_disk / "files").rglob("*.tmp")), "no half-written file left behind"
    finally:
        server.stop()


@pytest.fixture
def small_tablespace(postgres_server: PostgresServer) -> Iterator[tuple[str, Path]]:
    """A database of the session's PostgreSQL whose tables live on a 24 MiB tmpfs of their own (a
    tablespace there): ``(url, mount)``. Its WAL stays on the cluster's disk, as where a production
    database's volume fills up: a write that needs a new page fails with SQLSTATE 53100 (disk_full)."""
    import psycopg

    if os.geteuid() != 0:
        pytest.fail("mounting a small tmpfs for the disk-full test needs root (CI runs as root)", pytrace=False)
    mount = Path(tempfile.mkdtemp(prefix="tracklet-pgdisk-"))  # the postgres user must reach it: not under tmp_path
    mount.chmod(0o755)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0755", "tmpfs", str(mount)], check=True)
    location = mount / "tablespace"
    location.mkdir()
    shutil.chown(location, "postgres", "postgres")
    name = f"small_{mount.name.rsplit('-', 1)[-1].lower()}"
    admin = postgres_server.admin_url()
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE TABLESPACE {name} LOCATION '{location}'")
            conn.execute(f"CREATE DATABASE {name} TABLESPACE {name}")
        yield postgres_server.admin_url(name), mount
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"DROP TABLESPACE IF EXISTS {name}")
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=False)
        shutil.rmtree(mount, ignore_errors=True)


def test_disk_full_then_freed_on_postgresql(small_tablespace: tuple[str, Path], tmp_path: Path, workdir: Path) -> None:
    url, disk = small_tablespace
    server = start_server(tmp_path, url)
    try:
        run_until_full_then_freed(server, workdir, "pgfull01", disk)
        # it was PostgreSQL that ran out of room (SQLSTATE 53100), answered as 507
        assert "could not extend file" in (server.data_dir / "server.log").read_text(errors="replace")
    finally:
        server.stop()


# -- SIGKILL inside a write transaction -------------------------------------------------------------------

KILLS = 4

# Many points a step, logged until the test has killed the server enough times: after each restart
# the agent has a backlog to send in large batches (thousands of records, one transaction each).
BUSY_SCRIPT = """
import os, time, tracklet
run = tracklet.init(project='kill', id={run_id!r}, settings={{'finish_timeout': 300}})
step = 0
while not os.path.exists('stop-logging'):
    run.log({{'value': step * 2, **{{f'k{{i}}': step + i for i in range(20)}}}})
    if step % 50 == 0:
        print(f'step {{step}}', flush=True)
    step += 1
    time.sleep(0.002)
print(f'steps {{step}}', flush=True)
run.finish()
"""


def sqlite_writing(path: Path) -> Callable[[], bool]:
    """Whether a write transaction holds the SQLite store now (``BEGIN IMMEDIATE`` would wait)."""
    def writing() -> bool:
        db = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc) or "busy" in str(exc), exc
            return True
        finally:
            db.close()
    return writing


def postgres_writing(url: str) -> Callable[[], bool]:
    """Whether another session of the database is inside a transaction that has written something."""
    import psycopg

    def writing() -> bool:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                               "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL").fetchone()
        return bool(row and row[0])
    return writing


def stored(store_url: str, run_id: str) -> tuple[int, list[int], list[str]]:
    """The run as the store holds it, read with the server down: (last_seq, history steps, stdout lines);
    the schema must be at this version's head."""
    from sqlalchemy import select

    from tracklet.server.store import context, database, history, schema

    engine = database.create(store_url)
    try:
        assert database.current_revision(engine) == database.head_revision()
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
            row = conn.execute(select(schema.runs).where(schema.runs.c.run_id == run_id)).one_or_none()
            if row is None:
                return 0, [], []
            steps = [r["_step"] for r in history.rows(conn, row)]
            lines = [line["text"] for line in context.read_lines(conn, row.pk, -1, 10_000_000)
                     if line["stream"] == "stdout"]
            return row.last_seq, steps, lines
    finally:
        engine.dispose()


def recorded_up_to(log_path: Path, last_seq: int) -> tuple[list[int], list[str]]:
    """What the run log holds up to ``last_seq``: (history steps, stdout lines)."""
    records = [r for r in local.read_records(log_path) if r.seq <= last_seq]
    steps = sorted({r.body["step"] for r in records if r.type is RecordType.HISTORY and r.body.get("data")})
    lines = [r.body["text"] for r in records if r.type is RecordType.OUTPUT and r.body.get("stream") == "stdout"]
    return steps, lines


def kill_inside_writes(server: ServerProcess, workdir: Path, run_id: str, writing: Callable[[], bool]) -> None:
    """Run the busy script; SIGKILL the server ``KILLS`` times while a write transaction is open, checking
    the store each time before restarting it; then let the run complete."""
    proc = start_script(workdir, BUSY_SCRIPT.format(run_id=run_id))
    assert proc.stdout is not None
    printed: list[str] = []
    reader = threading.Thread(target=lambda: printed.extend(line.rstrip("\n") for line in proc.stdout), daemon=True)
    reader.start()
    try:
        wait_for(lambda: len(printed) >= 2, timeout=60)
        run_dir = only_run(workdir).dir
        previous = 0
        for _ in range(KILLS):
            wait_for(lambda: stored_progress(server, run_id) > previous, timeout=120)
            wait_for(writing, timeout=120)
            server.process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
            server.process.wait(timeout=10)  # type: ignore[union-attr]
            last_seq, steps, lines = stored(server.store_url, run_id)
            expected_steps, expected_lines = recorded_up_to(run_dir / only_run(workdir).log_path.name, last_seq)
            assert steps == expected_steps, "history holds whole batches only"
            assert lines == expected_lines, "console lines hold whole batches only"
            acknowledged = msgspec.json.decode((run_dir / "upload.json").read_bytes())["acked_seq"]
            assert acknowledged <= last_seq, "everything the agent was told is stored, is stored"
            assert last_seq >= previous, "nothing committed was lost"
            previous = last_seq
            time.sleep(0.5)  # an outage the agent notices
            server.start()
        (workdir / "stop-logging").touch()
        assert proc.wait(timeout=300) == 0
        reader.join(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    total = int(printed[-1].split()[1])
    assert_exactly_once(server_rows(server, "kill", run_id), total)
    with api(server) as client:
        info = client.get(f"/runs/root/kill/{run_id}").json()
        console = client.get(f"/runs/root/kill/{run_id}/console", params={"limit": 10_000}).json()["lines"]
    assert info["state"] == "finished"
    assert [line["text"] for line in console if line["stream"] == "stdout"] == printed
    assert [line["line_no"] for line in console] == list(range(len(console)))
    log = (run_dir / "logs" / "agent.log").read_text(encoding="utf-8")
    assert log.count("upload failed") >= KILLS


def stored_progress(server: ServerProcess, run_id: str) -> int:
    with api(server) as client:
        response = client.get(f"/runs/root/kill/{run_id}")
        return response.json()["last_seq"] if response.status_code == 200 else 0


def test_server_killed_inside_writes_on_sqlite(server: ServerProcess, workdir: Path) -> None:
    kill_inside_writes(server, workdir, "sqlkill1", sqlite_writing(server.data_dir / "store.db"))


def test_server_killed_inside_writes_on_postgresql(postgres_server, tmp_path: Path, workdir: Path) -> None:  # type: ignore[no-untyped-def]
    url = postgres_server.create_database()
    server = start_server(tmp_path, url)
    try:
        kill_inside_writes(server, workdir, "pgkill01", postgres_writing(url))
    finally:
        server.stop()

