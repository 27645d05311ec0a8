"""Byte-level framing of the run log: header, frames, writer and reader.

File layout (all integers little-endian)::

    header  = b"TRKL" | u16 format version | u16 flags (0)          8 bytes
    frame   = u32 length | u32 crc32 | u64 seq | payload[length]     16 + length bytes

``crc32`` is CRC-32/IEEE (``zlib.crc32``) over the 8 bytes of ``seq`` followed by
the payload. Sequence numbers increase by exactly one from frame to frame. A
reader that meets a torn or corrupt frame scans forward for the next frame whose
header, checksum and sequence number fit, and carries on from there (reporting the
bytes it skipped); damage with nothing intact after it is the end of what is readable.
"""

from __future__ import annotations

import errno
import os
import re
import struct
import threading
import warnings
import zlib
from collections.abc import Callable
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
_NONZERO = re.compile(rb"[^\x00]")
# Disk space the writer holds in a file beside the log, so that when the disk fills up the
# records saying so (and the exit record) still fit: half is freed at the failure, half at the end.
RESERVE_BYTES = 128 * 1024


class RunLogDamaged(UserWarning):
    """Part of a run log could not be read (torn, corrupt or out-of-sequence frames); the rest is intact."""


class RunLogNewerRecord(RunLogDamaged):
    """A record from a newer run log format version was skipped (this Tracklet cannot read it)."""


class RecordingStopped(Exception):
    """The run log could not be written (e.g. its disk is full), so the writer appends nothing more.

    ``cause`` is the error of the write that failed. That write was undone (the file ends
    with the last whole frame), so everything appended before it is intact.
    """

    def __init__(self, cause: OSError) -> None:
        super().__init__(f"the run log could not be written: {cause}")
        self.cause = cause


@dataclass(frozen=True, slots=True)
class Frame:
    seq: int
    offset: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Skip:
    """Damaged bytes a reader skipped to get to the next intact frame.

    ``missing`` is how many sequence numbers the damage swallowed (``first_missing`` is
    the first of them): 0 when the damage held no whole record (e.g. bytes inserted).
    """

    offset: int
    length: int
    reason: str
    first_missing: int
    missing: int

    def describe(self) -> str:
        lost = f"{self.missing} record{'s' if self.missing != 1 else ''} lost" if self.missing else "no record lost"
        return f"skipped {self.length} damaged bytes at byte {self.offset} ({self.reason}); {lost}"


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
        #: The error that stopped recording (see :class:`RecordingStopped`), or None.
        self.failure: OSError | None = None
        # log() and the capture threads (console, system metrics) append concurrently
        self._lock = threading.Lock()
        self.reserve_path = self.path.with_name(f".{self.path.name}.reserve")
        self._hold_reserve()

    def append(self, payload: bytes) -> int:
        """Write one frame holding ``payload``; return its sequence number.

        Raises :class:`RecordingStopped` when the write fails (and from then on): a
        write that fails for lack of space is undone, so the file stays readable.
        """
        return self._append(payload, closing=False)

    def append_closing(self, payload: bytes) -> int:
        """Write a frame even after recording stopped, first freeing half of what is left of the
        reserve: for the record saying that recording stopped, and for the exit record."""
        self.free_reserve(os.path.getsize(self.reserve_path) // 2 if self.reserve_path.exists() else 0)
        return self._append(payload, closing=True)

    def _append(self, payload: bytes, closing: bool) -> int:
        if self._fd is None:
            raise ValueError("run log is closed")
        if len(payload) > MAX_PAYLOAD:
            raise ValueError(f"record of {len(payload)} bytes exceeds the {MAX_PAYLOAD} byte limit")
        with self._lock:
            if self.failure is not None and not closing:
                raise RecordingStopped(self.failure)
            seq = self.next_seq
            frame = FRAME_HEAD.pack(len(payload), zlib.crc32(payload, zlib.crc32(SEQ.pack(seq))), seq) + payload
            try:
                _write_all(self._fd, frame)
            except OSError as exc:
                self._undo_partial_frame()
                if self.failure is None:
                    self.failure = exc
                raise RecordingStopped(exc) from exc
            self.next_seq = seq + 1
            self.bytes_written += len(frame)
        return seq

    def stop(self, cause: OSError) -> None:
        """Stop recording because a file of the run beside the log (a media file, an artifact's
        copy) could not be written: from now on :meth:`append` raises :class:`RecordingStopped`,
        as after a failed write of the log itself."""
        with self._lock:
            if self.failure is None:
                self.failure = cause

    def _undo_partial_frame(self) -> None:
        """Cut off what a failed write left of its frame (shrinking a file needs no space)."""
        try:
            os.ftruncate(self._fd, self.bytes_written)  # type: ignore[arg-type]
        except OSError:  # the reader still stops at a torn frame, or resynchronises after it
            pass

    def _hold_reserve(self) -> None:
        try:
            fd = os.open(self.reserve_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError:  # e.g. the disk is already full: no reserve, the log itself still works
            return
        try:
            try:
                os.posix_fallocate(fd, 0, RESERVE_BYTES)
            except (OSError, AttributeError):  # a filesystem without fallocate: write the bytes
                _write_all(fd, bytes(RESERVE_BYTES))
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
        finally:
            os.close(fd)

    def free_reserve(self, keep: int = 0) -> None:
        """Shrink the reserve file to ``keep`` bytes; at 0, remove it."""
        try:
            if keep > 0:
                os.truncate(self.reserve_path, keep)
            else:
                os.unlink(self.reserve_path)
        except OSError:
            pass

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
            self.free_reserve()

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
    previous call. It never returns a damaged frame. Where intact frames follow the
    damage it skips to them and notes a :class:`Skip` in :attr:`skips`; where nothing
    intact follows, it stops before the damage and sets :attr:`damage` (retrying from
    the same place on the next call, since a frame being written right now looks torn
    for a moment). :meth:`frames` reads the whole file once and warns with
    :class:`RunLogDamaged` for each skip and for damage at the end.

    ``gap_payload``, if given, makes a payload for each sequence number that skipped
    damage swallowed; those frames are returned in place of the lost ones (so a reader
    of records sees where, and that, something was lost).
    """

    def __init__(self, path: str | os.PathLike[str], gap_payload: Callable[[Skip], bytes] | None = None) -> None:
        self.path = Path(path)
        self.offset = 0
        self.next_seq: int | None = None
        self.damage: str | None = None
        self.skips: list[Skip] = []
        self._gap_payload = gap_payload
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
            damage = self._damage_at(data, pos)
            if damage is None:
                length, _crc, seq = FRAME_HEAD.unpack_from(data, pos)
                end = pos + FRAME_HEAD.size + length
                frames.append(Frame(seq, self.offset + pos, data[pos + FRAME_HEAD.size : end]))
                self.next_seq = seq + 1
                pos = end
                continue
            if damage == "end":
                break
            found = self._next_intact_frame(data, pos) if not damage.startswith("sequence") else None
            if found is None:  # nothing intact after it (yet): the readable part ends here
                self.damage = f"{damage} at byte {self.offset + pos}"
                break
            expected = self.next_seq
            assert expected is not None
            seq = FRAME_HEAD.unpack_from(data, found)[2]
            if damage.startswith("torn frame ("):  # intact frames follow: its length was corrupt, not cut short
                damage = f"corrupt frame length {FRAME_HEAD.unpack_from(data, pos)[0]}"
            skip = Skip(self.offset + pos, found - pos, damage, expected, seq - expected)
            self.skips.append(skip)
            if self._gap_payload is not None:
                frames.extend(Frame(s, skip.offset, self._gap_payload(skip)) for s in range(expected, seq))
            self.next_seq = seq
            pos = found
        self.offset += pos
        self._buffer = data[pos:]
        return frames

    def _damage_at(self, data: bytes, pos: int) -> str | None:
        """What is wrong with the frame at ``pos``: None if it is intact, "end" if no bytes are left."""
        if len(data) - pos < FRAME_HEAD.size:
            return "torn frame header" if len(data) > pos else "end"
        length, crc, seq = FRAME_HEAD.unpack_from(data, pos)
        if length > MAX_PAYLOAD:
            return f"impossible frame length {length}"
        end = pos + FRAME_HEAD.size + length
        if end > len(data):
            return f"torn frame (needs {length} bytes)"
        if zlib.crc32(data[pos + FRAME_HEAD.size : end], zlib.crc32(data[pos + 8 : pos + FRAME_HEAD.size])) != crc:
            return "checksum mismatch"
        if self.next_seq is not None and seq != self.next_seq:
            return f"sequence jumps from {self.next_seq - 1} to {seq}"
        return None

    def _next_intact_frame(self, data: bytes, damaged: int) -> int | None:
        """The position of the first intact frame after the damage at ``damaged`` that continues
        the sequence: its number is the expected one, or later by no more than the skipped bytes
        could have held (a frame takes at least 16 of them). None if there is none."""
        expected = self.next_seq
        if expected is None:  # damage before the first frame: nothing to check candidates against
            return None
        # Candidates carry a sequence number near ``expected``: look for its upper 6 bytes
        # (in this 65,536 block or the next) with bytes.find instead of trying every offset.
        patterns = list({SEQ.pack(expected)[2:], SEQ.pack(expected + 0x10000)[2:]})
        hits = [data.find(p, damaged + 1 + 10) for p in patterns]
        while True:
            live = [h for h in hits if h >= 0]
            if not live:
                return None
            hit = min(live)
            candidate = hit - 10  # the 6 bytes sit 10 bytes into the frame header
            if self._continues_at(data, candidate, damaged, expected):
                return candidate
            search = hit + 1
            if data[hit - 1] == 0 and data[hit] == 0:  # inside a run of zeros (a zero-filled block)
                # a sequence number needs a non-zero byte: none starts before the run's end
                nonzero = _NONZERO.search(data, hit)
                search = max(search, (nonzero.start() if nonzero else len(data)) - 5)
            hits = [h if h >= search else data.find(p, search) for p, h in zip(patterns, hits)]

    @staticmethod
    def _continues_at(data: bytes, candidate: int, damaged: int, expected: int) -> bool:
        length, crc, seq = FRAME_HEAD.unpack_from(data, candidate)
        if not expected <= seq <= expected + (candidate - damaged) // FRAME_HEAD.size:
            return False
        end = candidate + FRAME_HEAD.size + length
        if length > MAX_PAYLOAD or end > len(data):
            return False
        return zlib.crc32(data[candidate + FRAME_HEAD.size : end], zlib.crc32(data[candidate + 8 : candidate + 16])) == crc

    def notes(self) -> list[str]:
        """What this reader skipped and where it stopped, one sentence each."""
        notes = [skip.describe() for skip in self.skips]
        if self.damage:
            notes.append(f"stopped at damage ({self.damage}); nothing intact follows it")
        return notes

    def frames(self) -> list[Frame]:
        """Every intact frame of the file; warns with :class:`RunLogDamaged` about damage."""
        frames = self.read_available()
        for skip in self.skips:
            warnings.warn(RunLogDamaged(f"{self.path}: {skip.describe()}"), stacklevel=2)
        if self.damage:
            warnings.warn(
                RunLogDamaged(
                    f"{self.path}: stopped at damage ({self.damage}); "
                    f"the {len(frames)} records before it are intact"
                ),
                stacklevel=2,
            )
        return frames
