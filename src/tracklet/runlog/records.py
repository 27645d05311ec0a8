"""The record schema: what each frame's payload means.

A payload is a MessagePack array ``[type, body]``. ``type`` is a
:class:`RecordType` code. ``history`` bodies are positional arrays
``[step, timestamp, commit, data]`` because they are by far the most frequent;
every other body is a map, so fields can be added without breaking readers
(readers ignore fields they do not know). Floats are IEEE-754 doubles, so NaN
payloads and infinities round-trip bit for bit.

A record that needs a newer reader than format 1 (a new type, or a new meaning of an
old one) carries that format version as a third element, ``[type, body, version]``.
A reader skips a record of a newer version than it reads: :func:`decode` returns it
as a ``NEWER`` record that says so, and replaying ignores it. A record without a
version whose type is unknown is an error (corrupt, or a writer's bug).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import msgpack

from tracklet.runlog.framing import FORMAT_VERSION, Skip


class RecordType(enum.IntEnum):
    NEWER = 0  # never written: what decode() makes of a record this version cannot read (see the docstring)
    START = 1  # a run (or a resumed segment of it) starts: identity, steps, restored state
    CONFIG = 2  # config keys set: {"set": {key: value}}
    HISTORY = 3  # values logged at a step: [step, timestamp, commit, data]
    SUMMARY = 4  # explicit summary changes: {"set": {key: value}, "remove": [[path...]]}
    METRIC = 5  # define_metric: {"name", "step_metric", "step_sync", "hidden", "summary"}
    RUN = 6  # run attributes changed: any of name, notes, tags, group, job_type
    METADATA = 7  # environment: program, args, python, host, os, ...
    EXIT = 8  # the run ended: {"exit_code", "timestamp", "runtime"}
    OUTPUT = 9  # one console line: {"timestamp", "stream": "stdout"|"stderr", "text"}
    FILES = 10  # files written into the run's files/ folder: {"files": [{"path", "size", "sha256"}]}
    STATS = 11  # reserved: system metrics samples
    ARTIFACT = 12  # an artifact logged or used: {"action": "log" | "use", ...} (docs/artifacts.md)
    LOSS = 13  # data of the run was lost here: {"reason": "disk_full" | "damaged", ...} (docs/runlog-format.md)


# Media in history rows (docs/media.md): a dict whose "_type" is one of these; the server indexes them.
MEDIA_TYPES = frozenset({"image-file", "images", "histogram", "table-file", "audio-file", "video-file", "html-file"})


def media_type(value: Any) -> str | None:
    """The media type of a logged value, or None for anything else."""
    kind = value.get("_type") if type(value) is dict else None
    return kind if kind in MEDIA_TYPES else None


@dataclass(slots=True)
class Record:
    """A decoded record. For ``HISTORY`` the body has ``step``, ``timestamp``, ``commit`` and ``data``."""

    seq: int
    type: RecordType
    body: dict[str, Any] = field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "type": self.type.name.lower(), **self.body}


_packer = msgpack.Packer(use_bin_type=True, autoreset=True)
_HISTORY = int(RecordType.HISTORY)


def encode(type: RecordType, body: dict[str, Any]) -> bytes:
    """Encode any record but ``HISTORY`` (see :func:`encode_history`)."""
    return _packer.pack((int(type), body))


def encode_history(step: int, timestamp: float, commit: bool, data: dict[str, Any]) -> bytes:
    return _packer.pack((_HISTORY, (step, timestamp, commit, data)))


def encode_damage(skip: Skip) -> bytes:
    """The ``LOSS`` record a reader puts in place of each record that damage to the file swallowed."""
    return encode(RecordType.LOSS, {"reason": "damaged", "offset": skip.offset, "bytes": skip.length,
                                    "records": skip.missing, "detail": skip.reason})


def decode(seq: int, payload: bytes) -> Record:
    items = msgpack.unpackb(payload, raw=False, strict_map_key=False)
    if type(items) not in (list, tuple) or len(items) not in (2, 3):
        raise ValueError(f"record {seq} is not a [type, body] array")
    type_code, body = items[0], items[1]
    version = items[2] if len(items) == 3 else 1
    if type(version) is not int:
        raise ValueError(f"record {seq} has a format version that is not an integer: {version!r}")
    if version > FORMAT_VERSION:
        return _newer(seq, type_code, f"it is from run log format version {version}; "
                      f"this Tracklet reads up to version {FORMAT_VERSION}", version)
    try:
        kind = RecordType(type_code)
    except ValueError:  # a version 1 record of a type nobody wrote: corrupt, or a writer's bug
        raise ValueError(f"record {seq} has unknown type {type_code}") from None
    if kind is RecordType.NEWER:
        raise ValueError(f"record {seq} has type 0, which no writer writes")
    if kind is RecordType.HISTORY:
        step, timestamp, commit, data = body
        body = {"step": step, "timestamp": timestamp, "commit": commit, "data": data}
    return Record(seq, kind, body)


def _newer(seq: int, type_code: Any, why: str, version: Any) -> Record:
    message = f"record {seq} skipped: {why}; upgrade tracklet to read it"
    return Record(seq, RecordType.NEWER, {"record_type": type_code, "format_version": version, "message": message})
