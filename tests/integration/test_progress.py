"""Long uploads show progress: ``tracklet sync`` and ``finish()``'s wait for the agent draw bars on a
terminal (read here from a real pseudo-terminal), print plain lines elsewhere, and nothing with
``TRACKLET_SILENT``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ServerProcess, api, run_dirs
from tests.faultproxy import FaultProxy
from tracklet.agent.display import format_bytes

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def in_terminal(argv: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 120,
                columns: int = 160) -> tuple[int, str]:
    """Run ``argv`` with a pseudo-terminal as its stdin, stdout and stderr: its exit code and what
    it wrote, escape sequences removed, carriage returns as line ends."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    process = subprocess.Popen(argv, cwd=cwd, stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                               env={**os.environ, "TERM": "xterm-256color", **(env or {})})
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 0.5)[0]:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every holder of the terminal's other end has gone
                break
            if not data:
                break
            chunks.append(data)
        else:
            process.kill()
            raise AssertionError(f"{argv} did not end within {timeout} s: {b''.join(chunks)!r}")
        code = process.wait(timeout=30)
    finally:
        os.close(master)
    text = ANSI.sub("", b"".join(chunks).decode("utf-8", errors="replace"))
    return code, text.replace("\r\n", "\n").replace("\r", "\n")


def tracklet(*args: str) -> list[str]:
    return [sys.executable, "-m", "tracklet.cli.main", *args]


@pytest.fixture
def offline_runs(run_script, workdir: Path) -> list[tuple[Path, int, int]]:  # type: ignore[no-untyped-def]
    """Two finished offline runs: (run directory, last record's seq, run log size)."""
    assert run_script(
        """
        import tracklet
        for run_id in ("alpha001", "beta0002"):
            run = tracklet.init(mode="offline", project="bars", id=run_id, reinit="create_new")
            for i in range(3000):
                run.log({"loss": 1 / (i + 1), "acc": i / 3000})
            run.finish()
        """,
        env={"TRACKLET_DISABLE_STATS": "true"},
    ).returncode == 0
    from tracklet.sdk import local

    found = []
    for run in run_dirs(workdir):
        last = local.read_records(run.log_path)[-1].seq
        found.append((run.dir, last, run.log_path.stat().st_size))
    return found


def uploaded(server: ServerProcess, run_id: str) -> bool:
    with api(server) as client:
        info = client.get(f"/runs/root/bars/{run_id}").json()
    return info.get("state") == "finished" and info["summary"]["_step"] == 2999


def test_sync_on_a_terminal_shows_bars_per_run_and_in_total(offline_runs, workdir: Path, server: ServerProcess) -> None:  # type: ignore[no-untyped-def]
    code, text = in_terminal(tracklet("sync"), workdir)
    assert code == 0, text
    for run_dir, last, size in offline_runs:
        run_id = run_dir.name[-8:]
        # the bar's line: run id and name, records, bytes of the run log (and its rate, unless the run
        # took too short a time to tell one: the total's line below has it)
        assert re.search(rf"{run_id} [\w-]+ .*100% {last:,}/{last:,} records +[\d.]+/{re.escape(format_bytes(size))}",
                         text), text
        # and the line it leaves: where it went, its records and bytes
        assert f"{run_dir}: synced to root/bars/" in text
        assert f"synced to root/bars/{run_id}: {last:,} records, {format_bytes(size)} in " in text
    total_records = sum(last for _, last, _ in offline_runs)
    assert re.search(rf"total \(2 of 2 runs\).*100%.*{total_records:,} records +[\d.]+/[\d.]+ [kM]B +[\d.]+ [kM]B/s",
                     text), text
    assert all(uploaded(server, run_id) for run_id in ("alpha001", "beta0002"))


def test_sync_elsewhere_prints_plain_lines(offline_runs, workdir: Path, server: ServerProcess) -> None:  # type: ignore[no-untyped-def]
    result = subprocess.run(tracklet("sync"), cwd=workdir, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\r" not in result.stdout and result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 3, lines
    for line, (run_dir, last, size) in zip(lines, offline_runs):
        assert line.startswith(f"{run_dir}: synced to root/bars/"), line
        assert f": {last:,} records, {format_bytes(size)} in " in line, line
    total = sum(last for _, last, _ in offline_runs)
    assert lines[2].startswith(f"total: 2 of 2 runs, {total:,} records, "), lines[2]


def test_sync_silent_prints_nothing(offline_runs, workdir: Path, server: ServerProcess) -> None:  # type: ignore[no-untyped-def]
    code, text = in_terminal(tracklet("sync"), workdir, env={"TRACKLET_SILENT": "1"})
    assert code == 0 and text == ""
    assert all(uploaded(server, run_id) for run_id in ("alpha001", "beta0002"))
    # errors still show
    code, text = in_terminal(tracklet("sync", "missing-folder"), workdir, env={"TRACKLET_SILENT": "1"})
    assert code == 2 and "missing-folder does not exist" in text


FINISH_SCRIPT = """
import tracklet
run = tracklet.init(project="slow", name="slow-upload", id="slow0001")
for i in range(2000):
    run.log({"loss": 1 / (i + 1)})
run.finish()
"""


@pytest.fixture
def slow_server(server: ServerProcess, workdir: Path) -> Iterator[FaultProxy]:
    """The server behind a proxy that holds every chunk 0.3 s: the agent is still uploading at finish."""
    with FaultProxy(server.port) as proxy:
        proxy.delay(0.3)
        yield proxy


def finish_env(proxy: FaultProxy, **extra: str) -> dict[str, str]:
    return {"TRACKLET_BASE_URL": proxy.url, "TRACKLET_DISABLE_STATS": "true", **extra}


def test_finish_on_a_terminal_shows_the_upload_bar(slow_server: FaultProxy, workdir: Path, server: ServerProcess) -> None:
    (workdir / "train.py").write_text(textwrap.dedent(FINISH_SCRIPT), encoding="utf-8")
    code, text = in_terminal([sys.executable, "train.py"], workdir, env=finish_env(slow_server))
    assert code == 0, text
    # the bar's last frame shows every record (rich rounds 2,002 of 2,004 to 100 % on the way)
    frames = re.findall(r"tracklet: run slow-upload .*?([\d,]+)/([\d,]+) records", text)
    assert frames and frames[-1][0] == frames[-1][1], text
    assert re.search(r"tracklet: run slow-upload: uploaded: [\d,]+ records, [\d.]+ kB in ", text), text
    with api(server) as client:
        assert client.get("/runs/root/slow/slow0001").json()["summary"]["_step"] == 1999


def test_finish_elsewhere_says_it_waits_in_plain_lines(slow_server: FaultProxy, workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script(FINISH_SCRIPT, env=finish_env(slow_server))
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stderr and "\r" not in result.stderr
    assert "tracklet: Waiting for the upload to finish (" in result.stderr
    assert re.search(r"^tracklet: run slow-upload: uploaded: [\d,]+ records, [\d.]+ kB in [\d.]+ s", result.stderr, re.M), \
        result.stderr


def test_finish_silent_prints_nothing(slow_server: FaultProxy, workdir: Path) -> None:
    (workdir / "train.py").write_text(textwrap.dedent(FINISH_SCRIPT), encoding="utf-8")
    code, text = in_terminal([sys.executable, "train.py"], workdir, env=finish_env(slow_server, TRACKLET_SILENT="1"))
    assert code == 0 and text == ""
