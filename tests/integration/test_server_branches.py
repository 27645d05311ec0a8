"""resume_from (rewind) and fork_from on the server: what the history holds afterwards."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ServerProcess, api

BASE = """
import tracklet
run = tracklet.init(project="br", id="source01", config={"lr": 0.1})
run.define_metric("loss", summary="min")
for step in range(20):
    run.log({"loss": 100 - step, "tag": f"s{step}"})
run.finish()
"""


def rows(server: ServerProcess, run_id: str) -> list[dict]:
    with api(server) as client:
        return client.get(f"/runs/root/br/{run_id}/history").json()["rows"]


def test_rewind_hides_history_after_the_step_and_continues(server: ServerProcess, run_script, workdir: Path) -> None:
    assert run_script(BASE).returncode == 0
    result = run_script(
        """
        import tracklet
        run = tracklet.init(project="br", resume_from="source01?_step=9")
        print(run.id, run.starting_step, run.step, run.summary["loss"], run.config["lr"])
        for step in range(10, 15):
            run.log({"loss": 500 + step})
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["source01", "10", "10", "{'min':", "91}", "0.1"]
    history = rows(server, "source01")
    assert [r["_step"] for r in history] == list(range(15))
    assert [r["loss"] for r in history[:10]] == [100 - s for s in range(10)]
    assert [r["loss"] for r in history[10:]] == [500 + s for s in range(10, 15)]
    assert all("tag" not in r for r in history[10:]), "rewound values must not show"
    with api(server) as client:
        info = client.get("/runs/root/br/source01").json()
    assert info["branch"] == {"kind": "rewind", "run_id": "source01", "step": 9}
    assert info["summary"]["loss"] == {"min": 91}


def test_fork_starts_with_the_sources_history_and_records_its_parent(server: ServerProcess, run_script, workdir: Path) -> None:
    assert run_script(BASE).returncode == 0
    result = run_script(
        """
        import tracklet
        run = tracklet.init(project="br", id="forked01", fork_from="source01?_step=4")
        print(run.starting_step, run.config["lr"])
        run.log({"loss": 0.5})
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["5", "0.1"]
    history = rows(server, "forked01")
    assert [r["_step"] for r in history] == [0, 1, 2, 3, 4, 5]
    assert [r["loss"] for r in history] == [100, 99, 98, 97, 96, 0.5]
    assert history[2]["tag"] == "s2"
    assert len(rows(server, "source01")) == 20, "the source is untouched"
    with api(server) as client:
        info = client.get("/runs/root/br/forked01").json()
    assert info["branch"] == {"kind": "fork", "run_id": "source01", "step": 4}


def test_fork_and_rewind_errors_come_from_the_server(server: ServerProcess, run_script, workdir: Path) -> None:
    assert run_script(BASE).returncode == 0
    result = run_script(
        """
        import tracklet
        for kwargs in ({"fork_from": "source01?_step=99"}, {"fork_from": "missing1?_step=1"},
                       {"resume_from": "missing1?_step=1"}):
            try:
                tracklet.init(project="br", **kwargs)
            except tracklet.UsageError as e:
                print(e)
        """
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "step 99 is not in run 'source01', whose steps go from 0 to 19"
    assert lines[1] == "failed to fork run: run 'missing1' not found"
    assert lines[2] == "failed to rewind run: run 'missing1' not found"


def test_same_id_without_resume_replaces_the_run_keeping_old_data_hidden(server: ServerProcess, run_script, workdir: Path) -> None:
    assert run_script(BASE).returncode == 0
    assert run_script(
        "import tracklet\nrun = tracklet.init(project='br', id='source01')\nrun.log({'fresh': 1})\n"
    ).returncode == 0
    history = rows(server, "source01")
    assert history == [{"_step": 0, "fresh": 1, "_timestamp": history[0]["_timestamp"], "_runtime": history[0]["_runtime"]}]
