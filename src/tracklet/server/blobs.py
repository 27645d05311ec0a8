"""Where run files (saved code, config and metadata files, console logs, media) and artifact blobs live.

A small interface so that S3-compatible storage can replace the local directory later.
Run file paths are checked here, once: relative, ``/``-separated, no ``..``, no empty parts.
Artifact blobs are content-addressed (``blobs/<sha256[:2]>/<sha256>``): an upload is streamed
to a temporary file while hashed, never held in memory, and moved into place once its digest
is known to match; large blobs arrive in parts (``blobs/parts/<sha256>/<n>``), joined by streaming.
The store's ``blobs`` table, not this folder, says which blobs a deployment has.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from starlette.concurrency import run_in_threadpool

from tracklet.artifacts.manifest import CHUNK_BYTES, PART_BYTES, is_sha256

STAGE_BYTES = 4 * CHUNK_BYTES  # how much of an upload is handed to a worker thread at once
from tracklet.server.errors import BadRequest, NotFound, PayloadTooLarge

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


MAX_PARTS = 10_000  # 625 GiB in 64 MiB parts
Parts = list[tuple[int, int]]  # (n, size) of each part stored; named here, where `list` is still the builtin


def check_digest(sha256: str) -> str:
    if not is_sha256(sha256):
        raise BadRequest(f"a blob is named by its SHA-256 (64 lowercase hex digits), got {sha256!r}")
    return sha256


@dataclass(frozen=True)
class Staged:
    """An upload written and hashed, not yet kept under its digest."""

    path: Path
    sha256: str
    size: int


class Blobs(Protocol):
    # run files
    def put(self, run_key: str, path: str, data: bytes) -> None: ...
    def get(self, run_key: str, path: str) -> Path: ...
    def list(self, run_key: str) -> list[tuple[str, int]]: ...
    def delete_run(self, run_key: str) -> None: ...
    # content-addressed blobs
    async def stage(self, chunks: AsyncIterator[bytes]) -> Staged: ...
    def keep(self, staged: Staged) -> None: ...
    def discard(self, staged: Staged) -> None: ...
    async def put_part(self, sha256: str, n: int, chunks: AsyncIterator[bytes]) -> int: ...
    def parts(self, sha256: str) -> Parts: ...
    def join_parts(self, sha256: str) -> tuple[Staged, int]: ...
    def drop_parts(self, sha256: str) -> None: ...
    def blob_file(self, sha256: str) -> Path: ...
    def delete_blob(self, sha256: str) -> None: ...
    def sweep(self, older_than: float) -> None: ...


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
        try:
            temporary.write_bytes(data)
        except BaseException:  # a full disk: leave no half file taking the space that is left
            temporary.unlink(missing_ok=True)
            raise
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

    # -- content-addressed blobs ------------------------------------------------------------

    @property
    def _blobs(self) -> Path:
        return self.root / "blobs"  # run keys are numbers: no run folder is called "blobs"

    def _blob(self, sha256: str) -> Path:
        return self._blobs / check_digest(sha256)[:2] / sha256

    def _parts(self, sha256: str) -> Path:
        return self._blobs / "parts" / check_digest(sha256)

    def _temporary(self) -> Path:
        folder = self._blobs / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / secrets.token_hex(16)

    async def stage(self, chunks: AsyncIterator[bytes], limit: int | None = None) -> Staged:
        """Write ``chunks`` to a temporary file, hashing them; a few megabytes at a time off the event
        loop (hashing and writing release the GIL), each byte copied once on the way."""
        target = self._temporary()
        hasher, size, pending, pending_size = hashlib.sha256(), 0, [], 0
        out = await run_in_threadpool(open, target, "wb")

        def flush(parts: list[bytes]) -> None:
            data = b"".join(parts)
            hasher.update(data)
            out.write(data)

        try:
            async for chunk in chunks:
                size += len(chunk)
                if limit is not None and size > limit:
                    raise PayloadTooLarge(f"a part is at most {limit} bytes")
                pending.append(chunk)
                pending_size += len(chunk)
                if pending_size >= STAGE_BYTES:
                    await run_in_threadpool(flush, pending)
                    pending, pending_size = [], 0
            await run_in_threadpool(flush, pending)
            await run_in_threadpool(out.close)
        except BaseException:
            out.close()
            target.unlink(missing_ok=True)
            raise
        return Staged(target, hasher.hexdigest(), size)

    def keep(self, staged: Staged) -> None:
        final = self._blob(staged.sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, final)  # atomic: a blob file is always whole

    def discard(self, staged: Staged) -> None:
        staged.path.unlink(missing_ok=True)

    async def put_part(self, sha256: str, n: int, chunks: AsyncIterator[bytes]) -> int:
        if not 0 <= n < MAX_PARTS:
            raise BadRequest(f"part numbers go from 0 to {MAX_PARTS - 1}, got {n}")
        folder = self._parts(sha256)
        staged = await self.stage(chunks, limit=PART_BYTES)
        folder.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, folder / str(n))  # a listed part is a whole part
        return staged.size

    def parts(self, sha256: str) -> Parts:
        folder = self._parts(sha256)
        if not folder.is_dir():
            return []
        return sorted((int(p.name), p.stat().st_size) for p in folder.iterdir() if p.name.isdigit())

    def join_parts(self, sha256: str) -> tuple[Staged, int]:
        """The parts, 0 to N-1, joined into a staged file (hashed as it is written); (it, N)."""
        numbers = [n for n, _ in self.parts(sha256)]
        if not numbers:
            raise BadRequest(f"no parts of blob {sha256} were uploaded")
        if numbers != list(range(len(numbers))):
            gap = next(i for i, n in enumerate(numbers) if n != i)
            raise BadRequest(f"part {gap} of blob {sha256} is missing")
        target, hasher, size = self._temporary(), hashlib.sha256(), 0
        with open(target, "wb") as out:
            for n in numbers:
                with open(self._parts(sha256) / str(n), "rb") as part:
                    while chunk := part.read(CHUNK_BYTES):
                        hasher.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
        return Staged(target, hasher.hexdigest(), size), len(numbers)

    def drop_parts(self, sha256: str) -> None:
        shutil.rmtree(self._parts(sha256), ignore_errors=True)

    def blob_file(self, sha256: str) -> Path:
        target = self._blob(sha256)
        if not target.is_file():
            raise NotFound(f"no blob {sha256}")
        return target

    def delete_blob(self, sha256: str) -> None:
        self._blob(sha256).unlink(missing_ok=True)

    def sweep(self, older_than: float) -> None:
        """Remove temporary files and parts not written to for ``older_than`` seconds (abandoned uploads)."""
        cutoff = time.time() - older_than
        for temporary in (self._blobs / "tmp").glob("*"):
            if temporary.stat().st_mtime < cutoff:
                temporary.unlink(missing_ok=True)
        for folder in (self._blobs / "parts").glob("*"):
            if all(p.stat().st_mtime < cutoff for p in folder.iterdir()) and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
