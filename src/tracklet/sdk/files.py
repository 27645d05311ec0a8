"""The human-readable files of a run directory, derived from the run log and kept current.

``files/config.yaml`` (the original's ``key: {value: X}`` layout, so it can be
passed back to ``init(config=...)``), ``files/tracklet-summary.json``,
``files/tracklet-metadata.json`` and ``logs/debug.log``. The run log stays the
source of truth; these are rewritten whole, atomically (write, then rename).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tracklet.runlog import RunLogWriter

CONFIG_FILE = "config.yaml"
SUMMARY_FILE = "tracklet-summary.json"
METADATA_FILE = "tracklet-metadata.json"
# How often, while the run changes, the summary file is rewritten and the run log made durable;
# and, in between, how much of the log may wait for fdatasync.
KEEP_INTERVAL = 1.0
SYNC_POLL = 0.25
SYNC_BYTES = 1024 * 1024


def write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(temporary, path)


class RunFiles:
    def __init__(self, run_dir: Path) -> None:
        self.files_dir = run_dir / "files"
        self.logs_dir = run_dir / "logs"
        self.files_dir.mkdir()
        self.logs_dir.mkdir()

    def write_config(self, config: dict[str, Any]) -> None:
        import yaml

        layered = {key: {"value": value} for key, value in config.items()}
        text = yaml.dump(layered, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False, allow_unicode=True)
        write_atomic(self.files_dir / CONFIG_FILE, text)

    def write_summary(self, summary: dict[str, Any]) -> None:
        write_atomic(self.files_dir / SUMMARY_FILE, json.dumps(summary, default=repr))

    def write_metadata(self, metadata: dict[str, Any]) -> None:
        write_atomic(self.files_dir / METADATA_FILE, json.dumps(metadata, indent=2, default=repr))

    def debug_logger(self, run_id: str) -> logging.Logger:
        logger = logging.getLogger(f"tracklet.run.{run_id}.{id(self)}")
        logger.propagate = False
        logger.setLevel(logging.DEBUG)
        handler = logging.FileHandler(self.logs_dir / "debug.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(process)d %(message)s"))
        logger.addHandler(handler)
        return logger


def close_logger(logger: logging.Logger) -> None:
    for handler in list(logger.handlers):
        handler.close()
        logger.removeHandler(handler)


class FileKeeper(threading.Thread):
    """Off the training thread: fdatasync the run log whenever a megabyte is waiting, and four
    times a second while the run changes rewrite the summary file too, so that ``finish`` has
    little left to make durable."""

    def __init__(self, write_summary: Callable[[], None], writer: RunLogWriter) -> None:
        super().__init__(name="tracklet-files", daemon=True)
        self._write_summary = write_summary
        self._writer = writer
        self._stop_event = threading.Event()
        self.dirty = False

    def run(self) -> None:
        writer = self._writer
        next_keep = time.monotonic() + KEEP_INTERVAL
        while not self._stop_event.wait(SYNC_POLL):
            try:
                if writer.bytes_written - writer.bytes_synced > SYNC_BYTES:
                    writer.sync()
                if self.dirty and time.monotonic() >= next_keep:
                    self.dirty = False
                    next_keep = time.monotonic() + KEEP_INTERVAL
                    writer.sync()
                    self._write_summary()
            except OSError:  # a full disk must not kill training; finish() reports it
                pass

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=5)
