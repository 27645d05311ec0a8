"""A private PostgreSQL server for the test session, and a fresh database per test.

The cluster lives in a temporary directory, listens on 127.0.0.1 only (a free port, unix
socket in that directory, trust authentication), sorts text with ICU's en-US collation
(PostgreSQL 15 or later) and runs with ``fsync=off``: it holds nothing worth keeping.
``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` system
user. Debian's ``postgresql`` package provides the binaries (``.ci/run`` installs it);
without them the tests that need PostgreSQL fail, never skip.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BINARIES = "/usr/lib/postgresql/*/bin"
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",  # a crash loses a test database, nothing more
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


@dataclass
class PostgresServer:
    port: int
    _names: Iterator[int]

    def admin_url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; its ``postgresql://`` URL."""
        import psycopg

        name = f"tracklet_test_{next(self._names)}"
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.admin_url(name)


def _bin_dir() -> Path:
    """The newest installed PostgreSQL's binaries (Debian layout: /usr/lib/postgresql/<major>/bin)."""
    found = [Path(p).parent for p in glob.glob(f"{BINARIES}/initdb")]
    if not found:
        pytest.fail(
            f"PostgreSQL server binaries not found ({BINARIES}/initdb): the store conformance suite needs them. "
            "Install Debian's PostgreSQL: apt-get install -y --no-install-recommends postgresql",
            pytrace=False,
        )
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster for the whole test session, stopped (and deleted) at its end."""
    bin_dir = _bin_dir()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="tracklet-pg-"))  # not under pytest's root-only tmp dir
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    data, log = root / "data", root / "server.log"

    def run(*args: str) -> None:
        result = subprocess.run([*as_postgres, *args], check=False, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            server_log = log.read_text(errors="replace") if log.exists() else ""
            pytest.fail(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}{server_log}", pytrace=False)

    try:
        # a natural-language collation, as production clusters have: text orders differently than in SQLite
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--locale-provider=icu", "--icu-locale=en-US", "--locale=C.UTF-8", "--no-sync", "--no-instructions")
        port = _free_port()
        options = " ".join([f"-p {port}", f"-k {root}", *(f"-c {k}={v}" for k, v in SETTINGS.items())])
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
        yield PostgresServer(port, itertools.count())
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           check=False, capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """``postgresql://postgres@127.0.0.1:PORT/DB`` of a new, empty database for this test."""
    return postgres_server.create_database()
