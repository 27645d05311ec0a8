"""Where run files (saved code, config and metadata files, console logs, media) and artifact blobs live.

One interface, :class:`Blobs`, two backends chosen by :func:`open_blobs` from the ``--files`` setting:
a local directory (``local.py``, the default) or an S3-compatible bucket (``s3.py``, ``s3://bucket/prefix``).
Both hold the same tree (docs/files.md):

- ``<run key>/<path>``: a run's files (run keys are numbers, so no run is called ``blobs``);
- ``blobs/<sha256[:2]>/<sha256>``: content-addressed artifact blobs, one per deployment;
- ``blobs/parts/<sha256>/<n>``: the parts of a large blob uploaded so far (resumable uploads).

Uploads are streamed (hashed on the way, a few megabytes at a time, never whole in memory) and become
visible whole or not at all; what an interrupted upload leaves is removed by :meth:`Blobs.sweep`.
Run file paths are checked here, once: relative, ``/``-separated, no ``..``, no empty parts.
The store's ``blobs`` table, not the files, says which blobs a deployment has.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from starlette.concurrency import run_in_threadpool

from tracklet.artifacts.manifest import CHUNK_BYTES, is_sha256
from tracklet.errors import UsageError
from tracklet.server.errors import BadRequest, PayloadTooLarge

__all__ = ["Blobs", "Staged", "Stored", "Parts", "open_blobs", "safe_path", "check_digest", "LocalBlobs",
           "DOWNLOAD_MODES", "files_failure"]

MAX_PATH = 1024
MAX_PARTS = 10_000  # 625 GiB in 64 MiB parts
STAGE_BYTES = 4 * CHUNK_BYTES  # how much of an upload is hashed and written by a worker thread at once
DOWNLOAD_MODES = ("proxy", "presigned")
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


def check_part_number(n: int) -> int:
    if not 0 <= n < MAX_PARTS:
        raise BadRequest(f"part numbers go from 0 to {MAX_PARTS - 1}, got {n}")
    return n


def consecutive(sha256: str, parts: Parts) -> list[int]:
    """The numbers of ``parts`` if they are 0 to N-1; BadRequest naming the first one missing."""
    numbers = [n for n, _ in parts]
    if not numbers:
        raise BadRequest(f"no parts of blob {sha256} were uploaded")
    if numbers != list(range(len(numbers))):
        gap = next(i for i, n in enumerate(numbers) if n != i)
        raise BadRequest(f"part {gap} of blob {sha256} is missing")
    return numbers


def blob_key(sha256: str) -> str:
    return f"blobs/{check_digest(sha256)[:2]}/{sha256}"


def parts_key(sha256: str) -> str:
    return f"blobs/parts/{check_digest(sha256)}"


@dataclass(frozen=True)
class Staged:
    """An upload written and hashed, not yet kept under its digest. ``handle`` is the backend's
    (a temporary file; an S3 upload not yet completed)."""

    sha256: str
    size: int
    handle: object


@dataclass(frozen=True)
class Stored:
    """A file the store holds, to be served. ``path``: the file itself where it is on this machine."""

    key: str
    size: int
    path: Path | None = None


class Blobs(Protocol):
    """The file store of a deployment. Methods that are not ``async`` block: call them off the event loop."""

    url: str  # where the files are, as it may be printed

    def check(self) -> None:
        """Raise UsageError naming the setting to fix if the files cannot be read and written."""

    # run files
    async def put(self, run_key: str, path: str, chunks: AsyncIterator[bytes], limit: int | None = None) -> int:
        """Store a run's file from ``chunks`` (replacing it whole); its size."""

    def file(self, run_key: str, path: str) -> Stored:
        """A run's file; NotFound if there is none."""

    def list(self, run_key: str) -> list[tuple[str, int]]:
        """(path, size) of a run's files, sorted."""

    def delete_run(self, run_key: str) -> None: ...

    # reading what is stored
    def read(self, stored: Stored, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes ``start`` to ``end`` (exclusive; default the end) of a stored file, a chunk at a time."""

    def download_url(self, stored: Stored, media_type: str, disposition: str | None) -> str | None:
        """A URL of the file that a client may fetch without the server (presigned), or None."""

    # content-addressed blobs
    async def stage(self, sha256: str, chunks: AsyncIterator[bytes], limit: int | None = None) -> Staged:
        """Write and hash an upload said to have digest ``sha256``; nothing is visible until :meth:`keep`."""

    def keep(self, staged: Staged) -> None:
        """Make a staged upload the blob of its digest (the caller checked the digest)."""

    def discard(self, staged: Staged) -> None:
        """Drop a staged upload (nothing happens once it was kept)."""

    async def put_part(self, sha256: str, n: int, chunks: AsyncIterator[bytes]) -> int: ...
    def parts(self, sha256: str) -> Parts: ...

    def join_parts(self, sha256: str) -> tuple[Staged, int]:
        """The parts 0 to N-1, joined into a staged upload (hashed as it is written); (it, N)."""

    def drop_parts(self, sha256: str) -> None: ...

    def blob(self, sha256: str) -> Stored:
        """A kept blob; NotFound if there is none."""

    def delete_blob(self, sha256: str) -> None: ...

    def sweep(self, older_than: float) -> None:
        """Remove what uploads abandoned ``older_than`` seconds ago or more left behind."""


async def pump(chunks: AsyncIterator[bytes], write: Callable[[bytes], object], limit: int | None = None,
               what: str = "an upload") -> tuple[str, int]:
    """Hand ``chunks`` to ``write`` a few megabytes at a time, off the event loop (hashing and writing
    release the GIL), hashed on the way, each byte copied once; (sha256, size)."""
    hasher, size, pending, pending_size = hashlib.sha256(), 0, [], 0

    def flush(parts: list[bytes]) -> None:
        data = b"".join(parts)
        hasher.update(data)
        write(data)

    async for chunk in chunks:
        size += len(chunk)
        if limit is not None and size > limit:
            raise PayloadTooLarge(f"{what} is at most {limit} bytes")
        pending.append(chunk)
        pending_size += len(chunk)
        if pending_size >= STAGE_BYTES:
            await run_in_threadpool(flush, pending)
            pending, pending_size = [], 0
    if pending:
        await run_in_threadpool(flush, pending)
    return hasher.hexdigest(), size


def files_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is the S3 client's (botocore's): the bucket failed, refused or did not answer."""
    return type(exc).__module__.split(".")[0] in ("botocore", "boto3")


def open_blobs(url: str, *, download: str = "proxy", endpoint_url: str | None = None, region: str | None = None,
               profile: str | None = None) -> Blobs:
    """The file store at ``url``: ``s3://bucket[/prefix]``, or a directory (a path or ``file://`` URL).

    ``download``: ``proxy`` (the server streams files to clients) or ``presigned`` (the server answers
    clients that follow redirects with a short-lived URL of the bucket). ``endpoint_url``, ``region`` and
    ``profile`` override the standard AWS variables and files for S3."""
    if download not in DOWNLOAD_MODES:
        raise UsageError(f"--files-download must be one of {', '.join(DOWNLOAD_MODES)}, got {download!r}")
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "s3":
        from tracklet.server.blobs.s3 import S3Blobs

        return S3Blobs(url, download=download, endpoint_url=endpoint_url, region=region, profile=profile)
    if scheme not in ("", "file"):
        raise UsageError(f"--files must be a directory or s3://bucket/prefix, got a {scheme}:// URL")
    if download != "proxy" or endpoint_url or region or profile:
        raise UsageError("--files-download presigned and the --s3-* options need --files s3://bucket/prefix")
    return LocalBlobs(Path(url.removeprefix("file://")))


from tracklet.server.blobs.local import LocalBlobs  # noqa: E402 - it builds on the names above
