"""The local file store's content-addressed blobs: staged while hashed, kept atomically, parts joined, sweeping."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tracklet.server.blobs import LocalBlobs
from tracklet.server.errors import BadRequest, NotFound

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end on a thread of its own: in one pytest session with the browser
    tests, Playwright's loop is already running on this thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def test_a_blob_is_staged_hashed_and_kept_under_its_digest(tmp_path: Path) -> None:
    store = LocalBlobs(tmp_path)
    content = [b"x" * 700_000, b"y" * 700_000, b"z"]  # crosses the megabyte flushed at a time
    staged = run(store.stage(chunks_of(*content)))
    digest = hashlib.sha256(b"".join(content)).hexdigest()
    assert (staged.sha256, staged.size) == (digest, 1_400_001)
    with pytest.raises(NotFound):
        store.blob_file(digest)
    store.keep(staged)
    assert store.blob_file(digest) == tmp_path / "blobs" / digest[:2] / digest
    assert store.blob_file(digest).read_bytes() == b"".join(content)
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []
    store.delete_blob(digest)
    with pytest.raises(NotFound):
        store.blob_file(digest)
    with pytest.raises(BadRequest):
        store.blob_file("../../etc/passwd")


def test_parts_are_listed_and_joined_in_order(tmp_path: Path) -> None:
    store = LocalBlobs(tmp_path)
    digest = hashlib.sha256(b"ab" * 3 + b"c").hexdigest()
    for n, part in [(1, b"abab"), (0, b"ab"), (2, b"c")]:
        assert run(store.put_part(digest, n, chunks_of(part))) == len(part)
    assert store.parts(digest) == [(0, 2), (1, 4), (2, 1)]
    staged, count = store.join_parts(digest)
    assert (staged.sha256, staged.size, count) == (digest, 7, 3)
    store.discard(staged)
    with pytest.raises(BadRequest):
        run(store.put_part(digest, -1, chunks_of(b"")))
    store.drop_parts(digest)
    assert store.parts(digest) == []
    with pytest.raises(BadRequest, match="no parts"):
        store.join_parts(digest)


def test_sweep_removes_only_abandoned_uploads(tmp_path: Path) -> None:
    store = LocalBlobs(tmp_path)
    old, fresh = hashlib.sha256(b"old").hexdigest(), hashlib.sha256(b"fresh").hexdigest()
    run(store.put_part(old, 0, chunks_of(b"o")))
    run(store.put_part(fresh, 0, chunks_of(b"f")))
    leftover = tmp_path / "blobs" / "tmp" / "leftover"
    leftover.write_bytes(b"half an upload")
    long_ago = time.time() - 7200
    for path in (leftover, tmp_path / "blobs" / "parts" / old / "0", tmp_path / "blobs" / "parts" / old):
        os.utime(path, (long_ago, long_ago))
    store.sweep(3600)
    assert not leftover.exists() and store.parts(old) == [] and store.parts(fresh) == [(0, 1)]
