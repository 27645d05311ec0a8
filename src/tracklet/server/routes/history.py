"""A run's history: its keys, rows in a step range, one metric downsampled for a chart, and a full export."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from tracklet.protocol import HistoryKeys, HistoryRows, MediaValue, ProjectMedia, json_safe
from tracklet.server.errors import BadRequest
from tracklet.server.http import JSON, caller, query_int, store
from tracklet.server.routes.runs import RUN, ref_for
from tracklet.server.store import history, runs, series

MAX_ROWS = 100_000
MAX_BUCKETS = 20_000


def _run(request: Request, conn: Any, user: Any) -> Any:
    ref = ref_for(conn, user, request.path_params["entity"], request.path_params["project"])
    return runs.require_run(conn, ref, request.path_params["run_id"])


async def history_keys(request: Request) -> JSON:
    user = await caller(request)

    def work() -> HistoryKeys:
        with store(request).read() as conn:
            row = _run(request, conn, user)
            return HistoryKeys(keys=history.keys(conn, row), media=series.media_keys_of_runs(conn, [row.pk]))

    return JSON(await run_in_threadpool(work))


async def history_rows(request: Request) -> JSON:
    user = await caller(request)
    min_step = query_int(request, "min_step")
    max_step = query_int(request, "max_step")
    wanted = request.query_params.get("keys")

    def work() -> HistoryRows:
        with store(request).read() as conn:
            found = history.rows(conn, _run(request, conn, user), min_step, max_step,
                                 wanted.split(",") if wanted else None)
        if len(found) > MAX_ROWS:
            raise BadRequest(f"{len(found)} rows match; ask for at most {MAX_ROWS} (narrow min_step/max_step, or export)")
        return HistoryRows(rows=json_safe(found))

    return JSON(await run_in_threadpool(work))


def _chart_range(request: Request) -> tuple[int, int | None, int | None, tuple[str, ...]]:
    """``buckets`` (default 1000), ``min_step``, ``max_step`` and the M4 ``columns`` (default all)
    of a chart request: a chart that draws the last value and the min–max band needs four."""
    buckets = query_int(request, "buckets", 1000, minimum=1, maximum=MAX_BUCKETS)
    assert buckets is not None
    columns = tuple(c for c in (request.query_params.get("columns") or "").split(",") if c) or history.M4_COLUMNS
    unknown = [c for c in columns if c not in history.M4_COLUMNS]
    if unknown:
        raise BadRequest(f"query parameter 'columns': unknown {unknown[0]!r}; choose among {', '.join(history.M4_COLUMNS)}")
    return buckets, query_int(request, "min_step"), query_int(request, "max_step"), columns


async def history_series(request: Request) -> JSON:
    user = await caller(request)
    key = request.query_params.get("key")
    if not key:
        raise BadRequest("query parameter 'key' is required")
    buckets, min_step, max_step, wanted = _chart_range(request)

    def work() -> dict[str, Any]:
        with store(request).read() as conn:
            columns = history.downsampled(conn, _run(request, conn, user), key, buckets, min_step, max_step, wanted)
        return {"key": key, "buckets": buckets, **columns}

    return JSON(await run_in_threadpool(work))


MAX_SERIES_RUNS = 1000


def _key_and_runs(request: Request) -> tuple[str, list[str]]:
    """``key`` and ``runs`` (comma-separated run ids) of a request about one key of several runs."""
    key = request.query_params.get("key")
    run_ids = [r for r in (request.query_params.get("runs") or "").split(",") if r]
    if not key or not run_ids:
        raise BadRequest("query parameters 'key' and 'runs' (comma-separated run ids) are required")
    if len(run_ids) > MAX_SERIES_RUNS:
        raise BadRequest(f"ask for at most {MAX_SERIES_RUNS} runs at a time")
    return key, run_ids


async def project_series(request: Request) -> JSON:
    """One metric of many runs of a project, downsampled, in one answer (what a chart panel needs)."""
    user = await caller(request)
    key, run_ids = _key_and_runs(request)
    buckets, min_step, max_step, wanted = _chart_range(request)

    def work() -> dict[str, Any]:
        with store(request).read() as conn:
            ref = ref_for(conn, user, request.path_params["entity"], request.path_params["project"])
            found = {row.run_id: row for row in runs.find_runs(conn, ref, run_ids)}
            present = [run_id for run_id in dict.fromkeys(run_ids) if run_id in found]
            columns = history.downsampled_runs(conn, [found[r] for r in present], key, buckets, min_step, max_step,
                                               wanted)
            answers = dict(zip(present, columns))
        return {"key": key, "buckets": buckets, "runs": answers, "missing": [r for r in run_ids if r not in found]}

    return JSON(await run_in_threadpool(work))


async def project_keys(request: Request) -> JSON:
    """The numeric keys the project's runs logged (those of ``runs=id1,id2,…`` only, when given), and
    its media keys with their type: what a workspace draws a panel for."""
    user = await caller(request)
    run_ids = [r for r in (request.query_params.get("runs") or "").split(",") if r]

    def work() -> HistoryKeys:
        with store(request).read() as conn:
            ref = ref_for(conn, user, request.path_params["entity"], request.path_params["project"])
            pks = [row.pk for row in runs.find_runs(conn, ref, run_ids)] if run_ids else runs.run_pks(conn, ref)
            return HistoryKeys(keys=series.keys_of_runs(conn, pks), media=series.media_keys_of_runs(conn, pks))

    return JSON(await run_in_threadpool(work))


async def history_export(request: Request) -> StreamingResponse:
    user = await caller(request)

    def lines():
        with store(request).read() as conn:
            run_row = _run(request, conn, user)
            for row in history.export(conn, run_row):
                yield msgspec.json.encode(json_safe(row)) + b"\n"

    # Authorization and "not found" are checked before the first byte is sent.
    def check() -> None:
        with store(request).read() as conn:
            _run(request, conn, user)

    await run_in_threadpool(check)
    return StreamingResponse(iterate_in_threadpool(lines()), media_type="application/x-ndjson")


async def project_media(request: Request) -> JSON:
    """Every value one media key holds in several runs (a media panel's data)."""
    user = await caller(request)
    key, run_ids = _key_and_runs(request)
    min_step, max_step = query_int(request, "min_step"), query_int(request, "max_step")

    def work() -> ProjectMedia:
        with store(request).read() as conn:
            ref = ref_for(conn, user, request.path_params["entity"], request.path_params["project"])
            found = {row.run_id: row for row in runs.find_runs(conn, ref, run_ids)}
            answers = {run_id: [MediaValue(step=step, value=json_safe(value))
                                for step, value in history.media_values(conn, found[run_id], key, min_step, max_step)]
                       for run_id in run_ids if run_id in found}
        return ProjectMedia(key=key, runs=answers, missing=[r for r in run_ids if r not in found])

    return JSON(await run_in_threadpool(work))


routes = [
    Route("/projects/{entity}/{project}/media", project_media, methods=["GET"]),
    Route("/projects/{entity}/{project}/series", project_series, methods=["GET"]),
    Route("/projects/{entity}/{project}/keys", project_keys, methods=["GET"]),
    Route(RUN + "/history/keys", history_keys, methods=["GET"]),
    Route(RUN + "/history", history_rows, methods=["GET"]),
    Route(RUN + "/history/series", history_series, methods=["GET"]),
    Route(RUN + "/history/export", history_export, methods=["GET"]),
]
