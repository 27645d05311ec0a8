"""Console capture: the training process's stdout and stderr, line by line, into the run.

Two ways to capture (setting ``console``):

- ``redirect``: file-descriptor level. Fds 1 and 2 are replaced by pipes (by ptys where
  they were terminals, so ``isatty()`` stays true) whose reader is the console tee, a
  process of its own (:mod:`tracklet.sdk.console_tee`): it copies every chunk, unchanged
  and at once, to the original fds, writes the lines to ``files/output.log``, and forwards
  the chunks to this process to be recorded. What was written before this process died
  (SIGKILL, a segfault, ``os._exit``) is still shown and in ``output.log``. It also catches
  what C extensions and child processes write.
- ``wrap``: Python level. ``sys.stdout.write`` and ``sys.stderr.write`` are wrapped;
  ``os.write(1, ...)`` and C-level output are not seen.

``auto`` is ``redirect`` where fds 1 and 2 are open, else ``wrap``.

A processor thread (never the training thread) assembles lines (see
:class:`LineAssembler`) and records each as an ``OUTPUT`` record (and, under ``wrap``,
appends it to ``files/output.log``). Recording never blocks or breaks the training process: a
failure to record drops that chunk from the record, output still passes through,
and more than :data:`MAX_PENDING` bytes waiting to be recorded are dropped (and
counted in one line in the log) rather than held.
"""

from __future__ import annotations

import codecs
import collections
import os
import struct
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tracklet.runlog import RecordType
from tracklet.sdk.console_lines import (FRAME_HEADER, MAX_LINE, MAX_PENDING, QUIET_FLUSH_S, READ_CHUNK, SDK_PREFIX,
                                        STALE_FLUSH_S, LineAssembler, write_all)
from tracklet.settings import child_environment

PIPE_SIZE = 1024 * 1024
STOP_DRAIN_S = 5.0  # at most this long to drain the pipes at stop()
TEE_START_S = 10.0  # at most this long for the tee process to start reading
STOP_PROCESS_S = 30.0
READ_PAUSE_S = 0.005  # the reader rests this long after each round of reads
BATCH_S = 0.02  # the processor gathers this long after being woken
SLICE_BYTES = 64 * 1024  # a backlog is recorded this much at a time...
BACKLOG_PAUSE = 4.0  # ...pausing this many times as long as the slice took (at most ~20% of a CPU)  # at most this long to record what is queued at stop()

Emit = Callable[[RecordType, dict[str, Any]], None]


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
        self._ready = threading.Event()
        self._tee_reading = False
        self._stopping = False
        self._control_w: int | None = None
        self._tee: subprocess.Popen[bytes] | None = None
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
        made: list[int] = []  # every fd made here, closed again if starting fails
        try:
            ends: dict[int, tuple[int, int]] = {}  # fd -> (the tee's read end, the new fd 1 or 2)
            for fd in (1, 2):
                os.fstat(fd)
                if os.isatty(fd):  # a pty keeps isatty() true (colours, progress bars)
                    master, slave = os.openpty()
                    made += [master, slave]
                    _like_terminal(fd, slave)
                    ends[fd] = (master, slave)
                else:
                    r, w = os.pipe()
                    made += [r, w]
                    _enlarge_pipe(w)
                    ends[fd] = (r, w)
            back_r, back_w = os.pipe()
            _enlarge_pipe(back_w)  # this process reads it in rounds: a flood gathers there
            control_r, control_w = os.pipe()
            made += [back_r, back_w, control_r, control_w]
            for fd in (1, 2):
                self._saved[fd] = os.dup(fd)
            # A plain script, not `-m`: no `import tracklet`, so the tee reads within milliseconds.
            tee_script = str(Path(__file__).with_name("console_tee.py"))
            command = [sys.executable, "-E", "-s", "-S", tee_script, "--back", str(back_w),
                       "--control", str(control_r), "--log", str(self._output_path or "")]
            for fd, (r, _) in ends.items():
                command += ["--source", f"{'stdout' if fd == 1 else 'stderr'}:{r}:{self._saved[fd]}"]
            self._tee = tee = subprocess.Popen(
                command, pass_fds=[back_w, control_r, *self._saved.values(), *(r for r, _ in ends.values())],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._saved[2],
                env=child_environment({}),
            )
        except (OSError, subprocess.SubprocessError) as exc:
            for fd in made:
                os.close(fd)
            raise OSError(f"console tee not started: {exc}") from exc
        for fd, (r, w) in ends.items():
            os.dup2(w, fd)
            os.close(w)
            os.close(r)
        os.close(back_w)
        os.close(control_r)
        self._control_w = control_w
        self._reader = threading.Thread(target=self._read_loop, args=(back_r,), name="tracklet-console-reader",
                                        daemon=True)
        self._reader.start()
        # Wait for the tee to read: a pipe it had not begun reading would be read stdout first,
        # stderr next, losing the order across the two streams.
        if not self._ready.wait(TEE_START_S) or not self._tee_reading:
            tee.kill()  # its pipes lose their reader: the fds are restored (start() falls back to wrap)
            os.close(self._control_w)
            self._control_w = None
            self._reader.join(STOP_DRAIN_S)  # it ends with the tee, and must not end what wrap records
            self._passthrough_only = False
            raise OSError("the console tee did not start")
        self._output_path = None  # the tee writes output.log: it outlives a crash of this process

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
                os.dup2(saved, fd)  # closes our write ends: once children are done, the tee sees EOF
            except OSError:
                pass
        self._stopping = True
        if self._control_w is not None:
            try:
                os.write(self._control_w, b"s")  # the tee reads what is left, ends output.log, answers
            except OSError:
                pass
        self._drained.wait(STOP_DRAIN_S)
        self._passthrough_only = True
        ends = list(self._saved.values()) + ([self._control_w] if self._control_w is not None else [])
        for fd in ends:
            try:
                os.close(fd)
            except OSError:
                pass
        self._control_w = None
        self._saved = {}
        if self._tee is not None:
            try:
                self._tee.wait(0.5)  # reaped now unless a child process still holds the pipes
            except subprocess.TimeoutExpired:
                pass

    def _read_loop(self, back_r: int) -> None:
        """Take what the tee forwards (frames: tag, length, payload) and queue it for recording."""
        buffer = bytearray()
        try:
            while True:
                try:
                    data = os.read(back_r, READ_CHUNK)
                except InterruptedError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    return
                buffer += data
                while len(buffer) >= FRAME_HEADER.size:
                    tag, size = FRAME_HEADER.unpack_from(buffer)
                    end = FRAME_HEADER.size + size
                    if len(buffer) < end:
                        break
                    payload = bytes(buffer[FRAME_HEADER.size:end])
                    del buffer[:end]
                    if tag == b"r":
                        self._tee_reading = True
                        self._ready.set()
                    elif tag == b"a":  # the tee has passed on everything written before stop()
                        return
                    elif tag == b"d":
                        self.dropped += int(payload)
                    elif not self._passthrough_only:
                        self._put("stdout" if tag == b"o" else "stderr", payload)
                if not self._stopping:
                    time.sleep(READ_PAUSE_S)  # a flood gathers in the pipe: fewer wake-ups
        finally:
            self._passthrough_only = True
            self._drained.set()
            self._ready.set()
            try:
                os.close(back_r)
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


def _like_terminal(terminal: int, slave: int) -> None:
    """Make a pty's slave pass bytes as written (no ``\\n`` → ``\\r\\n``) with the terminal's size."""
    try:
        import fcntl
        import termios
        import tty

        tty.setraw(slave)
        size = fcntl.ioctl(terminal, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, size)
    except Exception:  # noqa: BLE001 - termios.error and the like: a plain pty is still a tty
        pass


def _enlarge_pipe(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_SIZE)
    except (OSError, ImportError):
        pass  # a smaller pipe only means the reader wakes more often


