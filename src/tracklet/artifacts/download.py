"""Fetching an artifact's files into a folder, and checking a folder against the manifest.

Each file is streamed into a temporary ``.<name>.<id>.part`` beside its target while it is hashed,
checked against the manifest, then renamed into place; a ``.part`` left by an interrupted download
is continued with a ``Range`` request. A file already there with the right digest is not fetched.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ContextManager, Protocol
from urllib.parse import quote

from tracklet.artifacts import references
from tracklet.artifacts.manifest import sha256_of
from tracklet.errors import Error

log = logging.getLogger("tracklet.artifacts")
PARALLEL_DOWNLOADS = 4
PART_SUFFIX = ".part"


class Source(Protocol):
    """Where an artifact's stored files come from: a server, or a local run directory's staging folder."""

    def open(self, path: str, entry: dict[str, Any], offset: int) -> ContextManager[tuple[int, Iterator[bytes]]]:
        """The entry's bytes from ``offset`` when the source can start there, else from 0: ``(start, chunks)``."""
        ...


class LocalSource:
    """The staging folder (``<run_dir>/artifacts/blobs``) of a run of this machine."""

    def __init__(self, blobs_dir: Path) -> None:
        self.blobs_dir = blobs_dir

    @contextlib.contextmanager
    def open(self, path: str, entry: dict[str, Any], offset: int) -> Iterator[tuple[int, Iterator[bytes]]]:
        if "ref" in entry:
            with references.open_reference(entry["ref"], offset) as opened:
                yield opened
            return
        try:
            f = open(self.blobs_dir / entry["digest"], "rb")
        except FileNotFoundError:
            raise Error(f"{path}: its content ({entry['digest']}) is missing from {self.blobs_dir}") from None
        with f:
            f.seek(offset)
            yield offset, iter(lambda: f.read(1024 * 1024), b"")


class ServerSource:
    """A version on a Tracklet server: ``GET /artifacts/{entity}/{project}/{name}/{version}/files/{path}``."""

    def __init__(self, base_url: str, api_key: str | None, version_path: str) -> None:
        self.base_url, self.api_key, self.version_path = base_url, api_key, version_path
        self._transport: Any = None
        self._lock = threading.Lock()  # files are fetched by several threads through one connection pool

    def transport(self) -> Any:
        with self._lock:
            if self._transport is None:
                from tracklet.api.transport import Transport

                self._transport = Transport(self.base_url, self.api_key)
            return self._transport

    @contextlib.contextmanager
    def open(self, path: str, entry: dict[str, Any], offset: int) -> Iterator[tuple[int, Iterator[bytes]]]:
        if "ref" in entry:
            with references.open_reference(entry["ref"], offset) as opened:
                yield opened
            return
        url = f"{self.version_path}/files/{quote(path)}"
        headers = {"Range": f"bytes={offset}-"} if offset else None
        with self.transport().stream(url, headers=headers) as response:
            yield (offset if response.status_code == 206 else 0), response.iter_bytes(1024 * 1024)

    def close(self) -> None:
        with self._lock:
            if self._transport is not None:
                self._transport.close()
                self._transport = None


def download_all(entries: dict[str, dict[str, Any]], root: Path, source: Source, label: str) -> Path:
    """Fetch every entry into ``root`` (see the module docstring); ``root``."""
    try:
        return _download_all(entries, root, source, label)
    finally:
        done(source)


def done(source: Source) -> None:
    """Let a source close its connections (a server's), once a download is over."""
    close = getattr(source, "close", None)
    if close is not None:
        close()


def _download_all(entries: dict[str, dict[str, Any]], root: Path, source: Source, label: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if len(entries) <= 1:
        for path, entry in entries.items():
            download_one(path, entry, root, source, label)
        return root
    with ThreadPoolExecutor(PARALLEL_DOWNLOADS, thread_name_prefix="tracklet-download") as pool:
        for _ in pool.map(lambda item: download_one(item[0], item[1], root, source, label), entries.items()):
            pass  # the first failure is raised here
    return root


def download_one(path: str, entry: dict[str, Any], root: Path, source: Source, label: str) -> Path:
    """Fetch one entry to ``root/path`` unless it is there with the right digest; its path."""
    target = root.joinpath(*path.split("/"))
    if target.is_file() and _problem(target, entry) is None:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{hashlib.sha256(entry['digest'].encode()).hexdigest()[:16]}{PART_SUFFIX}")
    hasher, have = hashlib.sha256(), 0
    if partial.is_file():
        with open(partial, "rb") as f:
            while chunk := f.read(1024 * 1024):
                hasher.update(chunk)
                have += len(chunk)
        if _content_checked(entry) and have == entry["size"] and hasher.hexdigest() == entry["digest"]:
            os.replace(partial, target)  # complete, stopped just before its rename
            return target
        if _size_checked(entry) and have >= entry["size"]:
            hasher, have = hashlib.sha256(), 0  # nothing left to fetch: that partial file is wrong
    with source.open(path, entry, have) as (start, chunks):
        if have and start == 0:
            log.info("%s: the source cannot resume; downloading it again from the start", path)
            hasher, have = hashlib.sha256(), 0
        elif have:
            log.info("%s: resuming the download at byte %d", path, have)
        with open(partial, "ab" if have else "wb") as f:
            for chunk in chunks:
                hasher.update(chunk)
                f.write(chunk)
                have += len(chunk)
    digest = hasher.hexdigest()
    if _content_checked(entry) and (digest != entry["digest"] or have != entry["size"]):
        partial.unlink(missing_ok=True)
        raise Error(f"{label}: {path} arrived with SHA-256 {digest} ({have} bytes), but the manifest says "
                    f"{entry['digest']} ({entry['size']} bytes); the file was not kept. The stored copy is damaged "
                    "or was changed")
    if _size_checked(entry) and not _content_checked(entry) and entry["size"] and have != entry["size"]:
        partial.unlink(missing_ok=True)
        raise Error(f"{label}: {path} ({entry['ref']}) is {have} bytes, but the manifest says {entry['size']}")
    os.replace(partial, target)
    return target


def verify(entries: dict[str, dict[str, Any]], root: Path, label: str) -> None:
    """Raise :class:`Error` naming the first file of ``root`` that is missing, differs from the
    manifest (size, then SHA-256), or is not in it."""
    if not root.is_dir():
        raise Error(f"{label}: verify: {root} does not exist (download the artifact first)")
    for path, entry in entries.items():
        target = root.joinpath(*path.split("/"))
        if not target.is_file():
            raise Error(f"{label}: verify: {path} is missing from {root}")
        problem = _problem(target, entry)
        if problem is not None:
            raise Error(f"{label}: verify: {path} in {root} {problem}")
    for found in sorted(root.rglob("*")):
        name = found.relative_to(root).as_posix()
        if found.is_file() and name not in entries and not _is_partial(found):
            raise Error(f"{label}: verify: {name} in {root} is not in the artifact")


def _problem(target: Path, entry: dict[str, Any]) -> str | None:
    """How a file differs from its entry, or None."""
    if not _size_checked(entry):
        return None
    size = target.stat().st_size
    if (_content_checked(entry) or entry["size"]) and size != entry["size"]:
        return f"is {size} bytes, the manifest says {entry['size']}"
    if _content_checked(entry):
        with open(target, "rb") as f:
            digest, _ = sha256_of(f)
        if digest != entry["digest"]:
            return f"has SHA-256 {digest}, the manifest says {entry['digest']}"
    return None


def _content_checked(entry: dict[str, Any]) -> bool:
    """Stored files and file:// references have the SHA-256 of their bytes as digest."""
    return "ref" not in entry or entry["ref"].lower().startswith("file://")


def _size_checked(entry: dict[str, Any]) -> bool:
    return _content_checked(entry) or references.is_checked(entry["ref"], entry["digest"])


def _is_partial(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(PART_SUFFIX)
