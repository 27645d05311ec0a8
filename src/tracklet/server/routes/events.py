"""Live updates: a server-sent event stream telling subscribers which runs changed.

Any replica can serve it: every stream of a replica shares one store poll (``server/live.py``),
so 500 open streams cost what one does, and nothing is kept that another replica would need.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from tracklet.server.errors import BadRequest
from tracklet.server.http import caller, entity_id_for, store
from tracklet.server.live import LiveFeed, as_event

KEEPALIVE_SECONDS = 15.0
DISCONNECT_CHECK_SECONDS = 1.0


def live_feed(request: Request) -> LiveFeed:
    feed: LiveFeed = request.app.state.live_feed
    return feed


async def events(request: Request) -> StreamingResponse:
    user = await caller(request)
    entity = request.query_params.get("entity")
    if not entity:
        raise BadRequest("query parameter 'entity' is required")
    project = request.query_params.get("project")
    try:
        since = float(request.query_params.get("since") or time.time())
    except ValueError:
        raise BadRequest("query parameter 'since' must be a number (seconds since the epoch)") from None

    def resolve() -> int:
        with store(request).read() as conn:
            return entity_id_for(conn, user, entity)

    entity_id = await run_in_threadpool(resolve)
    feed = live_feed(request)
    subscription = await feed.subscribe(entity_id, project, since)

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield b": connected\n\n"
            quiet_since = time.monotonic()
            while not await request.is_disconnected():
                try:
                    await asyncio.wait_for(subscription.ready.wait(), DISCONNECT_CHECK_SECONDS)
                except TimeoutError:
                    if time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
                        yield b": keep-alive\n\n"
                        quiet_since = time.monotonic()
                    continue
                yield b"event: runs\ndata: " + msgspec.json.encode(as_event(subscription.take(), entity)) + b"\n\n"
                quiet_since = time.monotonic()
        finally:
            feed.unsubscribe(subscription)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


routes = [Route("/events", events, methods=["GET"])]
