"""The run's artifact thread: staging logged artifacts off the training thread, in the order they were logged.

``log_artifact`` returns at once; hashing and copying a large dataset happens here, and its
``artifact`` record is appended when it is staged. Started on the first artifact; ``finish()``
waits for it before the exit record, as for media files.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable


class ArtifactWriter:
    def __init__(self, warn: Callable[[str], None]) -> None:
        self._warn = warn
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` on the artifact thread after the jobs submitted before it."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tracklet-artifacts", daemon=True)
                self._thread.start()
            self._jobs.put(job)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except Exception as exc:  # a job reports its own failures; this is the last resort
                self._warn(f"artifact staging failed: {exc}")

    def close(self) -> None:
        """Finish every job submitted, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put(None)
            thread.join()
