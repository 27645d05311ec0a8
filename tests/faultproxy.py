"""A loopback TCP proxy for tests that breaks the network between a client and a server on demand.

The proxy runs its own asyncio loop in a thread; the test changes its mode while traffic flows:

- ``passing()``: bytes go through untouched.
- ``cut()``: the network is gone: open connections are reset, new ones are accepted and reset at once.
- ``blackhole()``: what is sent, on new connections or open ones, goes nowhere and no answer comes
  back (a dead route); leaving this mode resets those connections, as a client's timeout would.
- ``delay(seconds)``: every chunk, either way, waits that long first (a slow link).
- ``reset_request(after_bytes, every, path)``: every ``every``-th request whose path contains
  ``path`` is cut (RST) once ``after_bytes`` bytes of its body have gone through.
- ``reset_response(after_bytes, every, path)``: likewise, but the request reaches the server whole
  and the connection is reset after ``after_bytes`` bytes of the server's answer: the server has done
  the work, the client never hears of it and sends the same request again.
- ``busy(status, retry_after, count, path)``: the next ``count`` requests whose path contains ``path``
  are answered by the proxy itself with ``status`` and ``Retry-After: retry_after`` (an overloaded
  server or its load balancer); ``busy_log`` keeps when each matching request came and how it went.

It understands just enough HTTP/1.1 for that: request heads and ``Content-Length`` bodies, one
request at a time per connection (httpx neither pipelines nor sends chunked bodies of known size).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from dataclasses import dataclass

CHUNK = 64 * 1024


@dataclass
class Fault:
    kind: str  # "request" or "response"
    after_bytes: int
    every: int
    path: str


class FaultProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.mode = "pass"
        self.delay_seconds = 0.0
        self.fault: Fault | None = None
        self.faults_done = 0  # requests cut by a reset_request/reset_response fault so far
        self.requests_seen = 0  # requests whose head went through the proxy
        self.request_lines: list[str] = []  # their request lines ("POST /api/v1/... HTTP/1.1"), in order
        self.refused = 0  # connections reset at once while cut
        self.swallowed = 0  # connections taken into the black hole
        self._matching = 0
        self._busy: tuple[int, int, int, str] | None = None  # status, retry_after, requests left, path
        self.busy_log: list[tuple[float, str]] = []  # (time.monotonic(), "answered" | "passed") per matching request
        self._loop = asyncio.new_event_loop()
        self._connections: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter | None]] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="faultproxy", daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    # -- control, from the test's thread -------------------------------------------------------

    def start(self) -> FaultProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fault proxy did not start")
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def passing(self) -> None:
        self._set("pass")

    def cut(self) -> None:
        self._set("cut")

    def blackhole(self) -> None:
        self._set("blackhole")

    def delay(self, seconds: float) -> None:
        self.delay_seconds = seconds
        self._set("pass")

    def reset_request(self, after_bytes: int, every: int = 1, path: str = "") -> None:
        self.fault = Fault("request", after_bytes, every, path)
        self._set("pass")

    def reset_response(self, after_bytes: int, every: int = 1, path: str = "") -> None:
        self.fault = Fault("response", after_bytes, every, path)
        self._set("pass")

    def busy(self, status: int, retry_after: int, count: int, path: str = "") -> None:
        self._busy = (status, retry_after, count, path)
        self._set("pass")

    def _set(self, mode: str) -> None:
        leaving_blackhole = self.mode == "blackhole" and mode != "blackhole"
        self.mode = mode
        if mode == "cut" or leaving_blackhole:
            asyncio.run_coroutine_threadsafe(self._reset_all(), self._loop).result(10)

    def heal(self) -> None:
        """Back to a plain, fast, faultless link."""
        self.fault = None
        self._busy = None
        self.delay_seconds = 0.0
        self._set("pass")

    def stop(self) -> None:
        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            await self._reset_all()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the proxy, on its own loop --------------------------------------------------------------

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _reset_all(self) -> None:
        for client, upstream in list(self._connections):
            _reset(client)
            if upstream is not None:
                _reset(upstream)
        self._connections.clear()

    async def _accept(self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        if self.mode == "cut":
            self.refused += 1
            _reset(client)
            return
        if self.mode == "blackhole":
            self.swallowed += 1
            entry: tuple[asyncio.StreamWriter, asyncio.StreamWriter | None] = (client, None)
            self._connections.add(entry)
            try:
                while await client_reader.read(CHUNK):
                    pass  # swallowed
            except (ConnectionError, OSError):
                pass
            self._connections.discard(entry)
            return
        try:
            upstream_reader, upstream = await asyncio.open_connection(*self.target)
        except OSError:  # the server is down: so is the connection
            _reset(client)
            return
        entry = (client, upstream)
        self._connections.add(entry)
        armed = asyncio.Event()  # set when the answer to the request just sent is to be cut
        try:
            await asyncio.gather(self._requests(client_reader, upstream, client, armed),
                                 self._answers(upstream_reader, client, upstream, armed))
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections.discard(entry)
            for writer in (client, upstream):
                if not writer.is_closing():
                    writer.close()

    async def _pause(self) -> None:
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)

    async def _requests(self, reader: asyncio.StreamReader, upstream: asyncio.StreamWriter,
                        client: asyncio.StreamWriter, armed: asyncio.Event) -> None:
        """Client to server, one request at a time: its head, then its ``Content-Length`` body."""
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                if exc.partial:
                    upstream.write(exc.partial)
                if upstream.can_write_eof():
                    upstream.write_eof()
                return
            if self.mode == "blackhole":  # the route died under an open connection
                self.swallowed += 1
                while await reader.read(CHUNK):
                    pass
                return
            self.requests_seen += 1
            self.request_lines.append(head.split(b"\r\n", 1)[0].decode("latin-1"))
            fault = self._fault_for(head)
            length = _content_length(head)
            if self._answer_busy(head):
                await reader.readexactly(length)  # the body, unread by the server
                body = b'{"title": "Service Unavailable", "detail": "busy, try again later"}'
                status, retry_after = self._busy[:2] if self._busy else (503, 1)
                client.write(b"HTTP/1.1 %d Busy\r\nRetry-After: %d\r\nContent-Type: application/problem+json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (status, retry_after, len(body), body))
                await client.drain()
                continue
            await self._pause()
            if fault is not None and fault.kind == "request" and fault.after_bytes <= length:
                # the head goes on with the body's first bytes only: a server that answers before
                # reading the body (a 401) must not get its answer through before the cut
                upstream.write(head + await reader.readexactly(fault.after_bytes))
                await upstream.drain()
                self.faults_done += 1
                _reset(client)
                _reset(upstream)
                return
            upstream.write(head)
            sent = 0
            while sent < length:
                chunk = await reader.read(min(CHUNK, length - sent))
                if not chunk:
                    return
                await self._pause()
                upstream.write(chunk)
                await upstream.drain()
                sent += len(chunk)
            await upstream.drain()
            if fault is not None and fault.kind == "response":
                armed.set()

    async def _answers(self, reader: asyncio.StreamReader, client: asyncio.StreamWriter,
                       upstream: asyncio.StreamWriter, armed: asyncio.Event) -> None:
        """Server to client, cut part-way when the request it answers was marked for it."""
        passed = 0
        while True:
            chunk = await reader.read(CHUNK)
            if not chunk:
                if client.can_write_eof():
                    client.write_eof()
                return
            if self.mode == "blackhole":
                continue
            if armed.is_set() and self.fault is not None:
                keep = max(0, self.fault.after_bytes - passed)
                if len(chunk) > keep:
                    client.write(chunk[:keep])
                    await client.drain()
                    self.faults_done += 1
                    _reset(client)
                    _reset(upstream)
                    return
                passed += len(chunk)
            await self._pause()
            client.write(chunk)
            await client.drain()

    def _answer_busy(self, head: bytes) -> bool:
        busy = self._busy
        if busy is None or busy[3] not in head.split(b"\r\n", 1)[0].decode("latin-1"):
            return False
        status, retry_after, left, path = busy
        self.busy_log.append((time.monotonic(), "answered" if left > 0 else "passed"))
        if left <= 0:
            return False
        self._busy = (status, retry_after, left - 1, path)
        return True

    def _fault_for(self, head: bytes) -> Fault | None:
        fault = self.fault
        if fault is None:
            return None
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        if fault.path not in request_line:
            return None
        self._matching += 1
        return fault if self._matching % fault.every == 0 else None


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a dropped route or a crashed middlebox does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()
