"""Artifact blob uploads: whole (``PUT /blobs/{sha256}``) or in parts, resumable (docs/artifacts.md).

Blobs are content-addressed and shared by the whole deployment, so any valid API key may upload
one: a blob is only readable through a version of a project the reader may read. Bodies are
streamed into the file store while hashed (never held in memory), with no limit but the store's;
a part is at most ``manifest.PART_BYTES``.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from tracklet.protocol import BlobComplete, BlobInfo, BlobPart, BlobParts
from tracklet.server.blobs import Blobs, Staged, check_digest
from tracklet.server.errors import BadRequest
from tracklet.server.http import JSON, caller, store
from tracklet.server.store import artifact_blobs


def blobs(request: Request) -> Blobs:
    return request.app.state.blobs


def _keep(request: Request, staged: Staged) -> bool:
    """Move a verified upload into place under its row's lock; True if the store had it already."""
    with store(request).transaction() as conn:
        existed = artifact_blobs.add(conn, staged.sha256, staged.size)
        blobs(request).keep(staged)
    return existed


async def upload(request: Request) -> JSON:
    await caller(request)
    digest = check_digest(request.path_params["sha256"])
    staged = await blobs(request).stage(digest, request.stream())
    try:
        if staged.sha256 != digest:
            raise BadRequest(f"the body's SHA-256 is {staged.sha256}, not {digest}")
        existed = await run_in_threadpool(_keep, request, staged)
    finally:
        await run_in_threadpool(blobs(request).discard, staged)  # nothing left to discard once kept
    return JSON(BlobInfo(digest=digest, size=staged.size), status_code=200 if existed else 201)


def _part_number(request: Request) -> int:
    raw = request.path_params["n"]
    if not raw.isdigit():
        raise BadRequest(f"a part number is an integer from 0, got {raw!r}")
    return int(raw)


async def upload_part(request: Request) -> JSON:
    await caller(request)
    digest = check_digest(request.path_params["sha256"])
    n = _part_number(request)
    size = await blobs(request).put_part(digest, n, request.stream())
    return JSON(BlobPart(n=n, size=size), status_code=201)


async def list_parts(request: Request) -> JSON:
    await caller(request)
    digest = check_digest(request.path_params["sha256"])
    found = await run_in_threadpool(blobs(request).parts, digest)
    return JSON(BlobParts(parts=[BlobPart(n=n, size=size) for n, size in found]))


async def complete(request: Request) -> JSON:
    """Join the parts 0..N-1; a joined SHA-256 other than the blob's drops the parts (upload them again)."""
    await caller(request)
    digest = check_digest(request.path_params["sha256"])

    def work() -> tuple[int, bool]:
        staged, count = blobs(request).join_parts(digest)
        try:
            if staged.sha256 != digest:
                blobs(request).drop_parts(digest)
                raise BadRequest(f"the {count} parts joined have SHA-256 {staged.sha256}, not {digest}")
            existed = _keep(request, staged)
        finally:
            blobs(request).discard(staged)
        blobs(request).drop_parts(digest)
        return count, existed

    count, existed = await run_in_threadpool(work)
    return JSON(BlobComplete(parts=count), status_code=200 if existed else 201)


BLOB = "/blobs/{sha256}"
routes = [
    Route(BLOB, upload, methods=["PUT"]),
    Route(BLOB + "/parts/{n}", upload_part, methods=["PUT"]),
    Route(BLOB + "/parts", list_parts, methods=["GET"]),
    Route(BLOB + "/complete", complete, methods=["POST"]),
]
