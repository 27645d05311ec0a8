"""Shared fixtures: real user scripts in real subprocesses, and reading back what they recorded."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from tracklet.runlog import RunState, state
from tracklet.sdk import local


@dataclass
class ScriptResult:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, no TRACKLET_* variables, and a private global config dir."""
    for key in list(os.environ):
        if key.startswith("TRACKLET_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TRACKLET_CONFIG_DIR", str(tmp_path / "global-config"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def run_script(workdir: Path):  # type: ignore[no-untyped-def]
    """Run Python code as a user script (``train.py`` in the work dir) in a fresh interpreter."""

    def run(code: str, env: dict[str, str] | None = None, name: str = "train.py", timeout: float = 60) -> ScriptResult:
        script = workdir / name
        script.write_text(textwrap.dedent(code), encoding="utf-8")
        full_env = {**os.environ, **(env or {})}
        proc = subprocess.run(
            [sys.executable, str(script)], cwd=workdir, env=full_env, capture_output=True, text=True, timeout=timeout
        )
        return ScriptResult(proc.returncode, proc.stdout, proc.stderr)

    return run


def run_dirs(root: Path) -> list[local.LocalRun]:
    """The run directories under ``root/tracklet``, oldest first."""
    return local.list_runs(root / "tracklet")


def only_run(root: Path) -> local.LocalRun:
    runs = run_dirs(root)
    assert len(runs) == 1, f"expected one run, found {[r.dir.name for r in runs]}"
    return runs[0]


def history_rows(log_path: Path) -> list[dict]:
    """The committed rows of a run log, as a user sees them: merged per step, with ``_step``."""
    return state.history_rows(local.read_records(log_path))


def state_of(run: local.LocalRun) -> RunState:
    return local.read_state(run.log_path)
