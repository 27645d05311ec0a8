"""Where run files (saved code, config and metadata files, later console logs and media) live.

A small interface so that S3-compatible storage can replace the local directory later.
Paths are checked here, once: relative, ``/``-separated, no ``..``, no empty parts.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Protocol

from tracklet.server.errors import BadRequest, NotFound

MAX_PATH = 1024


def safe_path(path: str) -> str:
    """``path`` if it names a file inside a run's folder; otherwise BadRequest saying why."""
    if not path or len(path) > MAX_PATH:
        raise BadRequest(f"file path must be 1 to {MAX_PATH} characters")
    if "\\" in path or "\x00" in path:
        raise BadRequest(f"file path {path!r} may not contain backslashes or NUL")
    if path.startswith("/"):
        raise BadRequest(f"file path {path!r} must be relative")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise BadRequest(f"file path {path!r} may not contain empty, '.' or '..' parts")
    if any(len(part.encode("utf-8")) > 255 for part in parts):
        raise BadRequest(f"file path {path!r} has a part longer than 255 bytes")
    return path


class Blobs(Protocol):
    def put(self, run_key: str, path: str, data: bytes) -> None: ...
    def get(self, run_key: str, path: str) -> Path: ...
    def list(self, run_key: str) -> list[tuple[str, int]]: ...
    def delete_run(self, run_key: str) -> None: ...


class LocalBlobs:
    """Files in ``root/<run key>/<path>``, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _file(self, run_key: str, path: str) -> Path:
        return self.root / run_key / safe_path(path)

    def put(self, run_key: str, path: str, data: bytes) -> None:
        target = self._file(run_key, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, target)

    def get(self, run_key: str, path: str) -> Path:
        target = self._file(run_key, path)
        if not target.is_file():
            raise NotFound(f"no file {path!r}")
        return target

    def list(self, run_key: str) -> list[tuple[str, int]]:
        base = self.root / run_key
        if not base.is_dir():
            return []
        return sorted((p.relative_to(base).as_posix(), p.stat().st_size)
                      for p in base.rglob("*") if p.is_file() and not p.name.endswith(".tmp"))

    def delete_run(self, run_key: str) -> None:
        shutil.rmtree(self.root / run_key, ignore_errors=True)
