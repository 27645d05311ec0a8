"""Byte-level framing of the run log: header, frames, writer and reader.

File layout (all integers little-endian)::

    header  = b"TRKL" | u16 format version | u16 flags (0)          8 bytes
    frame   = u32 length | u32 crc32 | u64 seq | payload[length]     16 + length bytes

``crc32`` is CRC-32/IEEE (``zlib.crc32``) over the 8 bytes of ``seq`` followed by
the payload. Sequence numbers increase by exactly one from frame to frame. A
reader stops at the first frame that is incomplete (a torn tail), fails its
checksum, or breaks the sequence; everything before it is intact.
"""

from __future__ import annotations

import os
import struct
import threading
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

try:  # flock tells readers whether the writing process is still alive.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

MAGIC = b"TRKL"
FORMAT_VERSION = 1
HEADER = struct.Struct("<4sHH")
FRAME_HEAD = struct.Struct("<IIQ")
SEQ = struct.Struct("<Q")
# Larger frames are refused by the writer and treated as damage by readers.
MAX_PAYLOAD = 64 * 1024 * 1024


class RunLogDamaged(UserWarning):
    """A run log ends in a torn, corrupt or out-of-sequence frame; records before it are intact."""


@dataclass(frozen=True, slots=True)
class Frame:
    seq: int
    offset: int
    payload: bytes


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class RunLogWriter:
    """Appends frames to a new run log file.

    Each :meth:`append` hands the whole frame to the operating system with one
    ``write`` call before returning, so a killed process loses nothing it appended.
    The file is created exclusively (never overwritten) and held under an
    exclusive ``flock`` for as long as it is open.
    """

    def __init__(self, path: str | os.PathLike[str], first_seq: int = 1) -> None:
        self.path = Path(path)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        self._fd: int | None = os.open(self.path, flags, 0o644)
        if fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        _write_all(self._fd, HEADER.pack(MAGIC, FORMAT_VERSION, 0))
        self.next_seq = first_seq
        self.bytes_written = HEADER.size
        self.bytes_synced = 0
        # log() and the capture threads (console, system metrics) append concurrently
        self._lock = threading.Lock()

    def append(self, payload: bytes) -> int:
        """Write one frame holding ``payload``; return its sequence number."""
        if self._fd is None:
            raise ValueError("run log is closed")
        if len(payload) > MAX_PAYLOAD:
            raise ValueError(f"record of {len(payload)} bytes exceeds the {MAX_PAYLOAD} byte limit")
        with self._lock:
            seq = self.next_seq
            frame = FRAME_HEAD.pack(len(payload), zlib.crc32(payload, zlib.crc32(SEQ.pack(seq))), seq) + payload
            _write_all(self._fd, frame)
            self.next_seq = seq + 1
            self.bytes_written += len(frame)
        return seq

    def sync(self) -> None:
        """Make everything appended so far durable on disk (fdatasync where there is one)."""
        fd = self._fd
        if fd is not None:
            written = self.bytes_written
            getattr(os, "fdatasync", os.fsync)(fd)
            self.bytes_synced = written

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # also releases the flock
            self._fd = None

    @property
    def closed(self) -> bool:
        return self._fd is None


def is_locked(path: str | os.PathLike[str]) -> bool:
    """True while a live process holds the run log open for writing."""
    if fcntl is None:  # pragma: no cover
        return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


class RunLogReader:
    """Reads frames from a run log, optionally following it while it grows.

    :meth:`read_available` returns the complete, valid frames written since the
    previous call. It never returns a damaged frame: it stops before it and sets
    :attr:`damage` (retrying from the same place on the next call, since a frame
    being written right now looks torn for a moment). :meth:`frames` reads the
    whole file once and warns with :class:`RunLogDamaged` if it ends in damage.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.offset = 0
        self.next_seq: int | None = None
        self.damage: str | None = None
        self._buffer = b""

    def _check_header(self, data: bytes) -> None:
        magic, version, _flags = HEADER.unpack_from(data)
        if magic != MAGIC:
            raise ValueError(f"{self.path} is not a Tracklet run log (bad magic {magic!r})")
        if version > FORMAT_VERSION:
            raise ValueError(
                f"{self.path} uses run log format {version}; this Tracklet reads up to {FORMAT_VERSION}. "
                "Upgrade tracklet to read it."
            )

    def read_available(self) -> list[Frame]:
        with open(self.path, "rb") as f:
            f.seek(self.offset + len(self._buffer))
            self._buffer += f.read()
        data = self._buffer
        pos = 0
        if self.offset == 0:
            if len(data) < HEADER.size:
                self.damage = "file is shorter than its header" if data else None
                return []
            self._check_header(data)
            pos = HEADER.size
        frames: list[Frame] = []
        self.damage = None
        while True:
            if len(data) - pos < FRAME_HEAD.size:
                if len(data) > pos:
                    self.damage = f"torn frame header at byte {self.offset + pos}"
                break
            length, crc, seq = FRAME_HEAD.unpack_from(data, pos)
            if length > MAX_PAYLOAD:
                self.damage = f"impossible frame length {length} at byte {self.offset + pos}"
                break
            end = pos + FRAME_HEAD.size + length
            if end > len(data):
                self.damage = f"torn frame at byte {self.offset + pos} (needs {length} bytes)"
                break
            payload = data[pos + FRAME_HEAD.size : end]
            if zlib.crc32(SEQ.pack(seq) + payload) != crc:
                self.damage = f"checksum mismatch in frame at byte {self.offset + pos}"
                break
            if self.next_seq is not None and seq != self.next_seq:
                self.damage = f"sequence jumps from {self.next_seq - 1} to {seq} at byte {self.offset + pos}"
                break
            frames.append(Frame(seq, self.offset + pos, payload))
            self.next_seq = seq + 1
            pos = end
        self.offset += pos
        self._buffer = data[pos:]
        return frames

    def frames(self) -> list[Frame]:
        """Every intact frame of the file; warns with :class:`RunLogDamaged` if it ends in damage."""
        frames = self.read_available()
        if self.damage:
            warnings.warn(
                RunLogDamaged(
                    f"{self.path}: stopped at damage ({self.damage}); "
                    f"the {len(frames)} records before it are intact"
                ),
                stacklevel=2,
            )
        return frames
