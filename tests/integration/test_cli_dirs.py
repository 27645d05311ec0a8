"""``tracklet runs|sync|ui DIR`` take the folder holding ``tracklet/``, ``tracklet/`` itself, or one
run's folder (also ``latest-run``); they say when a folder holds no runs, and refuse a missing one."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess, api, free_port, run_dirs
from tests.integration.test_server_runs import wait_for


def cli(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "tracklet.cli.main", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})


@pytest.fixture
def two_runs(run_script, workdir: Path) -> list[Path]:  # type: ignore[no-untyped-def]
    """Two finished offline runs in ``workdir/tracklet``, oldest first."""
    assert run_script(
        """
        import tracklet
        for run_id in ("first001", "second02"):
            run = tracklet.init(mode="offline", project="dirs", id=run_id, reinit="create_new")
            for i in range(10):
                run.log({"x": i})
            run.finish()
        """
    ).returncode == 0
    return [r.dir for r in run_dirs(workdir)]


def forms(workdir: Path, runs: list[Path]) -> dict[str, tuple[Path, list[str]]]:
    """Each way to name the runs: (DIR, the run ids it stands for)."""
    return {
        "parent": (workdir, ["first001", "second02"]),
        "tracklet": (workdir / "tracklet", ["first001", "second02"]),
        "run": (runs[0], ["first001"]),
        "latest-run": (workdir / "tracklet" / "latest-run", ["second02"]),
    }


def test_runs_takes_each_form_of_dir(two_runs: list[Path], workdir: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"  # relative paths work from any folder
    elsewhere.mkdir()
    for name, (directory, ids) in forms(workdir, two_runs).items():
        result = cli("runs", "--json", directory, cwd=elsewhere)
        assert result.returncode == 0, (name, result.stderr)
        assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ids, name
    table = cli("runs", "tracklet", cwd=workdir)
    assert "first001" in table.stdout and "second02" in table.stdout


def test_sync_takes_each_form_of_dir(two_runs: list[Path], workdir: Path, server: ServerProcess) -> None:
    with api(server) as client:
        for name, (directory, ids) in forms(workdir, two_runs).items():
            result = cli("sync", "--include-synced", directory, cwd=workdir)
            assert result.returncode == 0, (name, result.stdout, result.stderr)
            synced = [line for line in result.stdout.splitlines() if "synced to root/dirs/" in line]
            assert sorted(line.split("synced to root/dirs/")[1].split(":")[0] for line in synced) == ids, (name, result.stdout)
            for run_id in ids:
                assert client.get(f"/runs/root/dirs/{run_id}").json()["summary"]["x"] == 9


@contextmanager
def tracklet_ui(directory: Path, cwd: Path) -> Iterator[tuple[httpx.Client, list[str]]]:
    """``tracklet ui DIR`` running: an API client for it, and the lines it has printed (growing)."""
    import threading

    port = free_port()
    ui = subprocess.Popen([sys.executable, "-m", "tracklet.cli.main", "ui", str(directory), "--port", str(port)],
                          cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    assert ui.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(ui.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        wait_for(lambda: lines or ui.poll() is not None)
        assert lines and f"http://127.0.0.1:{port}" in lines[0], lines
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=10) as client:
            yield client, lines
    finally:
        ui.terminate()
        ui.wait(timeout=10)
        reader.join(10)
        ui.stdout.close()


def _run_ids(client: httpx.Client) -> list[str]:
    response = client.get("/runs/local/dirs")
    return sorted(r["run_id"] for r in response.json()) if response.status_code == 200 else []


def test_ui_takes_each_form_of_dir(two_runs: list[Path], workdir: Path) -> None:
    # one run's folder first: its tracklet/ folder's store then holds that run only
    ordered = forms(workdir, two_runs)
    for name in ("run", "tracklet", "parent"):
        directory, ids = ordered[name]
        with tracklet_ui(directory, workdir) as (client, lines):
            assert str(directory) in lines[0], (name, lines)
            assert wait_for(lambda: _run_ids(client) == ids or None), (name, _run_ids(client))


def test_an_empty_folder_says_where_it_looked(tmp_path: Path, workdir: Path, server: ServerProcess) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    runs = cli("runs", empty, cwd=workdir)
    assert runs.returncode == 0 and runs.stdout.strip() == f"No runs in {empty / 'tracklet'}"
    as_json = cli("runs", "--json", empty, cwd=workdir)
    assert as_json.stdout == "" and f"No runs in {empty / 'tracklet'}" in as_json.stderr
    sync = cli("sync", empty, cwd=workdir)
    assert sync.returncode == 0 and sync.stdout.strip() == f"No runs in {empty / 'tracklet'}"
    (empty / "tracklet").mkdir()
    named = cli("sync", empty / "tracklet", cwd=workdir)
    assert named.stdout.strip() == f"No runs in {empty / 'tracklet'}"
    with tracklet_ui(empty, workdir) as (client, lines):
        wait_for(lambda: any(f"No runs in {empty / 'tracklet'}" in line for line in lines))
        viewer = client.get("/viewer").json()
        assert viewer["local_folder"] == str(empty / "tracklet")


def test_a_missing_folder_is_an_error_naming_it(workdir: Path) -> None:
    missing = workdir / "no-such-folder"
    for command in ("runs", "sync", "ui"):
        result = cli(command, missing, cwd=workdir)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert f"DIR {missing} does not exist" in result.stderr, (command, result.stderr)
        assert result.stdout == "", command
    assert not missing.exists()
    a_file = workdir / "notes.txt"
    a_file.write_text("x")
    result = cli("runs", a_file, cwd=workdir)
    assert result.returncode == 2 and f"DIR {a_file} is not a folder" in result.stderr
