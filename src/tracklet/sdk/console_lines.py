"""What the console capture and its tee process share: line assembly, limits, frames, pass-through.

Standard library only, and importable without the ``tracklet`` package: the tee process
(``console_tee``) runs as a plain script so that it starts in milliseconds, not the time an
``import tracklet`` takes, and ``init`` waits for it to start reading.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable

MAX_LINE = 64 * 1024  # characters; longer lines are recorded in pieces of this size
QUIET_FLUSH_S = 1.0  # a partial line is recorded once its stream is quiet this long...
STALE_FLUSH_S = 30.0  # ...or once it has been pending this long (a bar that keeps moving)
MAX_PENDING = 64 * 1024 * 1024  # bytes queued for recording before chunks are dropped
READ_CHUNK = 256 * 1024
SDK_PREFIX = "tracklet: "  # the SDK's own lines (printer.PREFIX), never recorded as the user's output
FRAME_HEADER = struct.Struct(">cI")  # the tee's frames to this process: tag, payload length


class LineAssembler:
    """Turns a stream of text into lines as a terminal would show them.

    ``\\n`` ends a line; ``\\r\\n`` too. A ``\\r`` not followed by ``\\n`` returns to the
    start of the line, so what follows replaces it (a progress bar collapses to its
    last state). Lines longer than ``max_line`` characters are handed on in pieces.
    ANSI escape codes are kept as they are. ``on_line(stream, text)`` gets each line.
    """

    def __init__(self, stream: str, on_line: Callable[[str, str], None], max_line: int = MAX_LINE) -> None:
        self.stream = stream
        self._on_line = on_line
        self._max = max_line
        self._parts: list[str] = []
        self._size = 0
        self._cr = False  # the last character seen was a "\r"
        self.pending_since: float | None = None  # monotonic time the partial line began
        self.last_data = 0.0  # monotonic time of the last feed

    @property
    def pending(self) -> bool:
        """Whether a partial line (text without its newline yet) is held."""
        return self._size > 0

    def feed(self, text: str, now: float | None = None) -> None:
        if not text:
            return
        now = time.monotonic() if now is None else now
        self.last_data = now
        if self._cr:
            self._cr = False
            if text[0] != "\n":
                self._reset()
        segments = text.split("\n")
        tail = segments.pop()
        for segment in segments:
            if self._parts:
                self._parts.append(segment)
                line = "".join(self._parts)
                self._reset()
            else:
                line = segment
            if "\r" in line:
                line = line.rstrip("\r").rpartition("\r")[2]
            self._emit(line)
        if tail:
            if tail[-1] == "\r":
                self._cr = True
                tail = tail.rstrip("\r")
            if "\r" in tail:
                self._reset()
                tail = tail.rpartition("\r")[2]
            if tail:
                if self.pending_since is None:
                    self.pending_since = now
                self._parts.append(tail)
                self._size += len(tail)
                if self._size > self._max:
                    held = "".join(self._parts)
                    whole = len(held) - len(held) % self._max
                    if whole == len(held):
                        whole -= self._max  # keep the last piece: it may still grow or be replaced
                    for start in range(0, whole, self._max):
                        self._on_line(self.stream, held[start:start + self._max])
                    rest = held[whole:]
                    self._parts = [rest]
                    self._size = len(rest)

    def flush(self) -> None:
        """Hand on the partial line, if any, as a line of its own."""
        if self._parts:
            line = "".join(self._parts)
            self._reset()
            self._emit(line)
        self._cr = False

    def _reset(self) -> None:
        self._parts = []
        self._size = 0
        self.pending_since = None

    def _emit(self, line: str) -> None:
        if len(line) <= self._max:
            self._on_line(self.stream, line)
        else:
            for start in range(0, len(line), self._max):
                self._on_line(self.stream, line[start:start + self._max])


def write_all(fd: int, data: bytes) -> None:
    """Pass output through to the original fd; a closed or broken one loses only the copy."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:
            continue
        except BlockingIOError:
            import select

            select.select([], [fd], [], 1.0)
            continue
        except OSError:
            return
        view = view[written:]
