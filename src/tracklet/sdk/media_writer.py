"""Writing media files off the training thread.

``log`` hands each new file (its path and a function that encodes it) to a :class:`MediaWriter`;
background threads (one per core, up to four: Pillow, zlib and FFmpeg release the GIL while
encoding) encode and write it atomically under the run's ``files/`` folder, then append a
``files`` record so the agent uploads it. Each path is written once per run (the
paths are content digests). If the encoder falls far behind, ``log`` waits for it rather than
let memory grow without bound.

A write that fails for lack of space leaves no file behind (its temporary file is removed) and is
never announced; ``on_failed`` decides whether that stops the run's recording (a full disk: one
warning, a ``loss`` record), after which the files still queued are not written. Encoders run in
parallel, so when recording stops a file of an earlier step may still be in flight: it can no
longer be announced, and :meth:`MediaWriter.settle` says from which step files are missing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

PENDING_LIMIT_BYTES = 256 * 1024 * 1024
ENCODERS = max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


class DiscardFiles:
    """Media files of a run that keeps nothing on disk (disabled mode, a forked child)."""

    def add(self, path: str, produce: Callable[[], bytes], size_hint: int) -> None:
        pass


class MediaWriter:
    def __init__(self, files_dir: Path, on_written: Callable[[dict[str, Any]], bool],
                 warn: Callable[[str], None], on_failed: Callable[[OSError, str, int], bool] | None = None,
                 step: Callable[[], int] = lambda: 0, stopped: Callable[[], bool] = lambda: False) -> None:
        self._files_dir = files_dir
        self._on_written = on_written
        self._warn = warn
        # on_failed(error, what, step of the row that named the file): True when the run reported the
        # failure and stopped recording; stopped(): whether recording stopped (nothing would announce a file)
        self._on_failed = on_failed or (lambda exc, what, step: False)
        self._step = step
        self._stopped = stopped
        self._scheduled: set[str] = set()
        self._queue: deque[tuple[str, Callable[[], bytes], int, int]] = deque()
        self._pending_bytes = 0
        self._in_flight: dict[int, int] = {}  # encoder thread → step of the row that named its file
        self._unannounced: int | None = None  # the earliest step whose file was taken but not announced
        self._closed = False
        self._condition = threading.Condition()
        self._threads: list[threading.Thread] = []

    def add(self, path: str, produce: Callable[[], bytes], size_hint: int) -> None:
        with self._condition:
            if path in self._scheduled:
                return
            self._scheduled.add(path)
            while self._pending_bytes > PENDING_LIMIT_BYTES and not self._closed:
                self._condition.wait()
            self._queue.append((path, produce, size_hint, self._step()))
            self._pending_bytes += size_hint
            if len(self._threads) < min(ENCODERS, len(self._queue) + len(self._in_flight)):
                thread = threading.Thread(target=self._run, name="tracklet-media", daemon=True)
                self._threads.append(thread)
                thread.start()
            self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._queue and not self._closed:
                    self._condition.wait()
                if not self._queue:
                    return
                path, produce, size_hint, step = self._queue.popleft()
                self._in_flight[threading.get_ident()] = step
            announced = False
            try:
                if not self._stopped():  # once recording stopped, nothing would announce the file
                    announced = self._write(path, produce)
            except OSError as exc:
                if not self._on_failed(exc, f"the media file {path} (step {step})", step):
                    self._warn(f"could not write the media file {path}: {exc}")
            except Exception as exc:  # an encoder's error must not kill training: say what is missing
                self._warn(f"could not write the media file {path}: {exc}")
            finally:
                with self._condition:
                    self._pending_bytes -= size_hint
                    del self._in_flight[threading.get_ident()]
                    if not announced and (self._unannounced is None or step < self._unannounced):
                        self._unannounced = step
                    self._condition.notify_all()

    def settle(self, timeout: float = 60.0) -> int | None:
        """Once recording stopped: wait for the files other encoders are writing (they can no longer
        be announced), and return the earliest step whose file was not or will not be announced
        (None: none).
        A file still in flight after ``timeout`` seconds counts as not announced."""
        me = threading.get_ident()
        with self._condition:
            self._condition.wait_for(lambda: not set(self._in_flight) - {me}, timeout)
            steps = [step for thread, step in self._in_flight.items() if thread != me]
            steps += [step for _, _, _, step in self._queue]  # never written now
            if self._unannounced is not None:
                steps.append(self._unannounced)
            return min(steps, default=None)

    def _write(self, path: str, produce: Callable[[], bytes]) -> bool:
        data = produce()
        target = self._files_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        try:
            with open(temporary, "wb") as f:
                f.write(data)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)  # a half-written file is neither kept nor announced
            raise
        return self._on_written({"files": [{"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}]})

    def close(self) -> None:
        """Write what is queued, then stop the threads."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        for thread in self._threads:
            thread.join()
