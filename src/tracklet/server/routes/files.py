"""Files of a run: upload (PUT), download (GET), list."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route

from tracklet.protocol import RunFile
from tracklet.server.blobs import Blobs, safe_path
from tracklet.server.errors import PayloadTooLarge
from tracklet.server.http import JSON, MAX_BODY_BYTES, caller, store
from tracklet.server.routes.runs import RUN, ref_for
from tracklet.server.store import runs


def blobs(request: Request) -> Blobs:
    return request.app.state.blobs


async def _run_key(request: Request) -> str:
    user = await caller(request)

    def work() -> str:
        with store(request).read() as conn:
            ref = ref_for(conn, user, request.path_params["entity"], request.path_params["project"])
            return str(runs.require_run(conn, ref, request.path_params["run_id"]).pk)

    return await run_in_threadpool(work)


async def upload(request: Request) -> JSON:
    path = safe_path(request.path_params["path"])
    key = await _run_key(request)
    data = await request.body()
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"files are limited to {MAX_BODY_BYTES} bytes for now")
    await run_in_threadpool(blobs(request).put, key, path, data)
    return JSON(RunFile(path=path, size=len(data)), status_code=201)


# Types a browser may show in place; anything else (HTML included) downloads as an attachment.
INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "audio/", "video/",
                "application/json", "text/plain")


def file_response(target: Path, name: str, binary: bool = False) -> FileResponse:
    """The file at ``target``, served as a file called ``name`` (its content type follows the name;
    Range requests are answered): never runnable as a page of the UI's origin (sandboxed, not sniffed).
    ``binary``: a type other than text or one a browser shows is sent as ``application/octet-stream``
    (never compressed): artifacts are often weights whose extension the system's table gets wrong
    (``.pt``: a SNES page table)."""
    media_type = mimetypes.guess_type(name)[0]
    if binary and not (media_type or "").startswith((*INLINE_TYPES, "text/")):
        media_type = "application/octet-stream"
    response = FileResponse(target, media_type=media_type or "text/plain")
    content_type = response.media_type or ""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    if not content_type.startswith(INLINE_TYPES):
        response.headers["Content-Disposition"] = "attachment"
    return response


async def download(request: Request) -> FileResponse:
    path = safe_path(request.path_params["path"])
    key = await _run_key(request)
    return file_response(await run_in_threadpool(blobs(request).get, key, path), path)


async def listing(request: Request) -> JSON:
    key = await _run_key(request)
    return JSON([RunFile(path=p, size=s) for p, s in await run_in_threadpool(blobs(request).list, key)])


routes = [
    Route(RUN + "/files", listing, methods=["GET"]),
    Route(RUN + "/files/{path:path}", upload, methods=["PUT"]),
    Route(RUN + "/files/{path:path}", download, methods=["GET"]),
]
