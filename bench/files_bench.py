"""The file store: an artifact put and fetched through a real ``tracklet server``, files on a local
disk against an S3 bucket (SeaweedFS on loopback, as ``tests/s3.py`` starts it), downloads proxied
and presigned.

For each mode: a fresh server on SQLite, ``tracklet artifact put`` of one file of ``--mib`` MiB
(default 256; random bytes, so more than one 64 MiB part: resumable parts joined by the server),
then ``tracklet artifact get`` of it (checked byte for byte). Reported: the wall time of each
command (a new Python process each, so about a second of start-up is included) as MB/s, and the
server's peak resident memory (VmHWM) against its memory once it answered: uploads and downloads
are streamed, so the growth should stay far below the file's size.

Usage: .venv/bin/python bench/files_bench.py [--mib 256]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.s3 import seaweedfs  # noqa: E402


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def memory_kib(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M).group(1))  # type: ignore[union-attr]


def one_mode(name: str, files: str, extra: list[str], env: dict[str, str], source: Path, work: Path) -> dict[str, float]:
    data = work / name
    data.mkdir()
    port = free_port()
    server_env = {**env, "TRACKLET_DATA_DIR": str(data), "TRACKLET_CONFIG_DIR": str(data / "config")}
    log = open(data / "server.log", "w")  # noqa: SIM115 - closed with the process
    server = subprocess.Popen([sys.executable, "-m", "tracklet.cli.main", "server", "--port", str(port),
                               "--store", f"sqlite:///{data / 'store.db'}", "--no-client-setup", "--files", files,
                               *extra], env=server_env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((data / "server.log").read_text())
            time.sleep(0.1)
        key = re.findall(r"API key \(shown once\): (\S+)", (data / "server.log").read_text())[0]
        at_start = memory_kib(server.pid, "VmRSS")
        client_env = {**env, "TRACKLET_BASE_URL": url, "TRACKLET_API_KEY": key, "TRACKLET_SILENT": "1",
                      "TRACKLET_CONFIG_DIR": str(data / "client")}

        def cli(*args: str) -> float:
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "tracklet.cli.main", *args], env=client_env, cwd=work,
                                  capture_output=True, text=True, timeout=1800)
            if done.returncode != 0:
                raise RuntimeError(f"{args}: {done.stdout}{done.stderr}")
            return time.perf_counter() - started

        put = cli("artifact", "put", str(source), "--name", "weights", "--type", "model", "--project", "bench")
        get = cli("artifact", "get", "bench/weights:v0", "--root", str(data / "fetched"))
        fetched = data / "fetched" / source.name
        if hashlib.sha256(fetched.read_bytes()).digest() != hashlib.sha256(source.read_bytes()).digest():
            raise RuntimeError(f"{name}: the fetched file differs")
        fetched.unlink()
        peak = memory_kib(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"put": put, "get": get, "start_mib": at_start / 1024, "peak_mib": peak / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=256, help="size of the artifact file in MiB (default 256)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracklet-files-bench-") as folder, seaweedfs() as s3:
        work = Path(folder)
        source = work / "weights.bin"
        with open(source, "wb") as f:
            for _ in range(args.mib):
                f.write(os.urandom(1024 * 1024))
        env = {**os.environ, **s3.environment()}
        modes = [("local directory", "files", []),
                 ("S3, proxied", f"s3://{s3.create_bucket()}/bench", []),
                 ("S3, presigned", f"s3://{s3.create_bucket()}/bench", ["--files-download", "presigned"])]
        megabytes = args.mib * 1024 * 1024 / 1e6
        print(f"artifact of {args.mib} MiB, one put and one get each (MB/s include ~1 s of CLI start-up)")
        print(f"{'files':<18}{'put MB/s':>10}{'get MB/s':>10}{'server RSS at start':>21}{'peak':>8}{'growth':>8}")
        for name, files, extra in modes:
            if files == "files":
                files = str(work / "local-files")
            found = one_mode(name.split(",")[0].replace(" ", "-") + str(len(extra)), files, extra, env, source, work)
            print(f"{name:<18}{megabytes / found['put']:>10.0f}{megabytes / found['get']:>10.0f}"
                  f"{found['start_mib']:>17.0f} MiB{found['peak_mib']:>4.0f} MiB"
                  f"{found['peak_mib'] - found['start_mib']:>4.0f} MiB")


if __name__ == "__main__":
    main()
