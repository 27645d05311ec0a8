"""The file store's conformance suite: every case runs on the local directory and on a real S3 server.

The S3 backend talks to the session's SeaweedFS (``tests/s3.py``), each test in a bucket of its own,
under a prefix, as ``tracklet server --files s3://bucket/prefix`` would.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.s3 import S3Server
from tracklet.server.blobs import Blobs, LocalBlobs, Stored, open_blobs
from tracklet.server.errors import BadRequest, NotFound, PayloadTooLarge

T = TypeVar("T")
MB = 1024 * 1024


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end on a thread of its own: in one pytest session with the browser
    tests, Playwright's loop is already running on this thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def broken_after(*parts: bytes) -> AsyncIterator[bytes]:
    """An upload cut by its client after ``parts``."""
    for part in parts:
        yield part
    raise ConnectionResetError("the client went away")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_all(blobs: Blobs, stored: Stored, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(blobs.read(stored, start, end))


@dataclass
class Backend:
    blobs: Blobs
    keys: Callable[[], list[str]]  # everything the store holds, relative to its root or prefix
    unfinished: Callable[[], int]  # uploads begun and neither completed nor aborted (S3's multipart uploads)


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Backend:
    if request.param == "local":
        root = tmp_path / "files"
        local = LocalBlobs(root)
        return Backend(local, lambda: sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()),
                       lambda: 0)
    server: S3Server = request.getfixturevalue("s3_server")
    bucket: str = request.getfixturevalue("s3_bucket")
    for name, value in server.environment().items():
        monkeypatch.setenv(name, value)
    s3 = open_blobs(f"s3://{bucket}/deployment")
    client = server.client()

    def unfinished() -> int:
        return len(client.list_multipart_uploads(Bucket=bucket).get("Uploads", []))

    return Backend(s3, lambda: [k.removeprefix("deployment/") for k in server.keys(bucket)], unfinished)


def test_the_store_is_usable(backend: Backend) -> None:
    backend.blobs.check()
    assert backend.keys() == []  # the check leaves nothing behind


def test_run_files_are_put_listed_read_replaced_and_deleted(backend: Backend) -> None:
    blobs = backend.blobs
    big = bytes(range(256)) * (9 * MB // 256) + b"tail"  # more than one S3 part: a multipart upload
    assert run(blobs.put("7", "media/images/a.png", chunks_of(big[:3 * MB], big[3 * MB:]))) == len(big)
    assert run(blobs.put("7", "output.log", chunks_of(b"line 1\n", b"line 2\n"))) == 14
    assert run(blobs.put("8", "output.log", chunks_of(b"another run\n"))) == 12
    assert blobs.list("7") == [("media/images/a.png", len(big)), ("output.log", 14)]
    stored = blobs.file("7", "media/images/a.png")
    assert stored.size == len(big) and read_all(blobs, stored) == big
    assert read_all(blobs, stored, 5, 1_000_005) == big[5:1_000_005]
    assert read_all(blobs, stored, len(big) - 3) == b"ail" and read_all(blobs, stored, 4, 4) == b""
    assert run(blobs.put("7", "output.log", chunks_of(b"replaced"))) == 8
    assert read_all(blobs, blobs.file("7", "output.log")) == b"replaced"
    with pytest.raises(NotFound):
        blobs.file("7", "missing.txt")
    for bad in ("../8/output.log", "/etc/passwd", "a//b", "a\\b"):
        with pytest.raises(BadRequest):
            blobs.file("7", bad)
    blobs.delete_run("7")
    assert blobs.list("7") == [] and backend.keys() == ["8/output.log"]
    blobs.delete_run("7")  # twice is fine
    gone = blobs.file("8", "output.log")
    blobs.delete_run("8")
    with pytest.raises(NotFound):  # found, then deleted before it was read: the reader hears of it at once
        blobs.read(gone)


def test_a_file_over_its_limit_or_cut_short_leaves_nothing(backend: Backend) -> None:
    blobs = backend.blobs
    run(blobs.put("3", "kept.txt", chunks_of(b"kept")))
    with pytest.raises(PayloadTooLarge):
        run(blobs.put("3", "kept.txt", chunks_of(b"x" * 6 * MB, b"x" * 6 * MB), limit=10 * MB))
    with pytest.raises(ConnectionResetError):
        run(blobs.put("3", "cut.bin", broken_after(b"y" * 9 * MB, b"y" * MB)))  # a part already sent
    assert blobs.list("3") == [("kept.txt", 4)]  # the old file is untouched, the cut one absent
    assert backend.keys() == ["3/kept.txt"] and backend.unfinished() == 0


def test_a_blob_is_staged_hashed_and_kept_under_its_digest(backend: Backend) -> None:
    blobs = backend.blobs
    for content in ([b"x" * 700_000, b"y" * 700_000, b"z"], [b"w" * 5 * MB, b"v" * 5 * MB]):  # one PUT; multipart
        whole = b"".join(content)
        staged = run(blobs.stage(sha(whole), chunks_of(*content)))
        assert (staged.sha256, staged.size) == (sha(whole), len(whole))
        with pytest.raises(NotFound):
            blobs.blob(sha(whole))  # nothing is visible before it is kept
        blobs.keep(staged)
        blobs.discard(staged)  # after keep: nothing to do
        stored = blobs.blob(sha(whole))
        assert stored.size == len(whole) and read_all(blobs, stored) == whole
    assert backend.keys() == sorted(f"blobs/{sha(b)[:2]}/{sha(b)}" for b in
                                    (b"x" * 700_000 + b"y" * 700_000 + b"z", b"w" * 5 * MB + b"v" * 5 * MB))
    blobs.delete_blob(sha(b"w" * 5 * MB + b"v" * 5 * MB))
    with pytest.raises(NotFound):
        blobs.blob(sha(b"w" * 5 * MB + b"v" * 5 * MB))
    with pytest.raises(BadRequest):
        blobs.blob("../../etc/passwd")


def test_an_upload_with_the_wrong_digest_is_discarded_whole(backend: Backend) -> None:
    blobs = backend.blobs
    claimed = sha(b"what the client said")
    for body in (b"small", b"m" * 10 * MB):
        staged = run(blobs.stage(claimed, chunks_of(body)))
        assert staged.sha256 == sha(body) != claimed
        blobs.discard(staged)
    with pytest.raises(ConnectionResetError):
        run(blobs.stage(claimed, broken_after(b"n" * 9 * MB)))
    with pytest.raises(NotFound):
        blobs.blob(claimed)
    assert backend.keys() == [] and backend.unfinished() == 0


def test_parts_are_listed_and_joined_in_order(backend: Backend) -> None:
    blobs = backend.blobs
    pieces = [b"a" * 6 * MB, b"b" * 6 * MB, b"c"]
    digest = sha(b"".join(pieces))
    for n in (1, 0, 2):
        assert run(blobs.put_part(digest, n, chunks_of(pieces[n]))) == len(pieces[n])
    assert blobs.parts(digest) == [(0, 6 * MB), (1, 6 * MB), (2, 1)]
    staged, count = blobs.join_parts(digest)
    assert (staged.sha256, staged.size, count) == (digest, 12 * MB + 1, 3)
    blobs.keep(staged)
    blobs.drop_parts(digest)
    assert blobs.parts(digest) == [] and read_all(blobs, blobs.blob(digest)) == b"".join(pieces)
    with pytest.raises(BadRequest):
        run(blobs.put_part(digest, -1, chunks_of(b"")))
    with pytest.raises(BadRequest, match="no parts"):
        blobs.join_parts(digest)
    other = sha(b"gap")
    run(blobs.put_part(other, 0, chunks_of(b"g")))
    run(blobs.put_part(other, 2, chunks_of(b"p")))
    with pytest.raises(BadRequest, match="part 1 of blob"):
        blobs.join_parts(other)
    assert backend.keys() == sorted([f"blobs/{digest[:2]}/{digest}", f"blobs/parts/{other}/0",
                                     f"blobs/parts/{other}/2"])
    assert backend.unfinished() == 0


def test_sweep_removes_only_abandoned_uploads(backend: Backend) -> None:
    blobs = backend.blobs
    abandoned = sha(b"abandoned")
    run(blobs.put_part(abandoned, 0, chunks_of(b"o")))
    run(blobs.stage(abandoned, chunks_of(b"s" * 9 * MB)))  # neither kept nor discarded: the server died
    run(blobs.put("5", "kept.txt", chunks_of(b"a run's file")))
    blobs.sweep(3600)  # all of it is recent: kept
    assert blobs.parts(abandoned) == [(0, 1)]
    time.sleep(1.1)  # S3 keeps whole seconds: now the uploads are older than "now"
    blobs.sweep(0)
    assert blobs.parts(abandoned) == [] and backend.unfinished() == 0
    assert backend.keys() == ["5/kept.txt"]


def test_a_download_url_is_given_only_by_a_presigning_bucket(backend: Backend, s3_server: S3Server,
                                                            s3_bucket: str) -> None:
    blobs = backend.blobs
    run(blobs.put("9", "notes.html", chunks_of(b"<p>hi</p>")))
    stored = blobs.file("9", "notes.html")
    assert blobs.download_url(stored, "text/html", "attachment") is None  # proxied by default
    if isinstance(blobs, LocalBlobs):
        return
    presigning = open_blobs(f"s3://{s3_bucket}", download="presigned")
    run(presigning.put("9", "notes.html", chunks_of(b"<p>hi</p>")))
    url = presigning.download_url(presigning.file("9", "notes.html"), "text/html", "attachment")
    assert url is not None and url.startswith(s3_server.endpoint)
    answer = httpx.get(url)  # no credentials: the URL is enough
    assert answer.status_code == 200 and answer.content == b"<p>hi</p>"
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-disposition"] == "attachment"
