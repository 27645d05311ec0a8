"""``tracklet import wandb``: the original's offline run folders as Tracklet runs.

The ``.wandb`` file is read by the real wandb package: its own reader (``wandb leet inspect``,
run by wandb-core) prints every record in protobuf text format, which is parsed into the
package's own ``wandb_internal_pb2.Record``. Nothing here knows the file's byte format.

Each run becomes a run log in a temporary run directory: a start record (the original's run
id, project, name, tags, group, notes, job type, start time), config, the environment as
metadata, one history record per row at its ``_step``, console lines, the summary keys whose
final value differs from what the rows give, the files of its ``files/`` folder, and the exit.
Contents depend only on the ``.wandb`` file, so a second import sends the same records with
the same sequence numbers, and the server keeps them once.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracklet.errors import Error, UsageError
from tracklet.runlog import Record, RecordType, RunLogWriter, RunState, encode, encode_history
from tracklet.runlog.state import remove_path, set_path

_RECORD_HEADING = re.compile(r"(?m)^# record \d+: [^\n]*$")
_SKIPPED_ENVIRONMENT = ("writer_id",)
_OWN_FILES = ("config.yaml", "tracklet-summary.json", "tracklet-metadata.json")  # written from the run log


def real_wandb_records() -> Any:
    """The real wandb's ``Record`` message class; a ``UsageError`` saying what to do when there is none."""
    from tracklet.compat import wandb_enabled

    if wandb_enabled():
        raise UsageError("importing needs the real wandb package, but this process has Tracklet's wandb "
                         "compatibility mode on (TRACKLET_WANDB=1), which answers `import wandb`; "
                         "run `tracklet import wandb` without TRACKLET_WANDB")
    try:
        from wandb.proto import wandb_internal_pb2
    except ImportError:
        raise UsageError("importing wandb runs reads their .wandb files with the original's own reader: "
                         "`pip install wandb` first") from None
    return wandb_internal_pb2.Record  # type: ignore[attr-defined]


def read_wandb_file(path: Path) -> list[Any]:
    """Every record of a ``.wandb`` file, as the real wandb's ``Record`` messages, in order."""
    from google.protobuf import text_format

    from tracklet import settings

    record_class = real_wandb_records()
    proc = subprocess.run([sys.executable, "-m", "wandb", "leet", "inspect", str(path)],
                          env=settings.child_environment({"TRACKLET_WANDB": "0", "WANDB_SILENT": "true"}),
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise Error(f"wandb could not read {path}: {proc.stderr.strip() or f'exit code {proc.returncode}'}")
    records = []
    for block in _RECORD_HEADING.split(proc.stdout)[1:]:
        record = record_class()
        text_format.Parse(block, record, allow_unknown_field=True)
        records.append(record)
    return records


def wandb_run_dirs(paths: list[Path]) -> list[Path]:
    """The wandb run folders in ``paths`` (run folders, ``.wandb`` files or ``wandb/`` folders), in run order."""
    found: list[Path] = []
    for path in paths:
        if path.is_file() and path.suffix == ".wandb":
            found.append(path.parent)
        elif path.is_dir() and any(path.glob("run-*.wandb")):
            found.append(path)
        elif path.is_dir():
            found.extend(p for p in sorted(path.iterdir()) if p.is_dir() and not p.is_symlink()
                         and any(p.glob("run-*.wandb")))
        else:
            raise UsageError(f"{path} is not a wandb run folder, a .wandb file or a wandb/ folder")
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda d: d.name.removeprefix("offline-"))


@dataclass
class Converted:
    run_id: str
    project: str
    rows: int
    state: RunState


@dataclass
class Segments:
    """Runs already converted in this import, by id: a resumed run's next segment continues them."""

    states: dict[str, RunState] = field(default_factory=dict)


def convert(wandb_dir: Path, run_dir: Path, project: str | None, segments: Segments) -> Converted:
    """Write the Tracklet run directory ``run_dir`` (made here) for the wandb run folder ``wandb_dir``."""
    from google.protobuf.json_format import MessageToDict

    from tracklet.sdk.files import RunFiles
    from tracklet.sdk.local import runlog_name

    wandb_file = sorted(wandb_dir.glob("run-*.wandb"))[0]
    records = read_wandb_file(wandb_file)
    runs = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    if not runs:
        raise Error(f"{wandb_file} has no run record")
    first = runs[0]
    run_id = first.run_id
    previous = segments.states.get(run_id)
    start_time = first.start_time.ToMicroseconds() / 1e6 if first.HasField("start_time") else 0.0
    start: dict[str, Any] = {
        "run_id": run_id, "project": project or first.project or "uncategorized", "entity": first.entity,
        "mode": "offline", **_run_attributes(first), "start_time": start_time,
        "starting_step": previous.step if previous else first.starting_step,
        "runtime_offset": previous.runtime if previous else 0.0, "resumed": previous is not None,
        "resume": "allow", "branch": None, "restore": previous.restore_snapshot() if previous else None,
        "imported_from": {"tool": "wandb", "file": wandb_file.name},
    }
    run_dir.mkdir(parents=True)
    files = RunFiles(run_dir)
    writer = RunLogWriter(run_dir / runlog_name(run_id), first_seq=previous.last_seq + 1 if previous else 1)
    state = RunState()

    def add(kind: RecordType, body: dict[str, Any]) -> None:
        state.apply(Record(writer.append(encode(kind, body)), kind, body))

    add(RecordType.START, start)
    config = _tree(first.config.update)
    config.pop("_wandb", None)
    if config:
        add(RecordType.CONFIG, {"set": config})
    summary: dict[str, Any] = {}
    exit_body: dict[str, Any] | None = None
    last_timestamp = start_time
    partial = {"stdout": "", "stderr": ""}  # console text after the last newline, by stream
    for record in records:
        kind = record.WhichOneof("record_type")
        if kind == "history":
            row = _tree(record.history.item)
            step = record.history.step.num if record.history.HasField("step") else int(row.get("_step", state.step))
            row.pop("_step", None)
            row.pop("_runtime", None)
            last_timestamp = float(row.get("_timestamp", last_timestamp))
            body = (step, last_timestamp, True, row)
            state.apply(Record(writer.append(encode_history(*body)), RecordType.HISTORY,
                               {"step": step, "timestamp": last_timestamp, "commit": True, "data": row}))
        elif kind == "config":
            changed = _tree(record.config.update)
            changed.pop("_wandb", None)
            if changed:
                add(RecordType.CONFIG, {"set": changed})
        elif kind == "run" and record.run is not first:  # name, notes, tags... changed during the run
            now = {"name": state.name, "notes": state.notes, "tags": list(state.tags), "group": state.group,
                   "job_type": state.job_type}
            changes = {key: value for key, value in _run_attributes(record.run).items() if value != now[key]}
            if changes:
                add(RecordType.RUN, changes)
        elif kind == "summary":
            for item in record.summary.update:
                set_path(summary, _path(item), json.loads(item.value_json))
            for item in record.summary.remove:
                remove_path(summary, _path(item))
        elif kind == "environment":
            environment = MessageToDict(record.environment, preserving_proto_field_name=True)
            for key in _SKIPPED_ENVIRONMENT:
                environment.pop(key, None)
            add(RecordType.METADATA, environment)
        elif kind in ("output_raw", "output"):
            output = getattr(record, kind)
            stream = "stderr" if output.output_type == type(output).STDERR else "stdout"
            timestamp = output.timestamp.ToMicroseconds() / 1e6 if output.HasField("timestamp") else last_timestamp
            *lines, partial[stream] = (partial[stream] + output.line).split("\n")  # one record per line
            for line in lines:
                add(RecordType.OUTPUT, {"timestamp": timestamp, "stream": stream, "text": line.removesuffix("\r")})
        elif kind == "exit":
            exit_body = {"exit_code": record.exit.exit_code, "runtime": float(record.exit.runtime)}
    for stream, line in partial.items():
        if line:
            add(RecordType.OUTPUT, {"timestamp": last_timestamp, "stream": stream, "text": line})
    sets, removes = _summary_changes(summary, state.summary)
    if sets or removes:
        add(RecordType.SUMMARY, {"set": sets, "remove": removes})
    copied = _copy_files(wandb_dir / "files", files.files_dir)
    if copied:
        add(RecordType.FILES, {"files": copied})
    if exit_body is not None:
        exit_body["timestamp"] = start_time + exit_body["runtime"] if exit_body["runtime"] else last_timestamp
        add(RecordType.EXIT, exit_body)
    writer.sync()
    writer.close()
    files.write_config(state.config)
    files.write_metadata(state.metadata)
    files.write_summary(state.summary)
    segments.states[run_id] = state
    return Converted(run_id, start["project"], state.rows, state)


def _run_attributes(run: Any) -> dict[str, Any]:
    return {"name": run.display_name or None, "notes": run.notes or None, "tags": list(run.tags),
            "group": run.run_group, "job_type": run.job_type}


def _path(item: Any) -> tuple[str, ...]:
    return tuple(item.nested_key) if item.nested_key else (item.key,)


def _tree(items: Any) -> dict[str, Any]:
    """``{key or nested_key: value_json}`` items as a nested dict."""
    tree: dict[str, Any] = {}
    for item in items:
        set_path(tree, _path(item), json.loads(item.value_json))
    return tree


def _leaves(tree: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in tree.items():
        if type(value) is dict and value and "_type" not in value:
            yield from _leaves(value, prefix + (key,))
        else:
            yield prefix + (key,), value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _summary_changes(wanted: dict[str, Any], derived: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """What to set and remove so that the summary the rows give becomes the original's final summary."""
    have = {path: value for path, value in _leaves(derived) if not path[0].startswith("_")}
    want = {path: value for path, value in _leaves(wanted) if not path[0].startswith("_")}
    sets = [[list(p), v] for p, v in want.items() if p not in have or not _same(have[p], v)]
    removes = [list(p) for p in have if p not in want]
    return sets, removes


def _copy_files(source: Path, target: Path) -> list[dict[str, Any]]:
    copied: list[dict[str, Any]] = []
    if not source.is_dir():
        return copied
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.is_symlink() and not path.exists():
            continue
        relative = path.relative_to(source).as_posix()
        if relative in _OWN_FILES:
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        data = destination.read_bytes()
        copied.append({"path": relative, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    return copied
