"""``tracklet ui``: a local server with no login, fed with the folder's runs as they happen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import free_port
from tests.integration.test_server_runs import wait_for


def test_ui_serves_existing_and_new_runs_without_login(run_script, workdir: Path) -> None:
    assert run_script(
        """
        import tracklet
        run = tracklet.init(mode="offline", project="local-p", id="before01")
        for i in range(50):
            run.log({"x": i})
        run.finish()
        """
    ).returncode == 0
    port = free_port()
    ui = subprocess.Popen([sys.executable, "-m", "tracklet.cli.main", "ui", str(workdir), "--port", str(port)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert ui.stdout is not None
        assert f"http://127.0.0.1:{port}" in ui.stdout.readline()
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=10)

        def run_when(run_id: str, condition):  # type: ignore[no-untyped-def]
            response = client.get(f"/runs/local/local-p/{run_id}")
            if response.status_code == 200 and condition(response.json()):
                return response.json()
            return None

        before = wait_for(lambda: run_when("before01", lambda info: info["state"] == "finished"))
        assert before["summary"]["x"] == 49
        live = subprocess.Popen(
            [sys.executable, "-c",
             "import sys, tracklet\n"
             "run = tracklet.init(mode='offline', project='local-p', id='during01')\n"
             "run.log({'y': 1})\n"
             "print('logged', flush=True)\n"
             "sys.stdin.readline()\n"
             "run.finish()\n"],
            cwd=workdir, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert live.stdout is not None and live.stdout.readline().strip() == "logged"
        during = wait_for(lambda: run_when("during01", lambda info: info["summary"].get("y") == 1))
        assert during["state"] == "running"
        live.communicate(input="\n", timeout=30)
        wait_for(lambda: run_when("during01", lambda info: info["state"] == "finished"))
        client.close()
    finally:
        ui.terminate()
        ui.wait(timeout=10)
        if ui.stdout:
            ui.stdout.close()
