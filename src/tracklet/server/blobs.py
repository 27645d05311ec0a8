"""Run files (saved code, config and metadata files, console logs, media) and artifact blobs, kept in the
server's file store (``server/filestore/``: a local directory or an S3-compatible bucket).

Run files are ``<run key>/<path>``; their paths are checked here, once: relative, ``/``-separated,
no ``..``, no empty parts. Artifact blobs are content-addressed (``blobs/<sha256[:2]>/<sha256>``):
an upload is streamed into the store while hashed, never held in memory, and committed once its
digest is known to match (a wrong one is aborted and leaves nothing); large blobs arrive in parts
(``blobs/parts/<sha256>/<n>``), joined by streaming them in order. The store's ``blobs`` table,
not the file store, says which blobs a deployment has.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from tracklet.artifacts.manifest import CHUNK_BYTES, PART_BYTES, is_sha256
from tracklet.server.errors import BadRequest, NotFound, PayloadTooLarge
from tracklet.server.filestore import FileStore, ObjectInfo, Upload

STAGE_BYTES = 4 * CHUNK_BYTES  # how much of an upload is handed to a worker thread at once
MAX_PATH = 1024
MAX_PARTS = 10_000  # 625 GiB in 64 MiB parts
Parts = list[tuple[int, int]]  # (n, size) of each part stored; named here, where `list` is still the builtin


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


def check_digest(sha256: str) -> str:
    if not is_sha256(sha256):
        raise BadRequest(f"a blob is named by its SHA-256 (64 lowercase hex digits), got {sha256!r}")
    return sha256


@dataclass(frozen=True)
class Staged:
    """An upload written and hashed, not yet visible under its key."""

    upload: Upload
    sha256: str
    size: int


async def write_stream(upload: Upload, chunks: AsyncIterator[bytes], limit: int | None = None) -> Staged:
    """Write ``chunks`` into ``upload``, hashing them; a few megabytes at a time off the event loop
    (hashing and writing release the GIL), each byte copied once on the way. Aborted on any error."""
    hasher, size, pending, pending_size = hashlib.sha256(), 0, [], 0

    def flush(parts: list[bytes]) -> None:
        data = b"".join(parts)
        hasher.update(data)
        upload.write(data)

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
    except BaseException:
        await run_in_threadpool(upload.abort)
        raise
    return Staged(upload, hasher.hexdigest(), size)


class Blobs:
    """Run files and artifact blobs over one file store. Blocking methods run off the event loop."""

    def __init__(self, files: FileStore) -> None:
        self.files = files

    # -- run files --------------------------------------------------------------------------

    def file_key(self, run_key: str, path: str) -> str:
        return f"{run_key}/{safe_path(path)}"

    async def put(self, run_key: str, path: str, chunks: AsyncIterator[bytes]) -> int:
        """Store a run file streamed from ``chunks``, replacing any before it; its size."""
        staged = await write_stream(self.files.begin(self.file_key(run_key, path)), chunks)
        await run_in_threadpool(staged.upload.commit)
        return staged.size

    def get(self, run_key: str, path: str) -> ObjectInfo:
        found = self.files.stat(self.file_key(run_key, path))
        if found is None:
            raise NotFound(f"no file {path!r}")
        return found

    def list(self, run_key: str) -> list[tuple[str, int]]:
        prefix = f"{run_key}/"
        return [(info.key[len(prefix):], info.size) for info in self.files.list(prefix)]

    def delete_run(self, run_key: str) -> None:
        self.files.delete_prefix(f"{run_key}/")

    # -- content-addressed blobs ------------------------------------------------------------
    # Run keys are numbers: no run's files are under "blobs/".

    @staticmethod
    def blob_key(sha256: str) -> str:
        return f"blobs/{check_digest(sha256)[:2]}/{sha256}"

    @staticmethod
    def _parts_prefix(sha256: str) -> str:
        return f"blobs/parts/{check_digest(sha256)}/"

    async def stage(self, sha256: str, chunks: AsyncIterator[bytes]) -> Staged:
        """Write an upload said to be blob ``sha256``; visible only once kept (when its digest matches)."""
        return await write_stream(self.files.begin(self.blob_key(sha256)), chunks)

    def keep(self, staged: Staged) -> None:
        staged.upload.commit()  # atomic on every backend: a blob is always whole

    def discard(self, staged: Staged) -> None:
        staged.upload.abort()

    async def put_part(self, sha256: str, n: int, chunks: AsyncIterator[bytes]) -> int:
        if not 0 <= n < MAX_PARTS:
            raise BadRequest(f"part numbers go from 0 to {MAX_PARTS - 1}, got {n}")
        staged = await write_stream(self.files.begin(self._parts_prefix(sha256) + str(n)), chunks, limit=PART_BYTES)
        await run_in_threadpool(staged.upload.commit)  # a listed part is a whole part
        return staged.size

    def parts(self, sha256: str) -> Parts:
        prefix = self._parts_prefix(sha256)
        names = ((info.key[len(prefix):], info.size) for info in self.files.list(prefix))
        return sorted((int(name), size) for name, size in names if name.isdigit())

    def join_parts(self, sha256: str) -> tuple[Staged, int]:
        """The parts, 0 to N-1, streamed in order into an upload of the blob (hashed as it is written); (it, N)."""
        numbers = [n for n, _ in self.parts(sha256)]
        if not numbers:
            raise BadRequest(f"no parts of blob {sha256} were uploaded")
        if numbers != list(range(len(numbers))):
            gap = next(i for i, n in enumerate(numbers) if n != i)
            raise BadRequest(f"part {gap} of blob {sha256} is missing")
        upload, hasher = self.files.begin(self.blob_key(sha256)), hashlib.sha256()
        try:
            for n in numbers:
                for chunk in self.files.read(self._parts_prefix(sha256) + str(n)):
                    hasher.update(chunk)
                    upload.write(chunk)
        except BaseException:
            upload.abort()
            raise
        return Staged(upload, hasher.hexdigest(), upload.size), len(numbers)

    def drop_parts(self, sha256: str) -> None:
        self.files.delete_prefix(self._parts_prefix(sha256))

    def blob(self, sha256: str) -> ObjectInfo:
        found = self.files.stat(self.blob_key(sha256))
        if found is None:
            raise NotFound(f"no blob {sha256}")
        return found

    def delete_blob(self, sha256: str) -> None:
        self.files.delete(self.blob_key(sha256))

    def sweep(self, older_than: float) -> None:
        """Remove what abandoned uploads left: unfinished writes, and parts none of which was written
        for ``older_than`` seconds."""
        self.files.abandon_uploads(older_than)
        cutoff = time.time() - older_than
        newest: dict[str, float] = {}
        for info in self.files.list("blobs/parts/"):
            digest = info.key.split("/")[2]
            newest[digest] = max(newest.get(digest, 0.0), info.modified)
        for digest, modified in newest.items():
            if modified < cutoff and is_sha256(digest):
                self.drop_parts(digest)

