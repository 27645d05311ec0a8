"""The console tee: a small process that owns the read ends of the redirected fds 1 and 2.

Started by :class:`tracklet.sdk.console.ConsoleCapture` (``console="redirect"``) as
``python -m tracklet.sdk.console_tee``. Because it is not the training process, what the
training process wrote before it died (SIGKILL, a segfault, ``os._exit``) is still read,
shown and written to ``files/output.log``. For each chunk it reads it

1. writes it, unchanged and at once, to the original stdout/stderr (the user's terminal);
2. while recording, assembles lines (:class:`LineAssembler`, same rules as the run log) and
   appends them to ``output.log``;
3. while recording, forwards it to the training process over the *back* pipe (frames:
   tag, 4-byte length, payload), where it becomes ``OUTPUT`` records. The back pipe is
   non-blocking: if the training process does not read, at most ``MAX_PENDING`` bytes are
   held and the rest is dropped (a ``d`` frame tells how many bytes), so the tee never stops
   passing output through.

The *control* pipe carries one byte, ``s``, at a clean stop: the tee reads what is left in
the pipes, ends ``output.log``, answers with an ``a`` frame, and from then on only passes
output through (a child process may still hold the pipes). It exits when every writer of the
pipes is gone. It ignores SIGINT, SIGTERM and SIGHUP: a Ctrl-C for the training process must
not lose the output that is still in the pipe.

Terminal resizes: where fd 1/2 was a terminal, the training process writes to a pty whose size
it reads (tqdm, rich). The tee, a child in the training process's process group, gets the
terminal's SIGWINCH too and copies the terminal's new size onto the pty, as terminal emulators do.
"""

from __future__ import annotations

import argparse
import collections
import codecs
import errno
import fcntl
import os
import selectors
import signal
import termios
import time
from typing import TextIO

if __package__:
    from tracklet.sdk.console_lines import (
        FRAME_HEADER, MAX_PENDING, QUIET_FLUSH_S, READ_CHUNK, SDK_PREFIX, STALE_FLUSH_S, LineAssembler, write_all,
    )
else:  # run as a script (what ConsoleCapture does): its folder is on sys.path, the package is not imported
    from console_lines import (  # type: ignore[no-redef]
        FRAME_HEADER, MAX_PENDING, QUIET_FLUSH_S, READ_CHUNK, SDK_PREFIX, STALE_FLUSH_S, LineAssembler, write_all,
    )




def frame(tag: bytes, payload: bytes) -> bytes:
    return FRAME_HEADER.pack(tag, len(payload)) + payload


class Tee:
    def __init__(self, sources: dict[int, tuple[str, int]], back: int, control: int, log_path: str) -> None:
        self.sources = sources  # read fd -> (stream name, original fd)
        self.back: int | None = back
        self.control: int | None = control
        self.log_path = log_path
        self.log: TextIO | None = None
        self.recording = True
        self.backlog: collections.deque[bytes] = collections.deque()
        self.backlog_bytes = 0
        self.dropped = 0
        self.assemblers = {name: LineAssembler(name, self._line) for name in ("stdout", "stderr")}
        self.decoders = {name: codecs.getincrementaldecoder("utf-8")("replace") for name in ("stdout", "stderr")}
        self.lines: list[str] = []
        self.selector = selectors.DefaultSelector()
        for fd in sources:
            self.selector.register(fd, selectors.EVENT_READ)
        self.selector.register(control, selectors.EVENT_READ)
        os.set_blocking(back, False)

    # -- reading ----------------------------------------------------------------------

    def run(self) -> None:
        self._forward(b"r", b"", force=True)  # ready: reading the pipes
        while self.sources:
            pending = any(a.pending for a in self.assemblers.values())
            events = self.selector.select(0.25 if pending or self.backlog else None)
            for key, _ in events:
                if key.fd == self.control:
                    self._control()
                elif key.fd in self.sources:
                    self._read(key.fd)
            self._flush_back()
            self._tick(time.monotonic())
        self._end_recording()

    def resize(self, *_signal: object) -> None:
        """Give each pty the size its terminal has now (a SIGWINCH handler)."""
        for fd, (_, original) in list(self.sources.items()):
            try:
                if os.isatty(fd) and os.isatty(original):
                    size = fcntl.ioctl(original, termios.TIOCGWINSZ, b"\0" * 8)
                    fcntl.ioctl(fd, termios.TIOCSWINSZ, size)
            except OSError:  # the terminal or the pty is gone: nothing to resize
                pass

    def _read(self, fd: int) -> bool:
        """Read one chunk of ``fd``; False when there was nothing (or it ended)."""
        stream, original = self.sources[fd]
        try:
            data = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return False
        except InterruptedError:
            return True
        except OSError:  # EIO: the pty's other side is closed
            data = b""
        if not data:
            self.selector.unregister(fd)
            os.close(fd)
            del self.sources[fd]
            return False
        write_all(original, data)
        if self.recording:
            self.assemblers[stream].feed(self.decoders[stream].decode(data), time.monotonic())
            self._forward(b"o" if stream == "stdout" else b"e", data)
        return True

    def _control(self) -> None:
        assert self.control is not None
        try:
            message = os.read(self.control, 64)
        except OSError:
            message = b""
        if b"s" in message:
            for fd in list(self.sources):  # what was written before the stop: all of it is in the pipe
                os.set_blocking(fd, False)
                while fd in self.sources and self._read(fd):
                    pass
                if fd in self.sources:
                    os.set_blocking(fd, True)
            self._end_recording()
            self._forward(b"a", b"", force=True)
            self._flush_back(wait=2.0)
        if b"s" in message or not message:
            self.selector.unregister(self.control)
            os.close(self.control)
            self.control = None

    # -- output.log -------------------------------------------------------------------

    def _line(self, stream: str, text: str) -> None:
        if stream == "stderr" and text.startswith(SDK_PREFIX):
            return
        self.lines.append(text)

    def _tick(self, now: float) -> None:
        for assembler in self.assemblers.values():
            if assembler.pending and (
                now - assembler.last_data >= QUIET_FLUSH_S or now - (assembler.pending_since or now) >= STALE_FLUSH_S
            ):
                assembler.flush()
        self._write_lines()

    def _write_lines(self) -> None:
        lines, self.lines = self.lines, []
        if not lines or not self.log_path:
            return
        try:
            if self.log is None:  # created with the first line
                os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
                self.log = open(self.log_path, "a", encoding="utf-8", errors="replace", newline="")  # noqa: SIM115
                try:  # held while output.log may still grow: the agent waits for it after a crash
                    fcntl.flock(self.log.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    pass
            self.log.write("".join(text + "\n" for text in lines))
            self.log.flush()
        except (OSError, ValueError):
            pass

    def _end_recording(self) -> None:
        if not self.recording:
            return
        for name, assembler in self.assemblers.items():
            assembler.feed(self.decoders[name].decode(b"", final=True))
            assembler.flush()
        self._write_lines()
        self.recording = False
        if self.log is not None:
            try:
                self.log.close()
            except OSError:
                pass
            self.log = None

    # -- the back pipe ----------------------------------------------------------------

    def _forward(self, tag: bytes, data: bytes, *, force: bool = False) -> None:
        if self.back is None:
            return
        if self.backlog_bytes > MAX_PENDING and not force:
            self.dropped += len(data)
            return
        if self.dropped and tag in (b"o", b"e"):
            self.backlog.append(frame(b"d", str(self.dropped).encode()))
            self.dropped = 0
        chunk = frame(tag, data)
        self.backlog.append(chunk)
        self.backlog_bytes += len(chunk)
        self._flush_back()

    def _flush_back(self, wait: float = 0.0) -> None:
        deadline = time.monotonic() + wait
        while self.backlog and self.back is not None:
            chunk = self.backlog[0]
            try:
                written = os.write(self.back, chunk)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return
                time.sleep(0.005)
                continue
            except OSError:  # the training process is gone: keep passing output through
                self._close_back()
                return
            if written == len(chunk):
                self.backlog.popleft()
            else:
                self.backlog[0] = chunk[written:]
            self.backlog_bytes -= written

    def _close_back(self) -> None:
        if self.back is not None:
            try:
                os.close(self.back)
            except OSError:
                pass
        self.back = None
        self.backlog.clear()
        self.backlog_bytes = 0


def main(argv: list[str] | None = None) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    parser = argparse.ArgumentParser(prog="tracklet.sdk.console_tee")
    parser.add_argument("--source", action="append", default=[], help="stream:read_fd:original_fd")
    parser.add_argument("--back", type=int, required=True)
    parser.add_argument("--control", type=int, required=True)
    parser.add_argument("--log", default="")
    args = parser.parse_args(argv)
    sources = {}
    for spec in args.source:
        stream, read_fd, original = spec.split(":")
        sources[int(read_fd)] = (stream, int(original))
    tee = Tee(sources, args.back, args.control, args.log)
    signal.signal(signal.SIGWINCH, tee.resize)
    try:
        tee.run()
    except OSError as exc:
        if exc.errno != errno.EBADF:
            raise


if __name__ == "__main__":
    main()
