"""``tracklet server --files s3://bucket/prefix`` end to end: a real script's media, config file and
artifact go to a real S3 server (SeaweedFS, ``tests/s3.py``), come back byte-identical through
``tracklet.Api`` (streamed through the server, then by presigned URL), and leave the bucket when
their run is deleted and their blob collected."""

from __future__ import annotations

import configparser
import hashlib
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import tracklet
from tests.conftest import ServerProcess, api, free_port, only_run
from tests.faultproxy import FaultProxy
from tests.s3 import S3Server

SCRIPT = """
import pathlib, numpy as np, tracklet
pathlib.Path("weights.bin").write_bytes(bytes(range(256)) * 40_000)  # 10 MB: a multipart upload to the bucket
run = tracklet.init(project="bucketed", id="s3run001", config={"lr": 0.125})  # saves files/config.yaml
run.log({"sample": tracklet.Image(np.arange(300, dtype=np.uint8).reshape(10, 10, 3)), "loss": 0.5})
weights = tracklet.Artifact("weights", type="model")
weights.add_file("weights.bin")
run.log_artifact(weights)
run.finish()
"""
WEIGHTS = bytes(range(256)) * 40_000


class RecordingProxy(FaultProxy):
    """A TCP proxy in front of the S3 server that keeps the head of every request passed on."""

    def __init__(self, target_port: int) -> None:
        super().__init__(target_port)
        self.heads: list[bytes] = []

    def _fault_for(self, head: bytes):  # type: ignore[no-untyped-def]
        self.heads.append(head)
        return super()._fault_for(head)


def s3_server_process(tmp_path: Path, name: str, files: str, store_url: str, *args: str) -> ServerProcess:
    data_dir = tmp_path / name
    data_dir.mkdir()
    port = free_port()
    server = ServerProcess(f"http://127.0.0.1:{port}", port, data_dir, tmp_path / "global-config", "", store_url,
                           extra_args=("--files", files, *args))
    server.start()
    return server


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    for variable, value in s3_server.environment().items():
        monkeypatch.setenv(variable, value)
    return s3_server


def admin_key(tmp_path: Path) -> str:
    settings = configparser.ConfigParser()
    settings.read(tmp_path / "global-config" / "settings")
    return settings["default"]["api_key"]


def test_files_media_and_artifacts_live_in_the_bucket(s3_env: S3Server, s3_bucket: str, tmp_path: Path,
                                                      workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    server = s3_server_process(tmp_path, "proxied", f"s3://{s3_bucket}/team", store_url)
    try:
        server.admin_key = admin_key(tmp_path)
        result = run_script(SCRIPT, timeout=120)
        assert result.returncode == 0, result.stderr
        local_files = only_run(workdir).dir / "files"
        keys = s3_env.keys(s3_bucket)
        assert not [k for k in keys if not k.startswith("team/")]  # everything under the prefix
        weights = hashlib.sha256(WEIGHTS).hexdigest()
        assert f"team/blobs/{weights[:2]}/{weights}" in keys
        [config_key] = [k for k in keys if k.endswith("/config.yaml")]
        run_prefix = config_key.removesuffix("config.yaml")
        assert any(k.startswith(run_prefix + "media/images/") for k in keys)

        with tracklet.Api() as client:
            run = client.run("bucketed/s3run001")
            names = [f.name for f in run.files()]
            assert "config.yaml" in names and any(n.startswith("media/images/") for n in names)
            for file in run.files():
                saved = Path(file.download(str(workdir / "proxied")))
                assert saved.read_bytes() == (local_files / file.name).read_bytes(), file.name
            fetched = client.artifact("bucketed/weights:v0").download(str(workdir / "weights-proxied"))
            assert (Path(fetched) / "weights.bin").read_bytes() == WEIGHTS

        with api(server) as http:  # Range requests are answered from the bucket too
            ranged = http.get("/artifacts/root/bucketed/weights/v0/files/weights.bin",
                              headers={"Range": "bytes=256-511"})
            assert ranged.status_code == 206 and ranged.content == bytes(range(256))
            assert ranged.headers["content-range"] == f"bytes 256-511/{len(WEIGHTS)}"
            assert http.get("/runs/root/bucketed/s3run001/files/config.yaml",
                            headers={"Tracklet-Accept-Redirect": "1"}).status_code == 200  # proxied: no redirect
    finally:
        server.stop()

    # the same deployment, its downloads by presigned URL, the bucket reached through a recording proxy
    proxy = RecordingProxy(int(s3_env.endpoint.rsplit(":", 1)[1])).start()
    server = s3_server_process(tmp_path, "presigned", f"s3://{s3_bucket}/team", store_url, "--no-client-setup",
                               "--files-download", "presigned", "--s3-endpoint-url", proxy.url)
    try:
        server.admin_key = admin_key(tmp_path)
        with tracklet.Api(base_url=server.url, api_key=server.admin_key) as client:
            run = client.run("bucketed/s3run001")
            saved = Path(run.file("config.yaml").download(str(workdir / "presigned")))
            assert saved.read_bytes() == (local_files / "config.yaml").read_bytes()
            assert "0.125" in saved.read_text()
            fetched = client.artifact("bucketed/weights:v0").download(str(workdir / "weights-presigned"))
            assert (Path(fetched) / "weights.bin").read_bytes() == WEIGHTS
        fetches = [h for h in proxy.heads if h.startswith(b"GET ") and b"X-Amz-Signature=" in h]
        assert len(fetches) >= 2  # the two downloads came from the bucket, by presigned URL
        assert not [h for h in fetches if server.admin_key.encode() in h or b"authorization:" in h.lower()]

        with api(server) as http:
            redirected = http.get("/runs/root/bucketed/s3run001/files/config.yaml",
                                  headers={"Tracklet-Accept-Redirect": "1"})
            assert redirected.status_code == 307 and redirected.headers["location"].startswith(proxy.url)
            for_the_ui = http.get("/runs/root/bucketed/s3run001/files/config.yaml")  # no header: streamed
            assert for_the_ui.status_code == 200 and for_the_ui.content == saved.read_bytes()

            # deleting the run deletes its files in the bucket; gc deletes the blob no version references
            with tracklet.Api(base_url=server.url, api_key=server.admin_key) as client:
                client.run("bucketed/s3run001").delete()
                client.artifact("bucketed/weights:v0").delete(delete_aliases=True)
            assert not [k for k in s3_env.keys(s3_bucket) if k.startswith(run_prefix)]
            collected = http.post("/admin/artifacts/gc", params={"older_than": 0})
            assert collected.status_code == 200 and collected.json()["blobs"] == 1
            assert s3_env.keys(s3_bucket, "team/blobs/") == []
    finally:
        server.stop()
        proxy.stop()


def start_failure(tmp_path: Path, *args: str, env: dict[str, str]) -> str:
    """What ``tracklet server`` says when it refuses to start (it must exit, not listen)."""
    answer = subprocess.run([sys.executable, "-m", "tracklet.cli.main", "server", "--port", str(free_port()),
                             "--store", f"sqlite:///{tmp_path / 'refused.db'}", "--no-client-setup", *args],
                            env={**env, "TRACKLET_DATA_DIR": str(tmp_path / "data")},
                            capture_output=True, text=True, timeout=120)
    assert answer.returncode != 0
    return answer.stderr


def test_the_server_refuses_to_start_on_a_bucket_it_cannot_use(s3_env: S3Server, s3_bucket: str,
                                                              tmp_path: Path) -> None:
    import os

    env = dict(os.environ)
    missing = start_failure(tmp_path, "--files", "s3://no-such-bucket/x", env=env)
    assert "the bucket 'no-such-bucket' does not exist" in missing and "--files" in missing
    wrong = start_failure(tmp_path, "--files", f"s3://{s3_bucket}", env={**env, "AWS_SECRET_ACCESS_KEY": "wrong"})
    assert "refused the credentials" in wrong and "AWS_SECRET_ACCESS_KEY" in wrong
    not_s3 = start_failure(tmp_path, "--s3-endpoint-url", f"http://127.0.0.1:{free_port()}", env=env)
    assert "the --s3-* options need --files s3://bucket/prefix" in not_s3
    env_files = {**env, "TRACKLET_FILES": f"s3://{s3_bucket}"}
    down = start_failure(tmp_path, "--s3-endpoint-url", f"http://127.0.0.1:{free_port()}", env=env_files)
    assert "cannot reach S3" in down and "--s3-endpoint-url" in down
    no_directory = start_failure(tmp_path, "--files", "/proc/no-such/files", env=env)  # even root cannot
    assert "--files /proc/no-such/files: cannot create the directory" in no_directory
    bad_mode = start_failure(tmp_path, env={**env_files, "TRACKLET_FILES_DOWNLOAD": "sometimes"})
    assert "--files-download must be one of proxy, presigned" in bad_mode
    assert not (tmp_path / "refused.db").exists()  # refused before the store was made


def test_a_failing_bucket_is_a_503_and_the_same_upload_succeeds_once_it_is_back(
        s3_env: S3Server, s3_bucket: str, tmp_path: Path) -> None:
    proxy = FaultProxy(int(s3_env.endpoint.rsplit(":", 1)[1])).start()
    server = s3_server_process(tmp_path, "cut", f"s3://{s3_bucket}", f"sqlite:///{tmp_path / 'store.db'}",
                               "--s3-endpoint-url", proxy.url)
    try:
        server.admin_key = admin_key(tmp_path)
        body = b"weights" * 1000
        digest = hashlib.sha256(body).hexdigest()
        with api(server) as http:
            proxy.cut()  # the network to the bucket is gone
            failed = http.put(f"/blobs/{digest}", content=body)
            assert failed.status_code == 503, failed.text
            assert "file store (S3) failed; retry later" in failed.json()["detail"]
        proxy.passing()
        with api(server) as http:  # a new connection: the server closes one whose request raised
            assert http.put(f"/blobs/{digest}", content=body).status_code == 201  # what an agent's retry does
        assert s3_env.keys(s3_bucket) == [f"blobs/{digest[:2]}/{digest}"]
    finally:
        server.stop()
        proxy.stop()
