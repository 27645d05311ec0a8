"""``tracklet import wandb``: an offline run recorded by the REAL wandb package, imported into a real
server, read back with ``tracklet.Api``; importing again changes nothing; and the rows equal what
wandb's own reader finds in its ``.wandb`` file."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tracklet
from tests.conftest import ServerProcess, api

WANDB_SCRIPT = """
import wandb
run = wandb.init(project="imported", name="original-name", tags=["a", "b"], group="grp", notes="some notes",
                 job_type="train", config={"lr": 0.1, "optimizer": {"name": "sgd", "momentum": 0.9}})
for step in range(5):
    run.log({"loss": 1.0 / (step + 1), "nested": {"acc": step * 0.25},
             "odd": float("nan") if step == 2 else step * 1.5})
run.config.update({"late": "yes"})
run.summary["loss"] = -1.0
run.summary["best"] = 42
with open(run.dir + "/notes.txt", "w") as f:
    f.write("kept with the run")
wandb.save(run.dir + "/notes.txt", base_path=run.dir)
print(run.id)
run.finish()
"""


def record_offline_run(workdir: Path) -> str:
    (workdir / "wb.py").write_text(WANDB_SCRIPT)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("WANDB_", "TRACKLET_WANDB"))}
    env.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DIR=str(workdir))
    proc = subprocess.run([sys.executable, "wb.py"], cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()[-1]


def tracklet_import(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tracklet.cli.main", "import", "wandb", *args],
                          capture_output=True, text=True, timeout=120)


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def test_import_an_offline_wandb_run_twice(server: ServerProcess, workdir: Path) -> None:
    run_id = record_offline_run(workdir)
    offline = list((workdir / "wandb").glob("offline-run-*"))
    assert len(offline) == 1

    first = tracklet_import(str(workdir / "wandb"))
    assert first.returncode == 0, first.stderr
    assert f"imported to root/imported/{run_id} (5 rows)" in first.stdout

    def read_back() -> tuple[dict, list[dict]]:
        with tracklet.Api() as client:
            run = client.run(f"root/imported/{run_id}")
            info = {"state": run.state, "name": run.name, "tags": list(run.tags), "group": run.group,
                    "notes": run.notes, "config": dict(run.config), "summary": dict(run.summary),
                    "files": sorted(f.name for f in run.files())}
            return info, list(run.scan_history())

    info, rows = read_back()
    assert info["state"] == "finished"
    assert (info["name"], info["tags"], info["group"], info["notes"]) == ("original-name", ["a", "b"], "grp", "some notes")
    assert info["config"] == {"lr": 0.1, "optimizer": {"name": "sgd", "momentum": 0.9}, "late": "yes"}
    assert info["summary"]["loss"] == -1.0 and info["summary"]["best"] == 42  # the summary overrides
    assert info["summary"]["nested"] == {"acc": 1.0}
    assert "notes.txt" in info["files"]
    assert [row["_step"] for row in rows] == [0, 1, 2, 3, 4]
    assert [row["loss"] for row in rows] == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    assert [row["nested.acc"] for row in rows] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert math.isnan(rows[2]["odd"]) and rows[3]["odd"] == 4.5

    with api(server) as client:
        last_seq = client.get(f"/runs/root/imported/{run_id}").json()["last_seq"]
    second = tracklet_import(str(offline[0]))  # the run folder this time: the same run
    assert second.returncode == 0, second.stderr
    info_again, rows_again = read_back()
    assert len(rows_again) == 5 and all(same(a, b) for a, b in zip(rows, rows_again))
    assert info_again["config"] == info["config"] and same(info_again["summary"], info["summary"])
    with api(server) as client:  # the server holds the same records, once
        assert client.get(f"/runs/root/imported/{run_id}").json()["last_seq"] == last_seq

    # differential: the rows wandb's own reader finds in the .wandb file are the rows Tracklet has
    from tracklet.importers.wandb_offline import read_wandb_file

    recorded = []
    for record in read_wandb_file(next(offline[0].glob("run-*.wandb"))):
        if record.WhichOneof("record_type") == "history":
            row = {".".join(item.nested_key) or item.key: json.loads(item.value_json) for item in record.history.item}
            recorded.append({k: v for k, v in row.items() if k != "_runtime"})
    assert len(recorded) == 5
    for original, imported in zip(recorded, rows_again):
        assert same(original, {k: v for k, v in imported.items() if k != "_runtime"}), (original, imported)


def test_import_options_and_errors(server: ServerProcess, workdir: Path) -> None:
    run_id = record_offline_run(workdir)
    result = tracklet_import(str(workdir / "wandb"), "--project", "elsewhere")
    assert result.returncode == 0, result.stderr
    with tracklet.Api() as client:
        assert len(list(client.run(f"root/elsewhere/{run_id}").scan_history())) == 5

    empty = workdir / "empty"
    empty.mkdir()
    result = tracklet_import(str(empty))
    assert result.returncode != 0 and "no wandb runs" in result.stderr


def test_the_compatibility_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from tracklet.importers import wandb_offline

    monkeypatch.setattr("tracklet.compat.wandb_enabled", lambda: True)
    with pytest.raises(tracklet.UsageError, match="TRACKLET_WANDB"):
        wandb_offline.real_wandb_records()


DIFFERENTIAL_SCRIPT = """
import wandb
run = wandb.init(project={project!r}, config={{"lr": 0.01, "layers": [64, 32], "opt": {{"name": "adam"}}}})
run.define_metric("val/*", step_metric="epoch")
for step in range(6):
    wandb.log({{"train/loss": 1.0 / (step + 1), "nested": {{"acc": step * 0.125}}}})
    if step % 2 == 1:
        wandb.log({{"val/loss": 0.5 / step, "epoch": step // 2}}, commit=False)
wandb.log({{"late": 3}}, step=10)
run.config.update({{"batch_size": 16}})
run.summary["best"] = 0.25
print(run.id)
wandb.finish()
"""


def test_the_same_script_records_the_same_run_in_wandb_and_in_tracklet(server: ServerProcess, workdir: Path) -> None:
    """Differential: one plain wandb script, run by the real wandb (offline, then imported) and in
    Tracklet's compatibility mode: rows, summary and config agree."""
    base = {key: value for key, value in os.environ.items() if not key.startswith(("WANDB_", "TRACKLET_WANDB"))}
    runs = {}
    for project, env in (("by-wandb", {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DIR": str(workdir)}),
                         ("by-tracklet", {"TRACKLET_WANDB": "1"})):
        (workdir / "same.py").write_text(DIFFERENTIAL_SCRIPT.format(project=project))
        proc = subprocess.run([sys.executable, "same.py"], cwd=workdir, env={**base, **env}, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        runs[project] = proc.stdout.split()[-1]
    imported = tracklet_import(str(workdir / "wandb"))
    assert imported.returncode == 0, imported.stderr

    def recorded(project: str) -> tuple[list[dict], dict, dict]:
        with tracklet.Api() as client:
            run = client.run(f"root/{project}/{runs[project]}")
            assert run.state == "finished"
            rows = [{k: v for k, v in row.items() if k not in ("_runtime", "_timestamp")} for row in run.scan_history()]
            summary = {k: v for k, v in run.summary.items() if not k.startswith("_")}
            return rows, summary, dict(run.config)

    wandb_rows, wandb_summary, wandb_config = recorded("by-wandb")
    tracklet_rows, tracklet_summary, tracklet_config = recorded("by-tracklet")
    assert [r["_step"] for r in wandb_rows] == [0, 1, 2, 3, 4, 5, 6, 10]  # step 6: the last uncommitted val row
    assert same(tracklet_rows, wandb_rows)
    assert same(tracklet_summary, wandb_summary) and wandb_summary["best"] == 0.25
    assert tracklet_config == wandb_config == {"lr": 0.01, "layers": [64, 32], "opt": {"name": "adam"}, "batch_size": 16}
