"""Two `tracklet server` replicas over one PostgreSQL and one S3 bucket serve one deployment.

The agent talks to a round-robin balancer, so its batches alternate replicas; one replica is killed
mid-run and started again; every point and console line arrives once. A live client on one replica
sees a run uploaded through the other.
"""

from __future__ import annotations

import configparser
import json
import re
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.balancer import Balancer
from tests.conftest import ServerProcess, api, free_port, start_script
from tests.integration.test_server_runs import wait_for
from tests.s3 import S3Server

STEPS = 1500

SCRIPT = f"""
import time, tracklet
run = tracklet.init(project="replicas", name="alternating")
print(run.id, flush=True)
for step in range({STEPS}):
    run.log({{"loss": 1 / (step + 1), "acc": step / {STEPS}}})
    if step % 100 == 0:
        print(f"line {{step}}", flush=True)
    time.sleep(0.004)
run.finish()
print("done", flush=True)
"""


def _replicas(tmp_path: Path, store_url: str, files: str) -> list[ServerProcess]:
    servers = []
    for name in ("a", "b"):
        data_dir = tmp_path / f"replica-{name}"
        data_dir.mkdir()
        port = free_port()
        setup = () if name == "a" else ("--no-client-setup",)
        servers.append(ServerProcess(f"http://127.0.0.1:{port}", port, data_dir, tmp_path / "global-config", "",
                                     store_url, extra_args=("--files", files, *setup)))
    # started together: the migration lock lets one migrate while the other waits
    starters = [threading.Thread(target=s.start) for s in servers]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join()
    # whichever replica got there first created the administrator; B prints the key instead of saving it
    settings = configparser.ConfigParser()
    settings.read(tmp_path / "global-config" / "settings")
    printed = re.findall(r"API key \(shown once\): (\S+)", (servers[1].data_dir / "server.log").read_text())
    key = settings["default"]["api_key"] if settings.has_section("default") else printed[0]
    for server in servers:
        server.admin_key = key
    return servers


@pytest.fixture
def replicas(postgres_url: str, s3_server: S3Server, s3_bucket: str, tmp_path: Path, workdir: Path,  # type: ignore[no-untyped-def]
             monkeypatch: pytest.MonkeyPatch):
    for name, value in s3_server.environment().items():  # the replicas find the bucket as boto3 does
        monkeypatch.setenv(name, value)
    servers = _replicas(tmp_path, postgres_url, f"s3://{s3_bucket}/deployment")
    yield servers
    for server in servers:
        server.stop()


def test_agent_alternates_replicas_and_survives_one_dying(replicas: list[ServerProcess], workdir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = replicas
    balancer = Balancer([a.url, b.url], free_port())
    balancer.start()
    try:
        monkeypatch.setenv("TRACKLET_BASE_URL", balancer.url)
        monkeypatch.setenv("TRACKLET_API_KEY", a.admin_key)
        proc = start_script(workdir, SCRIPT)
        assert proc.stdout is not None
        run_id = proc.stdout.readline().strip()
        path = f"/runs/root/replicas/{run_id}"
        with api(b) as client:
            # some points are in before replica A dies
            wait_for(lambda: (client.get(path).json().get("summary", {}).get("_step") or 0) > 200)
        a.kill()
        time.sleep(1.5)
        a.start()
        rest = proc.communicate(timeout=120)[0]
        assert proc.returncode == 0 and rest.strip().endswith("done")

        record_posts = {replica for replica, method, p in balancer.served if method == "POST" and p.endswith("/records")}
        assert record_posts == {a.url, b.url}, "the agent's batches went to both replicas"
        for server in (a, b):
            with api(server) as client:
                info = client.get(path).json()
                assert info["state"] == "finished" and info["exit_code"] == 0
                rows = client.get(path + "/history", params={"limit": 10_000}).json()["rows"]
                assert [r["_step"] for r in rows] == list(range(STEPS))
                assert [r["loss"] for r in rows] == [1 / (s + 1) for s in range(STEPS)]
                lines = client.get(path + "/console").json()["lines"]
                assert [line["text"] for line in lines] == [run_id] + [f"line {s}" for s in range(0, STEPS, 100)]
        # The run's files, uploaded through either replica, are the same on both. The agent uploads
        # them once every record is acknowledged, which is when finish() returns: wait for the last.
        def listed(server: ServerProcess) -> set[str]:
            with api(server) as client:
                return {f["path"] for f in client.get(path + "/files").json()}

        wait_for(lambda: "output.log" in listed(a) and listed(a) == listed(b))
        files = {}
        for server in (a, b):
            with api(server) as client:
                files[server.url] = {name: client.get(f"{path}/files/{name}").content for name in listed(server)}
        assert files[a.url] == files[b.url]
    finally:
        balancer.stop()


def test_a_live_client_on_one_replica_sees_a_run_uploaded_to_the_other(replicas: list[ServerProcess],
                                                                        workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    a, b = replicas
    seen: list[dict] = []
    connected = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", f"{b.url}/api/v1/events", params={"entity": "root", "project": "live"},
                          headers={"Authorization": f"Bearer {b.admin_key}"}, timeout=60) as response:
            for line in response.iter_lines():
                connected.set()
                if line.startswith("data: "):
                    seen.extend(json.loads(line[6:])["runs"])
                    if any(r["state"] == "finished" for r in seen):
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert connected.wait(10)
    result = run_script(
        """
        import time, tracklet
        run = tracklet.init(project="live")
        for step in range(50):
            run.log({"x": step})
            time.sleep(0.04)
        run.finish()
        print(run.id)
        """,
        env={"TRACKLET_BASE_URL": a.url, "TRACKLET_API_KEY": a.admin_key},
    )
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.split()[-1]
    listener.join(30)
    assert not listener.is_alive(), f"replica B never said the run finished: {seen}"
    states = [r["state"] for r in seen if r["run_id"] == run_id]
    assert states[0] == "running" and states[-1] == "finished"
