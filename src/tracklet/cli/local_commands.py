"""Commands that work on this machine's runs: the default mode, ``runs`` and ``runlog dump``."""

from __future__ import annotations

import argparse
import configparser
import datetime
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from tracklet.errors import UsageError
from tracklet.runlog import RunLogDamaged, RunLogReader, decode
from tracklet.sdk import local
from tracklet.settings import workspace_settings_path


def add_commands(commands: Any) -> None:
    for mode, text in (
        ("offline", "record runs of this directory offline by default"),
        ("online", "stream runs of this directory to the server by default"),
        ("disabled", "make tracklet calls in this directory do nothing"),
    ):
        command = commands.add_parser(mode, help=text, description=text)
        command.add_argument("--dir", default=None, help="the directory whose default to set (default: here)")
        command.set_defaults(handler=_set_mode, mode=mode)

    runs = commands.add_parser("runs", help="list the runs recorded here",
                               description=f"List the runs of DIR. {DIR_FORMS}")
    runs.add_argument("dir", nargs="?", default=None, metavar="DIR", help="where the runs are (default: here)")
    runs.add_argument("--dir", dest="dir_option", default=None, metavar="DIR", help="the same as DIR")
    runs.add_argument("--json", action="store_true", help="print one JSON object per run")
    runs.set_defaults(handler=_list_runs)

    runlog = commands.add_parser("runlog", help="inspect run log files")
    runlog_commands = runlog.add_subparsers(dest="runlog_command", metavar="COMMAND", required=True)
    dump = runlog_commands.add_parser("dump", help="print a run log as JSON lines, one record per line")
    dump.add_argument("file", type=Path, help="a run-<id>.tracklet file, or a run directory")
    dump.set_defaults(handler=_dump)


def _set_mode(args: argparse.Namespace) -> int:
    path = workspace_settings_path(args.dir)
    parser = configparser.ConfigParser()
    if path.is_file():
        parser.read(path, encoding="utf-8")
    if not parser.has_section("default"):
        parser.add_section("default")
    parser.set("default", "mode", args.mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        parser.write(f)
    print(f"Runs started in {path.parent.parent} are now {args.mode} by default ({path}).")
    return 0


def _format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


DIR_FORMS = "DIR is the folder holding tracklet/, a tracklet/ folder itself, or one run's folder (also latest-run)."


def locate_or_exit(directory: str | Path, command: str) -> local.RunsFolder:
    """Where ``directory``'s runs are; a DIR that does not exist ends the command with exit code 2."""
    try:
        return local.locate_runs(directory)
    except UsageError as exc:
        print(f"tracklet {command}: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _list_runs(args: argparse.Namespace) -> int:
    folder = locate_or_exit(args.dir or args.dir_option or ".", "runs")
    latest: dict[str, local.LocalRun] = {}
    with warnings.catch_warnings(record=True) as damaged:
        warnings.simplefilter("always", RunLogDamaged)
        for run in folder.runs():
            latest[run.run_id] = run  # list_runs is oldest first: the last segment wins
    rows = []
    for run in sorted(latest.values(), key=lambda r: r.state.start_time):
        state = run.state
        rows.append({
            "id": run.run_id,
            "name": state.name or "",
            "project": state.project,
            "state": run.status + (", data lost" if state.data_lost else ""),
            "data_lost": state.metadata.get("data_loss", []),
            "steps": state.rows and state.summary.get("_step", -1) + 1,
            "start": datetime.datetime.fromtimestamp(state.start_time).strftime("%Y-%m-%d %H:%M:%S"),
            "duration": _format_duration(state.runtime),
            "dir": str(run.dir),
        })
    for warning in damaged:
        print(f"tracklet: WARNING {warning.message}", file=sys.stderr)
    if args.json and rows:
        for row in rows:
            print(json.dumps(row))
        return 0
    if not rows:
        print(f"No runs in {folder.path}", file=sys.stderr if args.json else sys.stdout)
        return 0
    columns = ["id", "name", "project", "state", "steps", "start", "duration"]
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for row in rows:
        print("  ".join(str(row[c]).ljust(widths[c]) for c in columns).rstrip())
    return 0


def _dump(args: argparse.Namespace) -> int:
    path: Path = args.file
    if path.is_dir():
        logs = sorted(path.glob(f"run-*{local.RUNLOG_SUFFIX}"))
        if not logs:
            raise SystemExit(f"tracklet: no run log in {path}")
        path = logs[0]
    if not path.is_file():
        raise SystemExit(f"tracklet: {path} does not exist")
    reader = RunLogReader(path)
    try:
        frames = reader.read_available()
    except ValueError as exc:
        raise SystemExit(f"tracklet: {exc}") from None
    out = sys.stdout
    for frame in frames:
        out.write(json.dumps(decode(frame.seq, frame.payload).to_json_dict(), default=_bytes) + "\n")
    out.flush()
    for skip in reader.skips:
        print(f"tracklet: WARNING {path}: {skip.describe()}", file=sys.stderr)
    if reader.damage:
        print(f"tracklet: WARNING {path}: stopped at damage ({reader.damage}); "
              f"the {len(frames)} records before it are intact", file=sys.stderr)
    return 1 if reader.damage or reader.skips else 0


def _bytes(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot show {type(value).__name__}")


__all__ = ["add_commands"]
