"""Live updates: a server-sent event stream telling subscribers which runs changed.

Any replica can serve it: it polls the store (cheaply, by ``updated_at``) instead of
relying on in-process notifications, so the server stays stateless.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from tracklet.server.errors import BadRequest
from tracklet.server.http import caller, entity_id_for, store
from tracklet.server.store import runs as run_store
from tracklet.server.store.schema import projects, runs

POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0


def changed_runs(request: Request, entity_id: int, entity: str, project: str | None, since: float) -> list[dict[str, Any]]:
    query = (
        select(runs.c.run_id, runs.c.state, runs.c.updated_at, runs.c.heartbeat_at, runs.c.last_seq,
               projects.c.name.label("project"))
        .join(projects, projects.c.id == runs.c.project_id)
        .where(projects.c.entity_id == entity_id, runs.c.updated_at > since)
        .order_by(runs.c.updated_at)
    )
    if project:
        query = query.where(projects.c.name == project)
    with store(request).read() as conn:
        rows = conn.execute(query).all()
    return [{"entity": entity, "project": r.project, "run_id": r.run_id, "state": run_store.effective_state(r),
             "updated_at": r.updated_at, "last_seq": r.last_seq} for r in rows]


async def events(request: Request) -> StreamingResponse:
    user = await caller(request)
    entity = request.query_params.get("entity")
    if not entity:
        raise BadRequest("query parameter 'entity' is required")
    project = request.query_params.get("project")

    def resolve() -> int:
        with store(request).read() as conn:
            return entity_id_for(conn, user, entity)

    entity_id = await run_in_threadpool(resolve)
    since = float(request.query_params.get("since") or time.time())

    async def stream() -> AsyncIterator[bytes]:
        nonlocal since
        quiet_since = time.monotonic()
        yield b": connected\n\n"
        while not await request.is_disconnected():
            changed = await run_in_threadpool(changed_runs, request, entity_id, entity, project, since)
            if changed:
                since = max(r["updated_at"] for r in changed)
                yield b"event: runs\ndata: " + msgspec.json.encode({"runs": changed}) + b"\n\n"
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
                yield b": keep-alive\n\n"
                quiet_since = time.monotonic()
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


routes = [Route("/events", events, methods=["GET"])]
