"""End to end on PostgreSQL: a real ``tracklet server --store postgresql://…`` and a real SDK script."""

from __future__ import annotations

import configparser
import json
from pathlib import Path

from tracklet.server.store.database import head_revision
from tests.conftest import ServerProcess, api, free_port


def test_an_online_run_through_a_server_on_postgresql(postgres_url: str, tmp_path: Path, workdir: Path,
                                                      run_script) -> None:  # type: ignore[no-untyped-def]
    data_dir = tmp_path / "server-data"
    data_dir.mkdir()
    config_dir = tmp_path / "global-config"  # the workdir fixture points TRACKLET_CONFIG_DIR here
    port = free_port()
    server = ServerProcess(f"http://127.0.0.1:{port}", port, data_dir, config_dir, "", postgres_url)
    server.start()
    try:
        settings = configparser.ConfigParser()
        settings.read(config_dir / "settings")
        server.admin_key = settings["default"]["api_key"]
        result = run_script(
            """
            import math, tracklet
            run = tracklet.init(project="pg", config={"lr": 0.1, "layers": [64, 64]}, tags=["pg"], group="g" * 300)
            for step in range(500):
                run.log({"loss": 1 / (step + 1), "nested": {"acc": step / 500}, "note": f"step {step}",
                         "odd": math.nan if step % 2 else math.inf})
            run.summary["best"] = 7
            run.finish()
            print(run.id, run.offline)
            """
        )
        assert result.returncode == 0, result.stderr
        run_id, offline = result.stdout.split()
        assert offline == "False"

        server.kill()  # a restart finds the schema current and everything in place
        server.start()
        run_url = f"/runs/root/pg/{run_id}"
        with api(server) as client:
            assert client.get("/health").json()["schema_revision"] == head_revision()
            info = client.get(run_url).json()
            assert info["state"] == "finished" and info["exit_code"] == 0 and info["group"] == "g" * 300
            assert info["config"] == {"lr": 0.1, "layers": [64, 64]} and info["tags"] == ["pg"]
            assert info["summary"]["loss"] == 1 / 500 and info["summary"]["nested"] == {"acc": 499 / 500}
            assert info["summary"]["odd"] == "NaN" and info["summary"]["best"] == 7

            rows = client.get(run_url + "/history").json()["rows"]
            assert [r["_step"] for r in rows] == list(range(500))
            assert rows[3] | {"_timestamp": 0, "_runtime": 0} == {
                "_step": 3, "loss": 0.25, "nested": {"acc": 3 / 500}, "note": "step 3", "odd": "NaN",
                "_timestamp": 0, "_runtime": 0}
            assert rows[4]["odd"] == "Infinity"
            chart = client.get(run_url + "/history/series", params={"key": "loss", "buckets": 50}).json()
            assert chart["downsampled"] is True and sum(chart["count"]) == 500 and chart["max"][0] == 1.0
            export = client.get(run_url + "/history/export")
            assert [json.loads(line) for line in export.text.splitlines()] == rows

            assert client.delete(run_url).status_code == 200
            assert client.get(run_url).status_code == 404
            assert client.get("/runs/root/pg").json() == []
    finally:
        server.stop()
