"""The ASGI application: routes under ``/api/v1``, and errors as JSON problem responses."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from tracklet.__about__ import __version__
from tracklet.protocol import API_PREFIX, Health, Problem
from tracklet.server.errors import ApiError, FilesUnavailable, InsufficientStorage, storage_full
from tracklet.server.http import JSON
from tracklet.server import openapi, ui
from tracklet.server.auth_limit import FailedAuthLimiter
from tracklet.server.blobs import Blobs, files_failure
from tracklet.server.live import LiveFeed
from tracklet.server.routes import accounts, artifacts, blobs as blob_routes, context, events, files, history, runs
from tracklet.server.routes import workspaces
from tracklet.server.store import Store
from tracklet.server.store.accounts import User


async def health(request: Request) -> JSON:
    return JSON(Health(status="ok", version=__version__, schema_revision=request.app.state.store.revision))


async def openapi_document(request: Request) -> Response:
    return Response(openapi.encoded(), media_type="application/json")


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSON(Problem(status=exc.status, title=exc.title, detail=exc.detail), status_code=exc.status,
                headers=exc.headers)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """Any other exception, as a problem response (the server still logs its traceback): a full disk is
    507 and a failing S3 bucket 503, which clients retry later; the failed write was rolled back whole."""
    if storage_full(exc):
        error: ApiError = InsufficientStorage("the server's disk is full; retry once space is freed")
    elif files_failure(exc):
        error = FilesUnavailable("the server's file store (S3) failed; retry later; the server's log has the details")
    else:
        error = ApiError("unexpected error; the server's log has the details")
    return JSON(Problem(status=error.status, title=error.title, detail=error.detail), status_code=error.status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSON(Problem(status=exc.status_code, title=str(exc.detail), detail=""), status_code=exc.status_code)


def create_app(store: Store, blobs: Blobs | None = None, *, allow_anonymous: bool = False,
               local_user: User | None = None) -> Starlette:
    """The application over ``store``. ``local_user`` answers requests that carry no API key
    (only for ``tracklet ui``, which listens on the loopback interface)."""
    api_routes = [
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", openapi_document, methods=["GET"]),
        *accounts.routes, *runs.routes, *history.routes, *events.routes, *files.routes, *context.routes,
        *artifacts.routes, *blob_routes.routes, *workspaces.routes,
    ]
    app = Starlette(
        routes=[Mount(API_PREFIX, routes=api_routes), Mount("", app=ui.WebUI())],
        exception_handlers={ApiError: api_error, HTTPException: http_error, Exception: unexpected_error},
        # A panel's series of 100 runs is megabytes of JSON: level 1 keeps ~47% of it at ~10 ms a
        # megabyte (the default level 9 takes ~1 s). The events stream is never compressed.
        # Binary downloads (artifact files, model weights) go as they are: compressing them costs a core.
        middleware=[Middleware(GZipMiddleware, minimum_size=1400, compresslevel=1,
                               exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/octet-stream"))],
    )
    app.state.store = store
    app.state.live_feed = LiveFeed(store)
    app.state.blobs = blobs
    app.state.auth_limiter = FailedAuthLimiter()
    app.state.allow_anonymous = allow_anonymous
    app.state.local_user = local_user
    return app
