"""Artifacts: versions, aliases, files, a run's lineage and the blob gc (docs/artifacts.md).

Every route but gc follows its project's access rule (``ref_for``: another entity's key gets 404).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracklet.artifacts import manifest
from tracklet.protocol import ArtifactCreate, ArtifactUpdate, ArtifactVersion, BlobsMissing, BlobsMissingReply
from tracklet.server.errors import BadRequest, Forbidden, NotFound
from tracklet.server.http import JSON, body, caller, query_int, store
from tracklet.server.routes.blobs import blobs
from tracklet.server.routes.files import file_response
from tracklet.server.routes.runs import RUN, ref_for
from tracklet.server.store import accounts, artifact_blobs, artifacts, runs
from tracklet.server.store.accounts import User
from tracklet.server.store.runs import RunRef

GC_GRACE_SECONDS = 3600  # blobs uploaded more recently may belong to a version being logged
ABANDONED_SECONDS = 86400  # parts and temporary files untouched this long are of uploads given up


def _ref(request: Request, conn: Any, user: User) -> RunRef:
    return ref_for(conn, user, request.path_params["entity"], request.path_params["project"])


def _flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise BadRequest(f"query parameter {name!r} must be true or false, got {raw!r}")
    return raw in ("true", "1")


async def missing(request: Request) -> JSON:
    user = await caller(request)
    asked = await body(request, BlobsMissing)
    bad = next((d for d in asked.digests if not manifest.is_sha256(d)), None)
    if bad is not None:
        raise BadRequest(f"digests are SHA-256s (64 lowercase hex digits), got {bad!r}")

    def work() -> BlobsMissingReply:
        with store(request).transaction() as conn:  # it marks the blobs found as wanted (see missing())
            _ref(request, conn, user)
            return BlobsMissingReply(missing=artifact_blobs.missing(conn, asked.digests))

    return JSON(await run_in_threadpool(work))


async def list_artifacts(request: Request) -> JSON:
    user = await caller(request)
    kind = request.query_params.get("type") or None

    def work() -> list[Any]:
        with store(request).read() as conn:
            return artifacts.list_artifacts(conn, _ref(request, conn, user), kind)

    return JSON(await run_in_threadpool(work))


async def create_version(request: Request) -> JSON:
    user = await caller(request)
    request_body = await body(request, ArtifactCreate)

    def work() -> tuple[ArtifactVersion, bool]:
        with store(request).transaction() as conn:
            return artifacts.create_version(conn, _ref(request, conn, user), request.path_params["name"], request_body)

    version, created = await run_in_threadpool(work)
    return JSON(version, status_code=201 if created else 200)


async def list_versions(request: Request) -> JSON:
    user = await caller(request)

    def work() -> list[ArtifactVersion]:
        with store(request).read() as conn:
            return artifacts.list_versions(conn, _ref(request, conn, user), request.path_params["name"])

    return JSON(await run_in_threadpool(work))


async def get_version(request: Request) -> JSON:
    user = await caller(request)

    def work() -> ArtifactVersion:
        with store(request).read() as conn:
            return artifacts.get_version(conn, _ref(request, conn, user), request.path_params["name"],
                                         request.path_params["version"])

    return JSON(await run_in_threadpool(work))


async def update_version(request: Request) -> JSON:
    user = await caller(request)
    change = await body(request, ArtifactUpdate)

    def work() -> ArtifactVersion:
        with store(request).transaction() as conn:
            return artifacts.update_version(conn, _ref(request, conn, user), request.path_params["name"],
                                            request.path_params["version"], change)

    return JSON(await run_in_threadpool(work))


async def delete_version(request: Request) -> JSON:
    user = await caller(request)
    delete_aliases = _flag(request, "delete_aliases")

    def work() -> None:
        with store(request).transaction() as conn:
            artifacts.delete_version(conn, _ref(request, conn, user), request.path_params["name"],
                                     request.path_params["version"], delete_aliases)

    await run_in_threadpool(work)
    return JSON({"deleted": request.path_params["version"]})


async def download(request: Request) -> Response:
    user = await caller(request)
    path = request.path_params["path"]
    problem = manifest.entry_path_problem(path)
    if problem:
        raise BadRequest(problem)

    def work() -> Any:
        with store(request).read() as conn:
            found = artifacts.entry(conn, _ref(request, conn, user), request.path_params["name"],
                                    request.path_params["version"], path)
        if found.ref is not None:
            raise NotFound(f"{path!r} is a reference to {found.ref}: the server does not store it")
        return blobs(request).blob(found.digest)

    return await file_response(request, await run_in_threadpool(work), path, binary=True)


async def run_artifacts(request: Request) -> JSON:
    """The versions a run logged or used: those of entities the caller belongs to."""
    user = await caller(request)
    direction = request.query_params.get("direction", "logged")

    def work() -> list[ArtifactVersion]:
        with store(request).read() as conn:
            run = runs.require_run(conn, _ref(request, conn, user), request.path_params["run_id"])
            found = artifacts.run_versions(conn, run.pk, direction)
            readable = {name for name, _, _ in accounts.entities_of(conn, user)}
        return [v for v in found if v.entity in readable]

    return JSON(await run_in_threadpool(work))


async def gc(request: Request) -> JSON:
    user = await caller(request)
    if not user.is_admin:
        raise Forbidden("only administrators can collect garbage")
    dry_run = _flag(request, "dry_run")
    older_than = query_int(request, "older_than", GC_GRACE_SECONDS, minimum=0)
    assert older_than is not None

    def work() -> Any:
        with store(request).transaction() as conn:
            report = artifact_blobs.collect(conn, older_than, dry_run, blobs(request).delete_blob)
        if not dry_run:
            blobs(request).sweep(ABANDONED_SECONDS)
        return report

    return JSON(await run_in_threadpool(work))


ARTIFACT = "/artifacts/{entity}/{project}/{name}"
routes = [
    Route("/artifacts/{entity}/{project}/blobs/missing", missing, methods=["POST"]),
    Route("/artifacts/{entity}/{project}", list_artifacts, methods=["GET"]),
    Route(ARTIFACT + "/versions", create_version, methods=["POST"]),
    Route(ARTIFACT + "/versions", list_versions, methods=["GET"]),
    Route(ARTIFACT + "/{version}", get_version, methods=["GET"]),
    Route(ARTIFACT + "/{version}", update_version, methods=["PATCH"]),
    Route(ARTIFACT + "/{version}", delete_version, methods=["DELETE"]),
    Route(ARTIFACT + "/{version}/files/{path:path}", download, methods=["GET"]),
    Route(RUN + "/artifacts", run_artifacts, methods=["GET"]),
    Route("/admin/artifacts/gc", gc, methods=["POST"]),
]
