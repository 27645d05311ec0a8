"""A project's workspace layout: read it (the default one until saved) and replace it."""

from __future__ import annotations

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from tracklet.protocol import MAX_LAYOUT_BYTES, WorkspaceLayout
from tracklet.server.errors import BadRequest, PayloadTooLarge
from tracklet.server.http import JSON, caller, store
from tracklet.server.routes.runs import ref_for
from tracklet.server.store import workspaces


async def _layout_body(request: Request) -> WorkspaceLayout:
    """The body as a layout: at most MAX_LAYOUT_BYTES of JSON (413), known fields within their
    limits (400 naming the field)."""
    declared = request.headers.get("content-length")
    too_large = f"a workspace layout is at most {MAX_LAYOUT_BYTES} bytes"
    if declared is not None and declared.isdigit() and int(declared) > MAX_LAYOUT_BYTES:
        raise PayloadTooLarge(too_large)
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_LAYOUT_BYTES:
            raise PayloadTooLarge(too_large)
    try:
        return msgspec.json.decode(raw, type=WorkspaceLayout)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid layout: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None


async def get_layout(request: Request) -> JSON:
    user = await caller(request)

    def work() -> WorkspaceLayout:
        with store(request).read() as conn:
            ref = ref_for(conn, user, request.path_params["entity"], request.path_params["project"])
            return workspaces.read_layout(conn, ref)

    return JSON(await run_in_threadpool(work))


async def put_layout(request: Request) -> JSON:
    user = await caller(request)
    layout = await _layout_body(request)

    def work() -> WorkspaceLayout:
        with store(request).transaction() as conn:
            ref = ref_for(conn, user, request.path_params["entity"], request.path_params["project"])
            return workspaces.save_layout(conn, ref, layout)

    return JSON(await run_in_threadpool(work))


WORKSPACE = "/projects/{entity}/{project}/workspace"
routes = [
    Route(WORKSPACE, get_layout, methods=["GET"]),
    Route(WORKSPACE, put_layout, methods=["PUT"]),
]
