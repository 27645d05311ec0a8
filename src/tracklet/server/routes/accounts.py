"""Who am I, users, teams, memberships and API keys."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from tracklet.protocol import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyInfo,
    Entity,
    MemberAdd,
    ProjectInfo,
    TeamCreate,
    UserCreate,
    Viewer,
)
from tracklet.server.errors import Forbidden, NotFound
from tracklet.server.http import JSON, body, caller, entity_id_for, store
from tracklet.server.store import accounts, runs
from tracklet.server.store.accounts import User


def viewer_of(request: Request, user: User) -> Viewer:
    with store(request).read() as conn:
        memberships = accounts.entities_of(conn, user)
    return Viewer(
        user=user.name, is_admin=user.is_admin, is_anonymous=user.is_anonymous, default_entity=user.name,
        entities=[Entity(name=n, kind=k, role=r) for n, k, r in memberships],
        local_folder=getattr(request.app.state, "local_folder", None),  # set by `tracklet ui`
    )


async def viewer(request: Request) -> JSON:
    user = await caller(request)
    return JSON(await run_in_threadpool(viewer_of, request, user))


async def projects(request: Request) -> JSON:
    user = await caller(request)
    entity = request.path_params["entity"]

    def work() -> list[ProjectInfo]:
        with store(request).read() as conn:
            entity_id = entity_id_for(conn, user, entity)
            return [ProjectInfo(entity=entity, name=n, run_count=c, last_activity=last)
                    for n, c, last in runs.project_infos(conn, entity_id)]

    return JSON(await run_in_threadpool(work))


async def create_user(request: Request) -> JSON:
    user = await caller(request)
    if not user.is_admin:
        raise Forbidden("only administrators can create users")
    request_body = await body(request, UserCreate)

    def work() -> ApiKeyCreated:
        with store(request).transaction() as conn:
            created = accounts.create_user(conn, request_body.name, admin=request_body.admin)
            key, prefix = accounts.create_key(conn, created)
        return ApiKeyCreated(user=created.name, prefix=prefix, api_key=key)

    return JSON(await run_in_threadpool(work), status_code=201)


async def create_anonymous(request: Request) -> JSON:
    if not request.app.state.allow_anonymous:
        raise Forbidden("this server does not hand out anonymous accounts (start it with --allow-anonymous)")

    def work() -> ApiKeyCreated:
        with store(request).transaction() as conn:
            created = accounts.create_anonymous_user(conn)
            key, prefix = accounts.create_key(conn, created)
        return ApiKeyCreated(user=created.name, prefix=prefix, api_key=key)

    return JSON(await run_in_threadpool(work), status_code=201)


async def create_team(request: Request) -> JSON:
    user = await caller(request)
    request_body = await body(request, TeamCreate)

    def work() -> Entity:
        with store(request).transaction() as conn:
            accounts.create_team(conn, request_body.name, user)
        return Entity(name=request_body.name, kind="team", role="admin")

    return JSON(await run_in_threadpool(work), status_code=201)


async def add_member(request: Request) -> JSON:
    user = await caller(request)
    team = request.path_params["team"]
    request_body = await body(request, MemberAdd)

    def work() -> Entity:
        with store(request).transaction() as conn:
            found = accounts.entity_role(conn, user, team)
            if found is None and not user.is_admin:
                raise NotFound(f"no team {team!r}")
            if found is not None and found[1] != "admin" and not user.is_admin:
                raise Forbidden(f"only admins of {team!r} can add members")
            accounts.add_member(conn, team, accounts.find_user(conn, request_body.user), request_body.role)
        return Entity(name=team, kind="team", role=request_body.role)

    return JSON(await run_in_threadpool(work), status_code=201)


async def create_key(request: Request) -> JSON:
    user = await caller(request)
    request_body = await body(request, ApiKeyCreate)

    def work() -> ApiKeyCreated:
        with store(request).transaction() as conn:
            owner = user
            if request_body.user is not None and request_body.user != user.name:
                if not user.is_admin:
                    raise Forbidden("only administrators can create keys for other users")
                owner = accounts.find_user(conn, request_body.user)
            key, prefix = accounts.create_key(conn, owner)
        return ApiKeyCreated(user=owner.name, prefix=prefix, api_key=key)

    return JSON(await run_in_threadpool(work), status_code=201)


async def list_keys(request: Request) -> JSON:
    user = await caller(request)

    def work() -> list[ApiKeyInfo]:
        with store(request).read() as conn:
            return [ApiKeyInfo(prefix=p, created_at=c, revoked_at=r) for p, c, r in accounts.list_keys(conn, user)]

    return JSON(await run_in_threadpool(work))


async def revoke_key(request: Request) -> JSON:
    user = await caller(request)
    prefix = request.path_params["prefix"]

    def work() -> None:
        with store(request).transaction() as conn:
            accounts.revoke_key(conn, user, prefix, any_user=user.is_admin)

    await run_in_threadpool(work)
    return JSON({"revoked": prefix})


routes = [
    Route("/viewer", viewer, methods=["GET"]),
    Route("/entities/{entity}/projects", projects, methods=["GET"]),
    Route("/users", create_user, methods=["POST"]),
    Route("/anonymous", create_anonymous, methods=["POST"]),
    Route("/teams", create_team, methods=["POST"]),
    Route("/teams/{team}/members", add_member, methods=["POST"]),
    Route("/keys", create_key, methods=["POST"]),
    Route("/keys", list_keys, methods=["GET"]),
    Route("/keys/{prefix}", revoke_key, methods=["DELETE"]),
]
