"""The file store in a local directory (the default): files written beside their place, then renamed."""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import BinaryIO

from tracklet.artifacts.manifest import CHUNK_BYTES, PART_BYTES
from tracklet.errors import UsageError
from tracklet.server.blobs import (Parts, Staged, Stored, blob_key, check_part_number, consecutive, parts_key,
                                   pump, safe_path)
from tracklet.server.errors import NotFound


class LocalBlobs:
    """Files under ``root`` (see the package docstring for the tree), written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = str(root)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--files {root}: cannot create the directory ({exc.strerror})") from None

    def check(self) -> None:
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise UsageError(f"--files {self.root}: the server cannot write to this directory")

    async def _write(self, target: Path, chunks: AsyncIterator[bytes], limit: int | None, what: str) -> tuple[str, int]:
        """Stream ``chunks`` into a hidden file beside ``target``, then rename it into place."""
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
        try:
            with open(temporary, "wb") as out:
                digest, size = await pump(chunks, out.write, limit, what)
            os.replace(temporary, target)  # a file in place is always whole
        except BaseException:  # a full disk or a cut upload: leave no half file taking the space that is left
            temporary.unlink(missing_ok=True)
            raise
        return digest, size

    # -- run files ------------------------------------------------------------------------------

    def _file(self, run_key: str, path: str) -> Path:
        return self.root / run_key / safe_path(path)

    async def put(self, run_key: str, path: str, chunks: AsyncIterator[bytes], limit: int | None = None) -> int:
        return (await self._write(self._file(run_key, path), chunks, limit, "a file"))[1]

    def file(self, run_key: str, path: str) -> Stored:
        target = self._file(run_key, path)
        if not target.is_file():
            raise NotFound(f"no file {path!r}")
        return Stored(f"{run_key}/{path}", target.stat().st_size, target)

    def list(self, run_key: str) -> list[tuple[str, int]]:
        base = self.root / run_key
        if not base.is_dir():
            return []
        return sorted((p.relative_to(base).as_posix(), p.stat().st_size)
                      for p in base.rglob("*") if p.is_file() and not p.name.endswith(".tmp"))

    def delete_run(self, run_key: str) -> None:
        shutil.rmtree(self.root / run_key, ignore_errors=True)

    def read(self, stored: Stored, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        assert stored.path is not None
        try:
            f = open(stored.path, "rb")  # opened now: a file deleted meanwhile is a 404
        except FileNotFoundError:
            raise NotFound(f"{stored.key} is no longer stored") from None
        return _chunks(f, start, (stored.size if end is None else end) - start)

    def download_url(self, stored: Stored, media_type: str, disposition: str | None) -> str | None:
        return None  # files on the server's disk are served by the server

    # -- content-addressed blobs ----------------------------------------------------------------

    def _temporary(self) -> Path:
        folder = self.root / "blobs" / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / secrets.token_hex(16)

    async def stage(self, sha256: str, chunks: AsyncIterator[bytes], limit: int | None = None) -> Staged:
        target = self._temporary()
        try:
            with open(target, "wb") as out:
                digest, size = await pump(chunks, out.write, limit, "a blob")
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return Staged(digest, size, target)

    def keep(self, staged: Staged) -> None:
        assert isinstance(staged.handle, Path)
        final = self.root / blob_key(staged.sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.handle, final)  # atomic: a blob file is always whole

    def discard(self, staged: Staged) -> None:
        assert isinstance(staged.handle, Path)
        staged.handle.unlink(missing_ok=True)

    async def put_part(self, sha256: str, n: int, chunks: AsyncIterator[bytes]) -> int:
        target = self.root / parts_key(sha256) / str(check_part_number(n))
        return (await self._write(target, chunks, PART_BYTES, "a part"))[1]  # a listed part is a whole part

    def parts(self, sha256: str) -> Parts:
        folder = self.root / parts_key(sha256)
        if not folder.is_dir():
            return []
        return sorted((int(p.name), p.stat().st_size) for p in folder.iterdir() if p.name.isdigit())

    def join_parts(self, sha256: str) -> tuple[Staged, int]:
        import hashlib

        numbers = consecutive(sha256, self.parts(sha256))
        target, hasher, size = self._temporary(), hashlib.sha256(), 0
        try:
            with open(target, "wb") as out:
                for n in numbers:
                    with open(self.root / parts_key(sha256) / str(n), "rb") as part:
                        while chunk := part.read(CHUNK_BYTES):
                            hasher.update(chunk)
                            out.write(chunk)
                            size += len(chunk)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return Staged(hasher.hexdigest(), size, target), len(numbers)

    def drop_parts(self, sha256: str) -> None:
        shutil.rmtree(self.root / parts_key(sha256), ignore_errors=True)

    def blob(self, sha256: str) -> Stored:
        target = self.root / blob_key(sha256)
        if not target.is_file():
            raise NotFound(f"no blob {sha256}")
        return Stored(blob_key(sha256), target.stat().st_size, target)

    def delete_blob(self, sha256: str) -> None:
        (self.root / blob_key(sha256)).unlink(missing_ok=True)

    def sweep(self, older_than: float) -> None:
        """Remove temporary files and parts not written to for ``older_than`` seconds (abandoned uploads)."""
        cutoff = time.time() - older_than
        blobs = self.root / "blobs"
        for temporary in (blobs / "tmp").glob("*"):
            if temporary.stat().st_mtime < cutoff:
                temporary.unlink(missing_ok=True)
        for folder in (blobs / "parts").glob("*"):
            if all(p.stat().st_mtime < cutoff for p in folder.iterdir()) and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)


def _chunks(f: BinaryIO, start: int, left: int) -> Iterator[bytes]:
    with f:
        f.seek(start)
        while left > 0 and (chunk := f.read(min(CHUNK_BYTES, left))):
            left -= len(chunk)
            yield chunk
