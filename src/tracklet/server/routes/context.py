"""A run's system metrics and console output."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from tracklet.server.http import JSON, caller, query_int, store
from tracklet.server.routes.runs import RUN, ref_for
from tracklet.server.store import context, runs

MAX_LINES = 10_000


def _run_pk(request: Request, conn: Any, user: Any) -> int:
    ref = ref_for(conn, user, request.path_params["entity"], request.path_params["project"])
    return int(runs.require_run(conn, ref, request.path_params["run_id"]).pk)


async def system_metrics(request: Request) -> JSON:
    user = await caller(request)

    def work() -> dict[str, Any]:
        with store(request).read() as conn:
            return context.read_samples(conn, _run_pk(request, conn, user))

    return JSON(await run_in_threadpool(work))


async def console_output(request: Request) -> JSON:
    user = await caller(request)
    after = query_int(request, "after", -1, minimum=-1)
    limit = query_int(request, "limit", 1000, minimum=1, maximum=MAX_LINES)
    assert after is not None and limit is not None

    def work() -> dict[str, Any]:
        with store(request).read() as conn:
            return {"lines": context.read_lines(conn, _run_pk(request, conn, user), after, limit)}

    return JSON(await run_in_threadpool(work))


routes = [
    Route(RUN + "/system", system_metrics, methods=["GET"]),
    Route(RUN + "/console", console_output, methods=["GET"]),
]
