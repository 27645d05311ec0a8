"""Uploading a logged artifact before the ``artifact`` record that names it (docs/artifacts.md).

For a ``log`` record: ask the server which blobs it lacks, upload those from the run's staging
folder (several at a time, each streamed from its file; blobs over ``PART_BYTES`` in parts,
continuing from the parts the server already holds), then create the version. Only when the
server has confirmed the version may the record be sent, so an acknowledged record means a
stored version. Network failures, 429 and 5xx propagate for the uploader to retry with backoff.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tracklet.agent.progress import UploadProgress
from tracklet.api.transport import ServerError, Transport, retryable
from tracklet.artifacts.manifest import CHUNK_BYTES, PART_BYTES, entries_problem
from tracklet.artifacts.staging import blobs_dir_of, read_manifest
from tracklet.protocol import ArtifactCreate, BlobsMissing

PARALLEL_UPLOADS = 4
PROGRESS_EVERY_SECONDS = 1.0


class ArtifactUploads:
    """The artifact side of one :class:`~tracklet.agent.uploader.Uploader`."""

    def __init__(self, run_dir: Path, transport: Transport, log: Callable[[str], None],
                 save_progress: Callable[[], None]) -> None:
        self.run_dir = run_dir
        self.transport = transport
        self.log = log
        self.save_progress = save_progress
        self.created: set[tuple[str, str]] = set()  # (name, digest): versions this uploader saw confirmed
        self._lock = threading.Lock()
        self._saved_at = 0.0

    def upload(self, progress: UploadProgress, body: dict[str, Any]) -> None:
        """Make sure the server has the version a ``log`` record describes (see the module docstring)."""
        name, digest = body["name"], body["digest"]
        if (name, digest) in self.created:
            return
        try:
            entries = read_manifest(self.run_dir / body["manifest"])
        except (OSError, ValueError, KeyError) as exc:
            self.log(f"artifact {name}: its manifest cannot be read ({exc}); it stays in the run directory only")
            return
        problem = entries_problem(entries)
        if problem:
            self.log(f"artifact {name}: bad manifest ({problem}); not uploaded")
            return
        sizes = {entry["digest"]: entry["size"] for entry in entries.values() if "ref" not in entry}
        base = f"/artifacts/{_quote(progress.entity)}/{_quote(progress.project)}"
        try:
            missing = self.transport.call("POST", base + "/blobs/missing", BlobsMissing(digests=sorted(sizes)))["missing"]
            self._upload_blobs(progress, {digest: sizes[digest] for digest in missing})
            version = self.transport.call("POST", f"{base}/{_quote(name)}/versions", ArtifactCreate(
                type=body["type"], description=body.get("description"), metadata=body.get("metadata") or {},
                aliases=list(body.get("aliases") or []), manifest={"version": 1, "entries": entries},
                digest=digest, run_id=None if body.get("input") else progress.run_id))  # input: used, not logged
        except ServerError as exc:
            if retryable(exc):
                raise
            # The server will never take it as it is (a damaged staged file, say): the record still goes.
            self.log(f"artifact {name} ({digest[:12]}) was refused: {exc}; it stays in the run directory only")
            return
        except _Unreadable as exc:
            self.log(f"artifact {name} ({digest[:12]}): {exc}; it stays in the run directory only")
            return
        self.created.add((name, digest))
        self.log(f"artifact {name}:{version['version']} stored ({len(missing)} new blobs)")

    def _upload_blobs(self, progress: UploadProgress, blobs: dict[str, int]) -> None:
        if not blobs:
            return
        staged = blobs_dir_of(self.run_dir)
        for digest, size in blobs.items():
            path = staged / digest
            if not path.is_file() or path.stat().st_size != size:
                raise _Unreadable(f"the staged blob {digest} is missing or has changed")
        # Units of work: whole small blobs, and the parts of large ones the server does not hold yet.
        units: list[tuple[str, int | None, int, int]] = []  # (digest, part or None, offset, length)
        large = [digest for digest, size in blobs.items() if size > PART_BYTES]
        for digest, size in blobs.items():
            if size <= PART_BYTES:
                units.append((digest, None, 0, size))
                continue
            stored = {part["n"]: part["size"] for part in self.transport.call("GET", f"/blobs/{digest}/parts")["parts"]}
            for n, offset in enumerate(range(0, size, PART_BYTES)):
                length = min(PART_BYTES, size - offset)
                if stored.get(n) != length:
                    units.append((digest, n, offset, length))
                else:
                    self._count(progress, length)
            if len(stored) > 0:
                self.log(f"blob {digest[:12]}: continuing after {len(stored)} stored parts")
        with ThreadPoolExecutor(PARALLEL_UPLOADS, thread_name_prefix="tracklet-blob") as pool:
            for _ in pool.map(lambda unit: self._put(progress, staged / unit[0], *unit), units):
                pass  # the first failure is raised here, once the others have stopped
        for digest in large:
            self.transport.call("POST", f"/blobs/{digest}/complete")

    def _put(self, progress: UploadProgress, path: Path, digest: str, part: int | None, offset: int,
             length: int) -> None:
        url = f"/blobs/{digest}" if part is None else f"/blobs/{digest}/parts/{part}"
        self.transport.put_stream(url, _read(path, offset, length, lambda n: self._count(progress, n)), length)

    def _count(self, progress: UploadProgress, sent: int) -> None:
        """Bytes on their way: the run's ``finish()`` sees the upload moving, not stalled."""
        with self._lock:
            progress.artifact_bytes += sent
            now = time.monotonic()
            if now - self._saved_at > PROGRESS_EVERY_SECONDS:
                self._saved_at = now
                self.save_progress()


class _Unreadable(Exception):
    """A staged file the agent cannot upload as the manifest describes it."""


def _read(path: Path, offset: int, length: int, sent: Callable[[int], None]) -> Iterator[bytes]:
    """``length`` bytes of ``path`` from ``offset``, a megabyte at a time (a blob is never held in memory)."""
    with open(path, "rb") as f:
        f.seek(offset)
        left = length
        while left:
            chunk = f.read(min(CHUNK_BYTES, left))
            if not chunk:
                raise _Unreadable(f"the staged blob {path.name} is shorter than recorded")
            left -= len(chunk)
            sent(len(chunk))
            yield chunk


def _quote(part: str) -> str:
    return quote(part, safe="")
