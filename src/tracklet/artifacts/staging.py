"""Staging an artifact in the run directory: hash each file while copying it into the content-addressed
folder ``<run_dir>/artifacts/blobs/<sha256>``, then write the manifest (docs/artifacts.md).

Runs off the training thread (``sdk/artifact_writer.py``); a file is read once, a megabyte at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracklet.artifacts import references
from tracklet.artifacts.manifest import digest_of, manifest_of, sha256_of

ARTIFACTS_DIR = "artifacts"
BLOBS_DIR = "blobs"


@dataclass(frozen=True)
class Pending:
    """An entry added to an artifact that is not hashed yet: exactly one of the three sources."""

    path: str
    source: Path | None = None  # a local file
    produce: Callable[[], bytes] | None = None  # a media value's content, made when staged
    ref: str | None = None  # a reference URI: checksum only, never copied


# A file's identity on disk: unchanged identity means unchanged contents (the usual build-tool rule).
FileKey = tuple[int, int, int, int]


def stage(pending: Iterable[Pending], blobs_dir: Path | None, warn: Callable[[str], None],
          known: dict[FileKey, str] | None = None) -> dict[str, dict[str, Any]]:
    """The manifest entries of ``pending``; with ``blobs_dir``, every file's bytes are stored there too.

    ``known`` remembers the digests of files staged before (by this run), so an unchanged file is
    neither read nor copied again.
    """
    if blobs_dir is not None:
        blobs_dir.mkdir(parents=True, exist_ok=True)
    entries: dict[str, dict[str, Any]] = {}
    for item in pending:
        if item.ref is not None:
            digest, size = references.checksum(item.ref, warn)
            entries[item.path] = {"digest": digest, "size": size, "ref": item.ref}
        elif item.produce is not None:
            data = item.produce()
            digest = hashlib.sha256(data).hexdigest()
            if blobs_dir is not None and not (blobs_dir / digest).exists():
                _write_atomically(blobs_dir / digest, data)
            entries[item.path] = {"digest": digest, "size": len(data)}
        else:
            assert item.source is not None
            digest, size = _stage_file(item.source, blobs_dir, known)
            entries[item.path] = {"digest": digest, "size": size}
    return dict(sorted(entries.items()))


def _stage_file(source: Path, blobs_dir: Path | None, known: dict[FileKey, str] | None) -> tuple[str, int]:
    stat = os.stat(source)
    key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if known is not None and key in known and blobs_dir is not None and (blobs_dir / known[key]).exists():
        return known[key], stat.st_size
    with open(source, "rb") as src:
        if blobs_dir is None:
            return sha256_of(src)
        fd, temporary = tempfile.mkstemp(dir=blobs_dir, prefix=".staging-")
        try:
            with os.fdopen(fd, "wb") as out:
                digest, size = sha256_of(src, copy_to=out)
            if (blobs_dir / digest).exists():
                os.unlink(temporary)  # staged before: one copy per run directory
            else:
                os.replace(temporary, blobs_dir / digest)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    if known is not None and size == stat.st_size:
        known[key] = digest
    return digest, size


def write_manifest(run_dir: Path, entries: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """Write ``artifacts/<digest>.manifest.json`` in the run directory: ``(digest, relative path)``."""
    digest = digest_of(entries)
    relative = f"{ARTIFACTS_DIR}/{digest}.manifest.json"
    target = run_dir / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(target, json.dumps(manifest_of(entries), sort_keys=True).encode("utf-8"))
    return digest, relative


def read_manifest(path: Path) -> dict[str, dict[str, Any]]:
    """The entries of a manifest file written by :func:`write_manifest`."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)["entries"]


def blobs_dir_of(run_dir: Path) -> Path:
    return run_dir / ARTIFACTS_DIR / BLOBS_DIR


def _write_atomically(target: Path, data: bytes) -> None:
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as f:
            f.write(data)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)  # e.g. the disk is full: no half-written file stays
        raise
