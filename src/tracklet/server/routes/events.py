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
from tracklet.server.http import caller, entity_id_for, query_float, store
from tracklet.server.live import LiveFeed, as_event

KEEPALIVE_SECONDS = 15.0


def live_feed(request: Request) -> LiveFeed:
    feed: LiveFeed = request.app.state.live_feed
    return feed


async def events(request: Request) -> StreamingResponse:
    user = await caller(request)
    entity = request.query_params.get("entity")
    if not entity:
        raise BadRequest("query parameter 'entity' is required")
    project = request.query_params.get("project")
    since = query_float(request, "since")  # NaN or infinity would match no change, ever: 400
    if since is None:
        since = time.time()

    def resolve() -> int:
        with store(request).read() as conn:
            return entity_id_for(conn, user, entity)

    entity_id = await run_in_threadpool(resolve)
    feed = live_feed(request)
    subscription = await feed.subscribe(entity_id, project, since)

    async def stream() -> AsyncIterator[bytes]:
        # A stream sleeps until its subscription has news, or a keep-alive is due: it does not wake
        # to ask whether the client left (500 idle streams did, once a second each, measured in
        # bench/live_bench.py). Starlette cancels it when the client disconnects (or a write fails).
        try:
            yield b": connected\n\n"
            while True:
                try:
                    await asyncio.wait_for(subscription.ready.wait(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                yield b"event: runs\ndata: " + msgspec.json.encode(as_event(subscription.take(), entity)) + b"\n\n"
        finally:
            feed.unsubscribe(subscription)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


routes = [Route("/events", events, methods=["GET"])]
