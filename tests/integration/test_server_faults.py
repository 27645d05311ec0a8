"""Faults lose nothing: every committed point is on the server exactly once afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ServerProcess, api, history_rows, only_run, start_script, state_of
from tests.integration.test_server_runs import wait_for


def server_rows(server: ServerProcess, project: str, run_id: str) -> list[dict]:
    with api(server) as client:
        response = client.get(f"/runs/root/{project}/{run_id}/history")
        assert response.status_code == 200, response.text
        return response.json()["rows"]


def sync(server: ServerProcess, *paths: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tracklet.cli.main", "sync", *paths], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def assert_exactly_once(rows: list[dict], steps: int) -> None:
    assert [r["_step"] for r in rows] == list(range(steps))
    assert all(r["value"] == r["_step"] * 2 for r in rows)


def test_server_killed_and_restarted_mid_run(server: ServerProcess, workdir: Path) -> None:
    proc = start_script(workdir, """
        import time, tracklet
        run = tracklet.init(project='faults', id='restart1', settings={'finish_timeout': 60})
        for step in range(300):
            run.log({'value': step * 2})
            if step % 10 == 0:
                print(step, flush=True)
            time.sleep(0.01)
        run.finish()
        """)
    assert proc.stdout is not None
    for line in proc.stdout:
        if int(line) >= 60:
            break
    server.kill()
    time.sleep(1.0)
    server.start()
    proc.stdout.read()
    proc.stdout.close()
    assert proc.wait(timeout=90) == 0
    assert_exactly_once(server_rows(server, "faults", "restart1"), 300)
    with api(server) as client:
        assert client.get("/runs/root/faults/restart1").json()["state"] == "finished"


def test_agent_killed_then_sync_completes_the_upload(server: ServerProcess, workdir: Path) -> None:
    (workdir / "train.py").write_text(
        "import sys, time, tracklet\n"
        "run = tracklet.init(project='faults', id='agentk01', settings={'finish_timeout': 1})\n"
        "for step in range(100):\n"
        "    run.log({'value': step * 2})\n"
        "print(run.sync_dir, flush=True)\n"
        "sys.stdin.readline()\n"
        "for step in range(100, 200):\n"
        "    run.log({'value': step * 2})\n"
        "run.finish()\n"
    )
    proc = subprocess.Popen([sys.executable, "train.py"], cwd=workdir, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdin is not None
    run_dir = proc.stdout.readline().strip()
    wait_for(lambda: len(server_rows(server, "faults", "agentk01")) == 100)
    agents = subprocess.run(["pgrep", "-f", f"tracklet.agent {run_dir}"], capture_output=True, text=True).stdout.split()
    assert len(agents) == 1
    os.kill(int(agents[0]), signal.SIGKILL)
    _, stderr = proc.communicate(input="go\n", timeout=60)
    assert proc.returncode == 0
    assert "tracklet sync" in stderr  # finish says how to complete the upload
    assert len(server_rows(server, "faults", "agentk01")) == 100
    result = sync(server, run_dir, cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert_exactly_once(server_rows(server, "faults", "agentk01"), 200)
    with api(server) as client:
        assert client.get("/runs/root/faults/agentk01").json()["state"] == "finished"


def test_training_killed_marks_the_run_crashed_with_its_data(server: ServerProcess, workdir: Path) -> None:
    proc = start_script(workdir, """
        import tracklet
        run = tracklet.init(project='faults', id='crash001')
        step = 0
        while True:
            run.log({'value': step * 2})
            print(step, flush=True)
            step += 1
        """)
    assert proc.stdout is not None
    last = 0
    for line in proc.stdout:
        last = int(line)
        if last >= 500:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=30)
    proc.stdout.close()
    with api(server) as client:
        wait_for(lambda: client.get("/runs/root/faults/crash001").json()["state"] == "crashed", timeout=30)
    rows = server_rows(server, "faults", "crash001")
    assert len(rows) >= last + 1
    assert_exactly_once(rows, len(rows))
    assert len(rows) == len(history_rows(only_run(workdir).log_path))


def test_sync_of_an_offline_run_twice_stores_nothing_twice(server: ServerProcess, run_script, workdir: Path) -> None:
    assert run_script(
        """
        import tracklet
        run = tracklet.init(project="faults", id="offline1", mode="offline", config={"k": 1})
        for step in range(250):
            run.log({"value": step * 2, "label": f"s{step}"})
        run.finish()
        """
    ).returncode == 0
    first = sync(server, cwd=workdir)
    assert first.returncode == 0, first.stderr
    assert "synced to root/faults/offline1" in first.stdout
    again = sync(server, cwd=workdir)
    assert "already uploaded" in again.stdout
    forced = subprocess.run([sys.executable, "-m", "tracklet.cli.main", "sync", "--include-synced"], cwd=workdir,
                            capture_output=True, text=True, timeout=120)
    assert forced.returncode == 0, forced.stderr
    rows = server_rows(server, "faults", "offline1")
    assert_exactly_once(rows, 250)
    assert rows[7]["label"] == "s7"
    with api(server) as client:
        info = client.get("/runs/root/faults/offline1").json()
    local_run = only_run(workdir)
    assert info["state"] == "finished" and info["config"] == {"k": 1}
    assert info["last_seq"] == state_of(local_run).last_seq  # every record, once
    run_dir = local_run.dir
    cleaned = subprocess.run([sys.executable, "-m", "tracklet.cli.main", "sync", "--clean"], cwd=workdir,
                             capture_output=True, text=True, timeout=120)
    assert cleaned.returncode == 0 and "removed" in cleaned.stdout
    assert not run_dir.exists(), "a finished, fully uploaded run is removed by --clean"
    assert len(server_rows(server, "faults", "offline1")) == 250
