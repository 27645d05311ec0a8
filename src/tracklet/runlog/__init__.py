"""The run log: one append-only, framed, checksummed file per run.

This package is the contract between the SDK (which writes the log), the agent
(which tails and uploads it) and the server (which replays it). Its format is
specified in ``docs/runlog-format.md``; it imports nothing of Tracklet's but
:mod:`tracklet.errors`.
"""

from tracklet.runlog.framing import (
    FORMAT_VERSION,
    Frame,
    RecordingStopped,
    RunLogDamaged,
    RunLogNewerRecord,
    RunLogReader,
    RunLogWriter,
    is_locked,
)
from tracklet.runlog.records import (
    MEDIA_TYPES,
    Record,
    RecordType,
    decode,
    encode,
    encode_damage,
    encode_history,
    media_type,
)
from tracklet.runlog.state import RunState

__all__ = [
    "MEDIA_TYPES",
    "media_type",
    "FORMAT_VERSION",
    "Frame",
    "Record",
    "RecordType",
    "RecordingStopped",
    "RunLogDamaged",
    "RunLogNewerRecord",
    "RunLogReader",
    "RunLogWriter",
    "RunState",
    "decode",
    "encode",
    "encode_damage",
    "encode_history",
    "is_locked",
]
