"""The ``tracklet`` command: version, runs table, run log dump, default mode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import tracklet
from tests.conftest import only_run


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tracklet.cli.main", *args], cwd=cwd, capture_output=True, text=True)


def test_version(workdir: Path) -> None:
    result = cli("--version", cwd=workdir)
    assert result.returncode == 0
    assert result.stdout.strip() == f"tracklet {tracklet.__version__}"


def test_runs_lists_id_name_project_state_steps(run_script, workdir: Path) -> None:
    assert run_script(
        """
        import tracklet
        ok = tracklet.init(mode="offline", project="p1", name="good-run-1", reinit="create_new")
        for i in range(5):
            ok.log({"x": i})
        ok.finish()
        bad = tracklet.init(mode="offline", project="p1", name="bad-run-2", reinit="create_new")
        bad.log({"x": 1})
        bad.finish(exit_code=2)
        """
    ).returncode == 0
    result = cli("runs", "--json", cwd=workdir)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["name"], r["project"], r["state"], r["steps"]) for r in rows] == [
        ("good-run-1", "p1", "finished", 5),
        ("bad-run-2", "p1", "failed", 1),
    ]
    table = cli("runs", cwd=workdir).stdout.splitlines()
    assert table[0].split() == ["ID", "NAME", "PROJECT", "STATE", "STEPS", "START", "DURATION"]
    assert "good-run-1" in table[1] and "finished" in table[1]


def test_runs_in_an_empty_directory(workdir: Path) -> None:
    result = cli("runs", cwd=workdir)
    assert result.returncode == 0
    assert "No runs in" in result.stdout


def test_runlog_dump_prints_every_record_as_json(run_script, workdir: Path) -> None:
    assert run_script(
        """
        import math, tracklet
        run = tracklet.init(mode="offline", config={"lr": 0.1})
        run.log({"loss": 0.5, "bad": math.nan})
        run.tags += ["later"]
        run.finish()
        """
    ).returncode == 0
    run = only_run(workdir)
    result = cli("runlog", "dump", str(run.log_path), cwd=workdir)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    # system metrics samples and the code context arrive from other threads, in between
    core = [r for i, r in enumerate(records)
            if r["type"] not in ("stats", "output") and not (r["type"] == "metadata" and i != 1)]
    assert [r["type"] for r in core] == ["start", "metadata", "config", "history", "run", "exit"]
    config, history, run_change, exit_record = core[2:]
    assert config["set"] == {"lr": 0.1}
    assert history["data"]["loss"] == 0.5 and history["data"]["bad"] != history["data"]["bad"]  # NaN
    assert run_change["tags"] == ["later"]
    assert exit_record["exit_code"] == 0 and records[-1] is exit_record
    # a run directory works too
    assert cli("runlog", "dump", str(run.dir), cwd=workdir).stdout == result.stdout


def test_runlog_dump_of_a_damaged_file_prints_the_intact_part_and_warns(run_script, workdir: Path) -> None:
    assert run_script(
        """
        import tracklet
        run = tracklet.init(mode="offline")
        for i in range(10):
            run.log({"i": i})
        run.finish()
        """
    ).returncode == 0
    log_path = only_run(workdir).log_path
    data = log_path.read_bytes()
    log_path.write_bytes(data[:-5])
    result = cli("runlog", "dump", str(log_path), cwd=workdir)
    assert result.returncode == 1
    assert "stopped at damage" in result.stderr
    types = [json.loads(line)["type"] for line in result.stdout.splitlines()]
    assert types[:2] == ["start", "metadata"] and types.count("history") == 10 and "exit" not in types


def test_default_mode_command_switches_this_directory(run_script, workdir: Path) -> None:
    result = cli("disabled", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert run_script(
        """
        import tracklet
        run = tracklet.init()
        print(run.disabled)
        run.finish()
        """
    ).stdout.strip() == "True"
    assert not any(p.name.startswith(("run-", "offline-run-")) for p in (workdir / "tracklet").iterdir())
    assert cli("offline", cwd=workdir).returncode == 0
    assert run_script("import tracklet; print(tracklet.init().offline)").stdout.strip() == "True"
