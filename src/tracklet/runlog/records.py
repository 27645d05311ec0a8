"""The record schema: what each frame's payload means.

A payload is a MessagePack array ``[type, body]``. ``type`` is a
:class:`RecordType` code. ``history`` bodies are positional arrays
``[step, timestamp, commit, data]`` because they are by far the most frequent;
every other body is a map, so fields can be added without breaking readers
(readers ignore fields they do not know). Floats are IEEE-754 doubles, so NaN
payloads and infinities round-trip bit for bit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import msgpack


class RecordType(enum.IntEnum):
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


def decode(seq: int, payload: bytes) -> Record:
    type_code, body = msgpack.unpackb(payload, raw=False, strict_map_key=False)
    try:
        kind = RecordType(type_code)
    except ValueError:
        raise ValueError(f"record {seq} has unknown type {type_code}") from None
    if kind is RecordType.HISTORY:
        step, timestamp, commit, data = body
        body = {"step": step, "timestamp": timestamp, "commit": commit, "data": data}
    return Record(seq, kind, body)
