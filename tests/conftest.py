"""Shared fixtures: real user scripts in real subprocesses, and reading back what they recorded."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from tracklet.runlog import RunState, state
from tracklet.sdk import local


@dataclass
class ScriptResult:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, no TRACKLET_* variables, and a private global config dir."""
    for key in list(os.environ):
        if key.startswith("TRACKLET_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TRACKLET_CONFIG_DIR", str(tmp_path / "global-config"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def run_script(workdir: Path):  # type: ignore[no-untyped-def]
    """Run Python code as a user script (``train.py`` in the work dir) in a fresh interpreter."""

    def run(code: str, env: dict[str, str] | None = None, name: str = "train.py", timeout: float = 60) -> ScriptResult:
        script = workdir / name
        script.write_text(textwrap.dedent(code), encoding="utf-8")
        full_env = {**os.environ, **(env or {})}
        proc = subprocess.run(
            [sys.executable, str(script)], cwd=workdir, env=full_env, capture_output=True, text=True, timeout=timeout
        )
        return ScriptResult(proc.returncode, proc.stdout, proc.stderr)

    return run


def start_script(workdir: Path, code: str, name: str = "train.py", stdin: bool = False) -> subprocess.Popen[str]:
    """Start Python code as a user script in ``workdir`` without waiting: its stdout is a pipe the
    test reads (a script prints what it has done, so the test knows when to act)."""
    (workdir / name).write_text(textwrap.dedent(code), encoding="utf-8")
    return subprocess.Popen([sys.executable, name], cwd=workdir, stdout=subprocess.PIPE, text=True,
                            stdin=subprocess.PIPE if stdin else None)


def run_dirs(root: Path) -> list[local.LocalRun]:
    """The run directories under ``root/tracklet``, oldest first."""
    return local.list_runs(root / "tracklet")


def only_run(root: Path) -> local.LocalRun:
    runs = run_dirs(root)
    assert len(runs) == 1, f"expected one run, found {[r.dir.name for r in runs]}"
    return runs[0]


def history_rows(log_path: Path) -> list[dict]:
    """The committed rows of a run log, as a user sees them: merged per step, with ``_step``."""
    return state.history_rows(local.read_records(log_path))


def state_of(run: local.LocalRun) -> RunState:
    return local.read_state(run.log_path)


# -- a real tracklet server ------------------------------------------------------------------


@dataclass
class ServerProcess:
    url: str
    port: int
    data_dir: Path
    config_dir: Path
    admin_key: str
    store_url: str
    process: subprocess.Popen[str] | None = None
    extra_args: tuple[str, ...] = ()

    def start(self) -> None:
        """Start (or restart) ``tracklet server`` on the same port and store."""
        import time

        import httpx

        env = {**os.environ, "TRACKLET_DATA_DIR": str(self.data_dir), "TRACKLET_CONFIG_DIR": str(self.config_dir)}
        log = open(self.data_dir / "server.log", "a")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tracklet.cli.main", "server", "--port", str(self.port), "--store", self.store_url,
             *self.extra_args],
            env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError((self.data_dir / "server.log").read_text())
            time.sleep(0.05)
        raise RuntimeError("tracklet server did not become healthy in 30 s")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A real ``tracklet server`` with a fresh SQLite store; this machine's client settings point at it."""
    import configparser

    data_dir = tmp_path / "server-data"
    data_dir.mkdir()
    config_dir = tmp_path / "global-config"
    port = free_port()
    proc = ServerProcess(f"http://127.0.0.1:{port}", port, data_dir, config_dir, "", f"sqlite:///{data_dir / 'store.db'}")
    proc.start()
    parser = configparser.ConfigParser()
    parser.read(config_dir / "settings")
    proc.admin_key = parser["default"]["api_key"]
    assert parser["default"]["base_url"] == proc.url
    yield proc
    proc.stop()


@pytest.fixture
def proxy(server: ServerProcess, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A fault proxy (``tests/faultproxy.py``) in front of the server; user scripts started by the
    test reach the server through it."""
    from tests.faultproxy import FaultProxy

    with FaultProxy(server.port) as running:
        monkeypatch.setenv("TRACKLET_BASE_URL", running.url)
        yield running


def api(server: ServerProcess, key: str | None = None):  # type: ignore[no-untyped-def]
    """An HTTP client for the server's API as the holder of ``key`` (default: the administrator)."""
    import httpx

    headers = {"Authorization": f"Bearer {key or server.admin_key}"} if key != "" else {}
    return httpx.Client(base_url=server.url + "/api/v1", headers=headers, timeout=30)
from tests.postgres import postgres_server, postgres_url  # noqa: E402,F401 - fixtures for every test module
from tests.s3 import s3_bucket, s3_server  # noqa: E402,F401 - fixtures for every test module


@pytest.fixture(autouse=True)
def _no_run_leaks():  # type: ignore[no-untyped-def]
    """Tests that call ``tracklet.init`` in this process start with no active run, and a run a
    failing test left open is finished, so that it cannot leak into the next test."""
    from tracklet.sdk import lifecycle

    for run in reversed(lifecycle.active()):
        run.finish()
    yield
    for run in reversed(lifecycle.active()):
        run.finish()
