"""Small helpers shared by the route modules: bodies in, JSON out, the caller's identity."""

from __future__ import annotations

import math

from typing import Any, TypeVar

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tracklet.server.auth_limit import FailedAuthLimiter
from tracklet.server.errors import BadRequest, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized
from tracklet.server.store import Store, accounts
from tracklet.server.store.accounts import User

T = TypeVar("T")

MAX_BODY_BYTES = 64 * 1024 * 1024


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return msgspec.json.encode(content)


def store(request: Request) -> Store:
    return request.app.state.store


async def body(request: Request, kind: type[T], *, msgpack_body: bool = False) -> T:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request bodies are limited to {MAX_BODY_BYTES} bytes")
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request bodies are limited to {MAX_BODY_BYTES} bytes")
    if request.headers.get("content-encoding") == "gzip":
        import gzip

        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise BadRequest(f"body is not valid gzip: {exc}") from None
        if len(raw) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"request bodies are limited to {MAX_BODY_BYTES} bytes uncompressed")
    try:
        if msgpack_body:
            return msgspec.msgpack.decode(raw, type=kind)
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid body: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"body is not valid {'MessagePack' if msgpack_body else 'JSON'}: {exc}") from None


def bearer_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None


async def caller(request: Request) -> User:
    """The user whose API key authorizes this request; 401 without a valid one, 429 (with
    ``Retry-After``) while the client's address has failed too often (``auth_limit``)."""
    key = bearer_key(request)
    if key is None:
        local_user: User | None = request.app.state.local_user
        if local_user is not None:  # `tracklet ui`: a loopback server for one person, no login
            return local_user
        raise Unauthorized("an API key is required: send 'Authorization: Bearer <key>'")
    limiter: FailedAuthLimiter = request.app.state.auth_limiter
    address = request.client.host if request.client else ""
    wait = limiter.retry_after(address)
    if wait is not None:  # checked before the key, so that a blocked client learns nothing about it
        raise TooManyRequests(f"too many failed authentications from {address}: retry in {wait} s", wait)

    def lookup() -> User | None:
        with store(request).read() as conn:
            return accounts.user_for_key(conn, key)

    user = await run_in_threadpool(lookup)
    if user is None:
        limiter.failed(address)
        raise Unauthorized("the API key is not valid (wrong, or revoked)")
    return user


def entity_id_for(conn: Any, user: User, entity: str) -> int:
    """The entity's id if ``user`` belongs to it; 404 otherwise, so existence does not leak."""
    found = accounts.entity_role(conn, user, entity)
    if found is None:
        raise NotFound(f"no entity {entity!r}")
    return found[0]


def query_float(request: Request, name: str) -> float | None:
    """A finite number query parameter, or None when absent (400 naming it when malformed)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise BadRequest(f"query parameter {name!r} must be a finite number, got {raw!r}")
    return value


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # what the stores' integer columns hold


def query_int(request: Request, name: str, default: int | None = None, minimum: int | None = INT64_MIN,
              maximum: int | None = INT64_MAX) -> int | None:
    """An integer query parameter, checked against its bounds (400 naming it otherwise); by default
    the 64-bit range, so that no number reaches the database that it cannot compare."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    digits = raw[1:] if raw.startswith("-") else raw
    # int() would also take "1_000", " 7" and non-ASCII digits: only an optional '-' and ASCII digits
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
        raise BadRequest(f"query parameter {name!r} must be an integer, got {raw!r}")
    value = int(raw)
    if minimum is not None and value < minimum:
        raise BadRequest(f"query parameter {name!r} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise BadRequest(f"query parameter {name!r} must be at most {maximum}, got {value}")
    return value
