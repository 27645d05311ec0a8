"""Files of a run: upload (PUT, streamed into the file store), download (GET), list.

Downloads of run files and artifact files are answered by :func:`file_response`: from the server's disk,
streamed from the bucket (Range requests answered either way), or, where the server was started with
``--files-download presigned`` and the client sends ``Tracklet-Accept-Redirect``, a redirect (307) to a
presigned URL of the bucket.
"""

from __future__ import annotations

import mimetypes
import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from tracklet.protocol import RunFile
from tracklet.protocol.headers import ACCEPT_REDIRECT
from tracklet.server.blobs import Blobs, Stored, safe_path
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
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"a file is at most {MAX_BODY_BYTES} bytes")
    size = await blobs(request).put(key, path, request.stream(), limit=MAX_BODY_BYTES)
    return JSON(RunFile(path=path, size=size), status_code=201)


# Types a browser may show in place; anything else (HTML included) downloads as an attachment.
INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "audio/", "video/",
                "application/json", "text/plain")


async def file_response(request: Request, stored: Stored, name: str, binary: bool = False) -> Response:
    """The stored file, served as a file called ``name`` (its content type follows the name; Range
    requests are answered): never runnable as a page of the UI's origin (sandboxed, not sniffed).
    ``binary``: a type other than text or one a browser shows is sent as ``application/octet-stream``
    (never compressed): artifacts are often weights whose extension the system's table gets wrong
    (``.pt``: a SNES page table)."""
    media_type = mimetypes.guess_type(name)[0] or "text/plain"
    if binary and not media_type.startswith((*INLINE_TYPES, "text/")):
        media_type = "application/octet-stream"
    disposition = None if media_type.startswith(INLINE_TYPES) else "attachment"
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox",
               **({"Content-Disposition": disposition} if disposition else {})}
    if stored.path is not None:
        return FileResponse(stored.path, media_type=media_type, headers=headers)
    if request.headers.get(ACCEPT_REDIRECT):
        url = blobs(request).download_url(stored, media_type, disposition)
        if url is not None:
            return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
    headers["Accept-Ranges"] = "bytes"
    wanted = byte_range(request.headers.get("range"), stored.size)
    if wanted is None:
        body = await run_in_threadpool(blobs(request).read, stored)
        return StreamingResponse(body, media_type=media_type, headers={**headers, "Content-Length": str(stored.size)})
    start, end = wanted
    if start >= end:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{stored.size}"})
    body = await run_in_threadpool(blobs(request).read, stored, start, end)
    return StreamingResponse(body, status_code=206, media_type=media_type,
                             headers={**headers, "Content-Length": str(end - start),
                                      "Content-Range": f"bytes {start}-{end - 1}/{stored.size}"})


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range a ``Range`` header asks for, as (start, end exclusive), clipped to ``size``; None for
    the whole file (no header, several ranges, or a header this does not read); start >= end if it
    cannot be satisfied."""
    found = _RANGE.fullmatch((header or "").strip())
    if found is None or found.group(1) == found.group(2) == "":
        return None
    first, last = found.groups()
    if first == "":  # the last N bytes
        return max(0, size - int(last)), size
    start = int(first)
    end = size if last == "" else min(size, int(last) + 1)
    return (start, end) if start < size and start < end else (size, size)


async def download(request: Request) -> Response:
    path = safe_path(request.path_params["path"])
    key = await _run_key(request)
    return await file_response(request, await run_in_threadpool(blobs(request).file, key, path), path)


async def listing(request: Request) -> JSON:
    key = await _run_key(request)
    return JSON([RunFile(path=p, size=s) for p, s in await run_in_threadpool(blobs(request).list, key)])


routes = [
    Route(RUN + "/files", listing, methods=["GET"]),
    Route(RUN + "/files/{path:path}", upload, methods=["PUT"]),
    Route(RUN + "/files/{path:path}", download, methods=["GET"]),
]
