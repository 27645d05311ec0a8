"""The web UI: the static files built from ``web/`` (``npm run build``), served at ``/``.

Files that exist are served as they are (hashed assets cached for a year); any other path
that is not under ``/api/`` gets ``index.html``, so the UI's own URLs can be shared and
reloaded. Without a build, every page answers 503 with a page that says how to build it.
"""

from __future__ import annotations

from pathlib import Path
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.types import Receive, Scope, Send

from tracklet.protocol import Problem
from tracklet.server.http import JSON

STATIC_DIR = Path(__file__).parent / "static"

# The UI talks to this server only: no request to any other host, and no framing by others.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
}

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tracklet: UI not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>The web UI is not built</h1>
<p>This Tracklet server has no built UI files. From a source checkout, run
<code>scripts/setup</code> (or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>), then reload.
Installed packages built from source with <code>pip install .</code> include the UI when
<code>npm</code> is available.</p>
<p>The JSON API works without it: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
</body></html>
"""


class WebUI:
    """An ASGI app serving the built UI from ``directory`` with a single-page-app fallback."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self.directory = directory.resolve()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        response = self.respond(Request(scope, receive))
        await response(scope, receive, send)

    def respond(self, request: Request) -> Response:
        path = request.url.path
        if path == "/api" or path.startswith("/api/"):
            return JSON(Problem(status=404, title="Not Found", detail=f"no API endpoint {path}"), status_code=404)
        if request.method not in ("GET", "HEAD"):
            return JSON(Problem(status=405, title="Method Not Allowed", detail=""), status_code=405,
                        headers={"Allow": "GET, HEAD"})
        index = self.directory / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503, headers={**HEADERS, "Retry-After": "60"})
        found = self.file_for(path)
        if found is not None:
            immutable = found.parent.name == "assets"
            cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
            return FileResponse(found, headers={**HEADERS, "Cache-Control": cache})
        if Path(path).suffix and not path.endswith(".html"):
            # A missing asset is an error, not the app: a stale page must not get HTML as a script.
            return Response("not found", status_code=404, media_type="text/plain", headers=HEADERS)
        return FileResponse(index, headers={**HEADERS, "Cache-Control": "no-cache"})

    def file_for(self, path: str) -> Path | None:
        relative = path.lstrip("/")
        if not relative:
            return None
        candidate = (self.directory / relative).resolve()
        if not candidate.is_relative_to(self.directory) or not candidate.is_file():
            return None
        return candidate
