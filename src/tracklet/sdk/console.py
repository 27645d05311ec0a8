"""Console capture: the training process's stdout and stderr, line by line, into the run.

Two ways to capture (setting ``console``):

- ``redirect``: file-descriptor level. Fds 1 and 2 are replaced by pipes; a reader
  thread copies every chunk, unchanged and at once, to the original fds (the user
  sees everything as before) and queues it for recording. It also catches what C
  extensions and child processes write.
- ``wrap``: Python level. ``sys.stdout.write`` and ``sys.stderr.write`` are wrapped;
  ``os.write(1, ...)`` and C-level output are not seen.

``auto`` is ``redirect`` where fds 1 and 2 are open, else ``wrap``.

A processor thread (never the training thread) assembles lines (see
:class:`LineAssembler`), records each as an ``OUTPUT`` record and appends it to
``files/output.log``. Recording never blocks or breaks the training process: a
failure to record drops that chunk from the record, output still passes through,
and more than :data:`MAX_PENDING` bytes waiting to be recorded are dropped (and
counted in one line in the log) rather than held.
"""

from __future__ import annotations

import codecs
import collections
import os
import selectors
import sys
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tracklet.runlog import RecordType
from tracklet.sdk.printer import PREFIX

MAX_LINE = 64 * 1024  # characters; longer lines are recorded in pieces of this size
QUIET_FLUSH_S = 1.0  # a partial line is recorded once its stream is quiet this long...
STALE_FLUSH_S = 30.0  # ...or once it has been pending this long (a bar that keeps moving)
MAX_PENDING = 64 * 1024 * 1024  # bytes queued for recording before chunks are dropped
READ_CHUNK = 256 * 1024
PIPE_SIZE = 1024 * 1024
STOP_DRAIN_S = 5.0  # at most this long to drain the pipes at stop()
STOP_PROCESS_S = 30.0
READ_PAUSE_S = 0.005  # the reader rests this long after each round of reads
BATCH_S = 0.02  # the processor gathers this long after being woken
SLICE_BYTES = 64 * 1024  # a backlog is recorded this much at a time...
BACKLOG_PAUSE = 4.0  # ...pausing this many times as long as the slice took (at most ~20% of a CPU)  # at most this long to record what is queued at stop()

SDK_PREFIX = PREFIX + " "
Emit = Callable[[RecordType, dict[str, Any]], None]


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


def resolve_mode(mode: str) -> str:
    """``auto`` → ``redirect`` where fds 1 and 2 are open (and pipes exist), else ``wrap``."""
    if mode != "auto":
        return mode
    if sys.platform == "win32":
        return "wrap"
    try:
        os.fstat(1)
        os.fstat(2)
    except OSError:
        return "wrap"
    return "redirect"


_captures: weakref.WeakSet[ConsoleCapture] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # The threads did not survive the fork: a child's wrapped writes only pass through
    # (in redirect mode the child writes into the parent's pipes, and the parent records it).
    for capture in list(_captures):
        capture._forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class ConsoleCapture:
    """Captures stdout and stderr between :meth:`start` and :meth:`stop` (a run ``Service``)."""

    def __init__(self, mode: str, emit: Emit, output_path: str | os.PathLike[str] | None) -> None:
        self.mode = resolve_mode(mode)
        if self.mode not in ("redirect", "wrap"):
            raise ValueError(f"console capture mode must be redirect, wrap or auto, got {mode!r}")
        self._emit = emit
        self._output_path = Path(output_path) if output_path is not None else None
        self._pid = os.getpid()
        self._forked = False
        self._started = False
        self._stopped = False
        self._closed = False  # nothing is recorded any more
        self._queue: collections.deque[tuple[str, bytes | str]] = collections.deque()
        self._put_bytes = 0
        self._taken_bytes = 0
        self.dropped = 0  # bytes not recorded (queue full or a failure to record)
        self._dropped_noted = 0
        self._wake = threading.Event()
        self._stop_event = threading.Event()
        self._finishing = False
        self._lines: list[tuple[str, str]] = []
        self._assemblers = {name: LineAssembler(name, self._collect) for name in ("stdout", "stderr")}
        self._decoders = {name: codecs.getincrementaldecoder("utf-8")("replace") for name in ("stdout", "stderr")}
        self._log: Any = None
        self._processor: threading.Thread | None = None
        # redirect
        self._reader: threading.Thread | None = None
        self._saved: dict[int, int] = {}
        self._passthrough_only = False
        self._drained = threading.Event()
        self._stopping = False
        self._wake_w: int | None = None
        # wrap
        self._wrapped: list[tuple[Any, Any]] = []

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._processor = threading.Thread(target=self._process_loop, name="tracklet-console", daemon=True)
        self._processor.start()
        if self.mode == "redirect":
            try:
                self._start_redirect()
                _captures.add(self)
                return
            except OSError:
                self._undo_redirect()
                self.mode = "wrap"
        self._start_wrap()
        _captures.add(self)

    def stop(self) -> None:
        """Restore stdout and stderr, record what is left, close ``output.log``. Safe at exit."""
        if not self._started or self._stopped or self._forked or os.getpid() != self._pid:
            return
        self._stopped = True
        if self.mode == "redirect":
            self._stop_redirect()
        else:
            self._stop_wrap()
        self._finishing = True
        self._stop_event.set()
        self._wake.set()
        if self._processor is not None:
            self._processor.join(STOP_PROCESS_S)
        self._closed = True
        _captures.discard(self)

    # -- redirect ---------------------------------------------------------------------

    def _start_redirect(self) -> None:
        _flush_python_streams()
        pipes: dict[int, tuple[int, int]] = {}
        try:
            for fd in (1, 2):
                os.fstat(fd)
                r, w = os.pipe()
                pipes[fd] = (r, w)
                _enlarge_pipe(w)
        except OSError:
            for r, w in pipes.values():
                os.close(r)
                os.close(w)
            raise
        wake_r, self._wake_w = os.pipe()
        for fd in (1, 2):
            self._saved[fd] = os.dup(fd)
        readers = {}
        for fd, (r, w) in pipes.items():
            os.dup2(w, fd)
            os.close(w)
            readers[r] = ("stdout" if fd == 1 else "stderr", self._saved[fd])
        self._reader = threading.Thread(target=self._read_loop, args=(readers, wake_r), name="tracklet-console-reader",
                                        daemon=True)
        self._reader.start()

    def _undo_redirect(self) -> None:
        for fd, saved in self._saved.items():
            try:
                os.dup2(saved, fd)
                os.close(saved)
            except OSError:
                pass
        self._saved = {}

    def _stop_redirect(self) -> None:
        _flush_python_streams()
        for fd, saved in self._saved.items():
            try:
                os.dup2(saved, fd)  # closes our pipe's write end: the reader sees EOF
            except OSError:
                pass
        self._stopping = True
        if self._wake_w is not None:
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass
        self._drained.wait(STOP_DRAIN_S)
        self._passthrough_only = True

    def _read_loop(self, readers: dict[int, tuple[str, int]], wake_r: int) -> None:
        selector = selectors.DefaultSelector()
        for r in readers:
            selector.register(r, selectors.EVENT_READ)
        selector.register(wake_r, selectors.EVENT_READ)
        try:
            while readers:
                events = selector.select(0.05 if self._stopping and not self._drained.is_set() else None)
                if not events and self._stopping:
                    # Quiet after the fds were restored: what we wrote is all read. A child
                    # process may still hold the pipe; keep passing its output through.
                    self._passthrough_only = True
                    self._drained.set()
                    continue
                for key, _ in events:
                    fd = key.fd
                    if fd == wake_r:
                        os.read(wake_r, 64)
                        continue
                    stream, original = readers[fd]
                    try:
                        data = os.read(fd, READ_CHUNK)
                    except InterruptedError:
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        selector.unregister(fd)
                        os.close(fd)
                        del readers[fd]
                        continue
                    _write_all(original, data)
                    if not self._passthrough_only:
                        self._put(stream, data)
                if not self._stopping:
                    # Let a flood gather in the (enlarged) pipe: at most ~200 wake-ups a second,
                    # so the training thread is not interrupted for every small write.
                    time.sleep(READ_PAUSE_S)
        finally:
            self._passthrough_only = True
            self._drained.set()
            selector.close()
            wake_w, self._wake_w = self._wake_w, None
            for fd in (wake_r, wake_w) if wake_w is not None else (wake_r,):
                try:
                    os.close(fd)
                except OSError:
                    pass
            for saved in self._saved.values():
                try:
                    os.close(saved)
                except OSError:
                    pass

    # -- wrap -----------------------------------------------------------------------

    def _start_wrap(self) -> None:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name, None)
            if stream is None:
                continue
            original = stream.write
            wrapper = self._make_wrapper(name, original)
            try:
                stream.write = wrapper
            except (AttributeError, TypeError):
                continue
            self._wrapped.append((stream, wrapper))

    def _make_wrapper(self, name: str, original: Callable[[str], int]) -> Callable[[str], int]:
        put = self._put

        def write(text: str) -> int:
            result = original(text)
            if not self._passthrough_only and not self._forked:
                try:
                    if isinstance(text, str):
                        put(name, text)
                except Exception:  # noqa: BLE001, S110 - recording must never break a print
                    pass
            return result

        write.__wrapped__ = original  # type: ignore[attr-defined]
        return write

    def _stop_wrap(self) -> None:
        _flush_python_streams()
        self._passthrough_only = True
        for stream, wrapper in self._wrapped:
            try:
                if stream.__dict__.get("write") is wrapper:
                    del stream.write
            except (AttributeError, TypeError):
                pass
        self._wrapped = []

    # -- recording (the processor thread) ---------------------------------------------

    def _put(self, stream: str, data: bytes | str) -> None:
        # Two counters, each written by one side (producers, processor), instead of a lock.
        if self._put_bytes - self._taken_bytes > MAX_PENDING:
            self.dropped += len(data)
        else:
            self._put_bytes += len(data)
            self._queue.append((stream, data))
        if not self._wake.is_set():
            self._wake.set()

    def _collect(self, stream: str, text: str) -> None:
        if stream == "stderr" and text.startswith(SDK_PREFIX):
            return  # the SDK's own lines (tracklet: ...) are about the run, not the program's output
        self._lines.append((stream, text))

    def _process_loop(self) -> None:
        queue = self._queue
        assemblers = self._assemblers
        while True:
            timeout = 0.25 if any(a.pending for a in assemblers.values()) else None
            self._wake.wait(timeout)
            if not self._finishing:
                self._stop_event.wait(BATCH_S)  # gather a batch: a burst of writes costs one wake-up
            self._wake.clear()
            finishing = self._finishing
            while True:
                began = time.perf_counter()
                try:
                    now = time.monotonic()
                    taken = 0
                    while queue and taken < SLICE_BYTES:
                        stream, data = queue.popleft()
                        self._taken_bytes += len(data)
                        taken += len(data)
                        text = self._decoders[stream].decode(data) if isinstance(data, bytes) else data
                        assemblers[stream].feed(text, now)
                    for assembler in assemblers.values():
                        if assembler.pending and (
                            (finishing and not queue)
                            or now - assembler.last_data >= QUIET_FLUSH_S
                            or now - (assembler.pending_since or now) >= STALE_FLUSH_S
                        ):
                            assembler.flush()
                    self._record()
                except Exception:  # noqa: BLE001 - never let the capture thread die
                    self._lines = []
                if not queue:
                    break
                if not finishing:
                    # A flood: record it in slices, leaving the training thread most of the
                    # time (and the GIL); the backlog is recorded at full speed at stop().
                    self._stop_event.wait(max((time.perf_counter() - began) * BACKLOG_PAUSE, 0.001))
                    finishing = self._finishing
            if finishing:
                break
        if self._log is not None:
            try:
                self._log.close()
            except OSError:
                pass

    def _record(self) -> None:
        if self.dropped > self._dropped_noted:
            note = f"[tracklet: {self.dropped - self._dropped_noted} bytes of console output were not recorded]"
            self._lines.append(("stderr", note))
            self._dropped_noted = self.dropped
        lines, self._lines = self._lines, []
        if not lines or self._closed:
            return
        timestamp = time.time()
        emit = self._emit
        try:
            for stream, text in lines:
                emit(RecordType.OUTPUT, {"timestamp": timestamp, "stream": stream, "text": text})
        except Exception:  # noqa: BLE001, S110 - e.g. disk full: drop this chunk from the record
            pass
        if self._log is None and self._output_path is not None:  # created with the first line
            try:
                self._output_path.parent.mkdir(parents=True, exist_ok=True)
                self._log = open(self._output_path, "a", encoding="utf-8", errors="replace", newline="")  # noqa: SIM115
            except OSError:
                self._output_path = None
        if self._log is not None:
            try:
                self._log.write("".join(text + "\n" for _, text in lines))
                self._log.flush()
            except (OSError, ValueError):
                pass


def _flush_python_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError, AttributeError):
            pass


def _enlarge_pipe(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_SIZE)
    except (OSError, ImportError):
        pass  # a smaller pipe only means the reader wakes more often


def _write_all(fd: int, data: bytes) -> None:
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
