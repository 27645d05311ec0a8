"""A round-robin HTTP load balancer for tests: each request goes to the next replica that answers.

Like a real balancer with health checks, a replica that refuses the connection is skipped for that
request; which replica served each request is recorded so a test can tell the agent switched.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}


@dataclass
class Balancer:
    replicas: list[str]
    port: int
    served: list[tuple[str, str, str]] = field(default_factory=list)  # (replica, method, path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        turns = itertools.cycle(range(len(self.replicas)))
        client = httpx.AsyncClient(timeout=60)

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            yield
            await client.aclose()

        async def forward(request: Request) -> Response:
            body = await request.body()
            headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
            first = next(turns)
            for i in range(len(self.replicas)):
                replica = self.replicas[(first + i) % len(self.replicas)]
                try:
                    answer = await client.request(request.method, replica + request.url.path,
                                                  params=request.query_params, headers=headers, content=body)
                except httpx.TransportError:
                    continue
                self.served.append((replica, request.method, request.url.path))
                out = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP | {"content-encoding"}}
                return Response(answer.content, status_code=answer.status_code, headers=out)
            return Response(b"no replica answered", status_code=502)

        app = Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])],
                        lifespan=lifespan)
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        while not self._server.started:
            self._thread.join(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
