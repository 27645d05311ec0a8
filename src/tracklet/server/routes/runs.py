"""Runs: the init handshake, record uploads, listing, reading, editing and deleting."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Row
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from tracklet.protocol import MetricDefinition, RecordAck, RecordBatch, RunHandshake, RunHandshakeReply, RunInfo, RunUpdate
from tracklet.server.errors import BadRequest
from tracklet.server.http import JSON, body, caller, entity_id_for, query_float, query_int, store
from tracklet.server.store import filters, runs
from tracklet.server.store.accounts import User
from tracklet.server.store.runs import RunRef


def run_info(ref: RunRef, row: Row[Any]) -> RunInfo:
    return RunInfo(
        entity=ref.entity, project=ref.project, run_id=row.run_id, name=row.name, state=runs.effective_state(row),
        notes=row.notes, tags=list(row.tags), group=row.group, job_type=row.job_type, host=row.host,
        config=row.config, summary=row.summary, metadata=row.meta, branch=row.branch, exit_code=row.exit_code,
        created_at=row.created_at, updated_at=row.updated_at, heartbeat_at=row.heartbeat_at, last_seq=row.last_seq,
        metrics=msgspec.convert(row.metrics or [], list[MetricDefinition]),
    )


def ref_for(conn: Any, user: User, entity: str, project: str) -> RunRef:
    return RunRef(entity_id_for(conn, user, entity), entity, project)


def _path_ref(request: Request, conn: Any, user: User) -> RunRef:
    return ref_for(conn, user, request.path_params["entity"], request.path_params["project"])


async def handshake(request: Request) -> JSON:
    user = await caller(request)
    request_body = await body(request, RunHandshake)
    for what, value in (("project", request_body.project), ("run_id", request_body.run_id)):
        if "/" in value:  # one segment of every path that reads the run: it could never be reached
            raise BadRequest(f"{what} may not contain '/', got {value!r}")

    def work() -> RunHandshakeReply:
        with store(request).transaction() as conn:
            ref = ref_for(conn, user, request_body.entity or user.name, request_body.project)
            reply = runs.open_run(conn, ref, request_body)
        url = f"{str(request.base_url).rstrip('/')}/{ref.entity}/{ref.project}/runs/{reply['run_id']}"
        return RunHandshakeReply(entity=ref.entity, project=ref.project, url=url, **reply)

    return JSON(await run_in_threadpool(work))


async def upload_records(request: Request) -> JSON:
    user = await caller(request)
    batch = await body(request, RecordBatch, msgpack_body=True)

    def work() -> RecordAck:
        with store(request).transaction() as conn:
            last = runs.append_records(conn, _path_ref(request, conn, user), request.path_params["run_id"], batch,
                                       user)
        return RecordAck(last_seq=last)

    return JSON(await run_in_threadpool(work))


async def list_runs(request: Request) -> JSON:
    """Query: ``filters`` (a JSON filter document, see ``store.filters``), ``order``, ``limit``, ``offset``,
    ``updated_after`` (a server time: only runs changed since, and running ones). The ``X-Total-Count``
    header holds how many runs the project has (so a client following changes notices deletions)."""
    user = await caller(request)
    updated_after = query_float(request, "updated_after")
    condition = filters.parse_filter(request.query_params.get("filters"))
    order = filters.parse_order(request.query_params.get("order"))
    limit = query_int(request, "limit", 1000, minimum=1, maximum=10_000)
    offset = query_int(request, "offset", 0, minimum=0)
    assert limit is not None and offset is not None

    def work() -> tuple[list[RunInfo], int]:
        with store(request).read() as conn:
            ref = _path_ref(request, conn, user)
            found = runs.list_runs(conn, ref, updated_after, condition, order, limit, offset)
            return [run_info(ref, row) for row in found], runs.count_runs(conn, ref)

    listed, total = await run_in_threadpool(work)
    return JSON(listed, headers={"X-Total-Count": str(total)})


async def get_run(request: Request) -> JSON:
    user = await caller(request)

    def work() -> RunInfo:
        with store(request).read() as conn:
            ref = _path_ref(request, conn, user)
            return run_info(ref, runs.require_run(conn, ref, request.path_params["run_id"]))

    return JSON(await run_in_threadpool(work))


async def update_run(request: Request) -> JSON:
    user = await caller(request)
    change = await body(request, RunUpdate)

    def work() -> RunInfo:
        with store(request).transaction() as conn:
            ref = _path_ref(request, conn, user)
            return run_info(ref, runs.update_run(conn, ref, request.path_params["run_id"], change))

    return JSON(await run_in_threadpool(work))


async def delete_run(request: Request) -> JSON:
    user = await caller(request)

    def work() -> None:
        with store(request).transaction() as conn:
            pk = runs.delete_run(conn, _path_ref(request, conn, user), request.path_params["run_id"])
        if request.app.state.blobs is not None:
            request.app.state.blobs.delete_run(str(pk))

    await run_in_threadpool(work)
    return JSON({"deleted": request.path_params["run_id"]})


RUN = "/runs/{entity}/{project}/{run_id}"
routes = [
    Route("/runs", handshake, methods=["POST"]),
    Route("/runs/{entity}/{project}", list_runs, methods=["GET"]),
    Route(RUN, get_run, methods=["GET"]),
    Route(RUN, update_run, methods=["PATCH"]),
    Route(RUN, delete_run, methods=["DELETE"]),
    Route(RUN + "/records", upload_records, methods=["POST"]),
]
