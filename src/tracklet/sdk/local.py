"""Runs on this machine: the ``tracklet/`` folder, its run directories, and reading them back.

Layout::

    <root_dir>/tracklet/
      settings                       this folder's settings (INI), e.g. written by `tracklet offline`
      resume.json                    {"run_id": ...} while a resume="auto" run has not finished cleanly
      latest-run -> <run dir>
      offline-run-<YYYYmmdd_HHMMSS>-<id>[-N]/     ("run-..." for online runs)
        run-<id>.tracklet            the run log
        files/                       run.dir: config.yaml, tracklet-summary.json, tracklet-metadata.json, code/
        logs/debug.log

A run that was resumed has one directory per segment, all with the same id.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from tracklet.errors import UsageError
from tracklet.runlog import Record, RecordType, RunLogNewerRecord, RunLogReader, RunState, decode, encode_damage, is_locked

RUNLOG_SUFFIX = ".tracklet"
RESUME_FILE = "resume.json"


def runlog_name(run_id: str) -> str:
    return f"run-{run_id}{RUNLOG_SUFFIX}"


def create_run_dir(tracklet_dir: Path, online: bool, run_id: str, started: float) -> Path:
    stamp = time.strftime("%Y%m%d_%H%M%S", time.localtime(started))
    base = f"{'run' if online else 'offline-run'}-{stamp}-{run_id}"
    tracklet_dir.mkdir(parents=True, exist_ok=True)
    candidate, n = tracklet_dir / base, 0
    while True:
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            n += 1
            candidate = tracklet_dir / f"{base}-{n}"


def update_latest_link(tracklet_dir: Path, run_dir: Path) -> None:
    """Point ``latest-run`` at ``run_dir``, replacing the old link atomically."""
    link = tracklet_dir / "latest-run"
    temporary = tracklet_dir / f".latest-run.{os.getpid()}"
    try:
        if temporary.is_symlink():
            temporary.unlink()
        temporary.symlink_to(run_dir.name)
        os.replace(temporary, link)
    except OSError:  # e.g. a filesystem without symlinks: the link is a convenience only
        pass


def count_runs(tracklet_dir: Path) -> int:
    try:
        return sum(1 for e in os.scandir(tracklet_dir) if e.is_dir() and "run-" in e.name[:12])
    except FileNotFoundError:
        return 0


@dataclass
class LocalRun:
    """One run directory (one segment of a run)."""

    dir: Path
    run_id: str

    @property
    def log_path(self) -> Path:
        return self.dir / runlog_name(self.run_id)

    @cached_property
    def state(self) -> RunState:
        return read_state(self.log_path)

    @property
    def running(self) -> bool:
        return is_locked(self.log_path)

    @property
    def status(self) -> str:
        """running, finished, failed (non-zero exit) or crashed (no exit record, writer gone)."""
        state = self.state
        if state.exit_code is not None:
            return "finished" if state.exit_code == 0 else "failed"
        return "running" if self.running else "crashed"


def read_records(log_path: Path) -> list[Record]:
    """Every readable record of a run log. Damage is skipped (with a ``LOSS`` record in place of
    the records it swallowed) and records of a newer format are skipped, each with a warning."""
    records = [decode(f.seq, f.payload) for f in RunLogReader(log_path, gap_payload=encode_damage).frames()]
    for record in records:
        if record.type is RecordType.NEWER:
            warnings.warn(RunLogNewerRecord(f"{log_path}: {record.body['message']}"), stacklevel=2)
    return records


def read_state(log_path: Path, max_step: int | None = None) -> RunState:
    return RunState.replay(read_records(log_path), max_step=max_step)


def list_runs(tracklet_dir: Path) -> list[LocalRun]:
    """Every run directory under ``tracklet_dir``, oldest first (reads every run log)."""
    return _runs_of(run_dirs(tracklet_dir))


def run_dirs(tracklet_dir: Path) -> list[Path]:
    """The run directories in ``tracklet_dir`` (folders holding a run log; not the ``latest-run``
    link), by name; reads no run log."""
    try:
        entries = sorted(os.scandir(tracklet_dir), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False) and _runlog_in(e.path) is not None]


def _runlog_in(directory: str | Path) -> str | None:
    """The run id of the run log in ``directory``, or None when it holds none."""
    try:
        names = os.listdir(directory)
    except OSError:
        return None
    for name in sorted(names):
        if name.startswith("run-") and name.endswith(RUNLOG_SUFFIX):
            return name[4 : -len(RUNLOG_SUFFIX)]
    return None


def _runs_of(directories: list[Path]) -> list[LocalRun]:
    runs = []
    for directory in directories:
        run_id = _runlog_in(directory)
        if run_id is not None:
            runs.append(LocalRun(directory, run_id))
    runs.sort(key=lambda r: r.state.start_time)
    return runs


@dataclass(frozen=True)
class RunsFolder:
    """Where the runs a command was pointed at are: a ``tracklet/`` folder, or one run's folder."""

    path: Path  # absolute: the tracklet/ folder to search (it may not exist yet), or the run's folder
    single: bool  # ``path`` is one run's folder

    @property
    def tracklet_dir(self) -> Path:
        """The ``tracklet/`` folder: ``path``, or the folder holding the one run."""
        return self.path.parent if self.single else self.path

    def run_dirs(self) -> list[Path]:
        """The run directories there now, by name (a watched ``tracklet/`` folder gains runs)."""
        if self.single:
            return [self.path] if _runlog_in(self.path) is not None else []
        return run_dirs(self.path)

    def runs(self) -> list[LocalRun]:
        """The runs there now, oldest first (reads every run log)."""
        return _runs_of(self.run_dirs())


def locate_runs(directory: str | os.PathLike[str]) -> RunsFolder:
    """Where the runs of ``directory`` are, given any of: the folder holding ``tracklet/``, a
    ``tracklet/`` folder itself, or one run's folder (also the ``latest-run`` link).

    A folder with none of these is taken as the folder holding a ``tracklet/`` that does not
    exist yet (runs started there later go to ``directory/tracklet``).

    Raises:
        UsageError: ``directory`` does not exist, or is not a folder.
    """
    path = Path(os.path.abspath(directory))
    if not path.exists():
        raise UsageError(f"DIR {path} does not exist (give the folder holding tracklet/, "
                         "a tracklet/ folder, or a run's folder)")
    if not path.is_dir():
        raise UsageError(f"DIR {path} is not a folder (give the folder holding tracklet/, "
                         "a tracklet/ folder, or a run's folder)")
    if _runlog_in(path) is not None:
        return RunsFolder(path.resolve() if path.is_symlink() else path, single=True)
    if (path / "tracklet").is_dir():
        return RunsFolder(path / "tracklet", single=False)
    if path.name == "tracklet" or run_dirs(path):
        return RunsFolder(path, single=False)
    return RunsFolder(path / "tracklet", single=False)


def segments(tracklet_dir: Path, run_id: str) -> list[LocalRun]:
    """The run directories of ``run_id``, in the order they were started."""
    found = [LocalRun(d, run_id) for d in tracklet_dir.glob(f"*-{_glob_escape(run_id)}*") if (d / runlog_name(run_id)).is_file()]
    found.sort(key=lambda r: r.state.start_time)
    return found


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def state_at(segments_of_run: list[LocalRun], step: int) -> RunState:
    """The run's state as it was when ``step`` was its last step.

    The latest segment whose own start is at or before ``step`` holds the
    history at ``step`` (a later rewind may have replaced what came after).
    """
    covering = [s for s in segments_of_run if s.state.starting_step <= step + 1]
    chosen = covering[-1] if covering else segments_of_run[0]
    return read_state(chosen.log_path, max_step=step)


def read_resume_id(tracklet_dir: Path) -> str | None:
    try:
        with open(tracklet_dir / RESUME_FILE, encoding="utf-8") as f:
            value = json.load(f).get("run_id")
        return value if isinstance(value, str) and value else None
    except (OSError, ValueError, AttributeError):
        return None


def write_resume_id(tracklet_dir: Path, run_id: str) -> None:
    tracklet_dir.mkdir(parents=True, exist_ok=True)
    (tracklet_dir / RESUME_FILE).write_text(json.dumps({"run_id": run_id}), encoding="utf-8")


def clear_resume_id(tracklet_dir: Path, run_id: str) -> None:
    if read_resume_id(tracklet_dir) == run_id:
        try:
            (tracklet_dir / RESUME_FILE).unlink()
        except FileNotFoundError:
            pass
