"""HTTP to a Tracklet server, shared by the SDK's handshake, the agent, the CLI and ``tracklet.Api``.

Failures become :class:`~tracklet.errors.CommError` (``AuthenticationError`` for 401/403),
carrying the HTTP status; :func:`retryable` is the one place that decides whether trying
again can help.

Downloads may be redirected to a presigned URL of the server's bucket (``--files-download
presigned``): the redirect is followed by a client of its own that never sends the Tracklet key.
"""

from __future__ import annotations

import contextlib
import datetime
import email.utils
import gzip
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import msgspec

from tracklet.__about__ import __version__
from tracklet.errors import AuthenticationError, CommError
from tracklet.protocol import API_PREFIX, RECORDS_CONTENT_TYPE
from tracklet.protocol.headers import ACCEPT_REDIRECT


class ServerError(CommError):
    """The server answered with an error status; ``status`` and the server's ``detail`` are kept, and
    ``retry_after``: the seconds its ``Retry-After`` header asked a client to wait (429, 503), if any."""

    def __init__(self, message: str, status: int, detail: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


class ServerAuthError(AuthenticationError):
    def __init__(self, message: str, status: int, detail: str) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


def retryable(error: BaseException) -> bool:
    """Network failures, 408, 429 and 5xx are worth retrying; other answers will not change."""
    if isinstance(error, (ServerError, ServerAuthError)):
        return error.status in (408, 429) or error.status >= 500
    return isinstance(error, CommError)


class Transport:
    def __init__(self, base_url: str, api_key: str | None, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        headers = {"User-Agent": f"tracklet/{__version__}"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(base_url=self.base_url + API_PREFIX, headers=headers, timeout=timeout)
        self._timeout = timeout
        self._elsewhere: httpx.Client | None = None  # for redirects out of the server: no Tracklet key
        self._lock = threading.Lock()

    def close(self) -> None:
        self._client.close()
        if self._elsewhere is not None:
            self._elsewhere.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, path: str, body: Any = None, *, params: dict[str, Any] | None = None,
             timeout: float | None = None) -> Any:
        """Send JSON (a struct or plain data), return the decoded JSON answer."""
        content = None if body is None else msgspec.json.encode(body)
        headers = {"Content-Type": "application/json"} if content is not None else {}
        response = self._send(method, path, content=content, headers=headers, params=params, timeout=timeout)
        return msgspec.json.decode(response.content) if response.content else None

    def send_records(self, path: str, batch: Any, timeout: float | None = None) -> Any:
        """Upload a record batch: MessagePack, gzip-compressed."""
        content = gzip.compress(msgspec.msgpack.encode(batch), compresslevel=3)
        headers = {"Content-Type": RECORDS_CONTENT_TYPE, "Content-Encoding": "gzip"}
        response = self._send("POST", path, content=content, headers=headers, timeout=timeout)
        return msgspec.json.decode(response.content)

    def put_bytes(self, path: str, data: bytes) -> Any:
        response = self._send("PUT", path, content=data, headers={"Content-Type": "application/octet-stream"})
        return msgspec.json.decode(response.content)

    def put_stream(self, path: str, chunks: Iterable[bytes], size: int, timeout: float | None = None) -> Any:
        """Upload ``size`` bytes given as chunks (a file read piece by piece: never all in memory)."""
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        response = self._send("PUT", path, content=chunks, headers=headers, timeout=timeout)
        return msgspec.json.decode(response.content) if response.content else None

    def _redirects(self) -> httpx.Client:
        with self._lock:  # artifact downloads share a transport between threads
            if self._elsewhere is None:
                self._elsewhere = httpx.Client(headers={"User-Agent": f"tracklet/{__version__}"},
                                               timeout=self._timeout, follow_redirects=True)
            return self._elsewhere

    @contextlib.contextmanager
    def _get(self, path: str, headers: dict[str, str] | None, timeout: Any) -> Iterator[httpx.Response]:
        """A streamed GET; a redirect (a presigned URL of the server's bucket) is followed without the
        Tracklet key, sending on only the ``Range`` header. Error statuses raise as for ``call``."""
        asked = {**(headers or {}), ACCEPT_REDIRECT: "1"}
        with self._client.stream("GET", path, headers=asked, timeout=timeout) as response:
            if response.is_redirect and "location" in response.headers:
                target = response.url.join(response.headers["location"])
                ranged = {k: v for k, v in (headers or {}).items() if k.lower() == "range"}
                with self._redirects().stream("GET", target, headers=ranged, timeout=timeout) as redirected:
                    if redirected.status_code >= 400:
                        redirected.read()
                        _raise_for(redirected)
                    yield redirected
                return
            if response.status_code >= 400:
                response.read()
                _raise_for(response)
            yield response

    @contextlib.contextmanager
    def stream(self, path: str, headers: dict[str, str] | None = None) -> Iterator[httpx.Response]:
        """A GET answer whose body is read as it arrives (``response.iter_bytes()``); errors as for ``call``."""
        try:
            with self._get(path, headers, httpx.USE_CLIENT_DEFAULT) as response:  # 30 s per read, not in all
                yield response
        except httpx.HTTPError as exc:
            raise CommError(f"GET {path}: {exc}", exc) from exc

    def download(self, path: str, target: Any) -> int:
        """Stream a GET answer into the file ``target`` (written beside it, then renamed); its size."""
        import os

        temporary = f"{target}.part"
        size = 0
        try:
            with self._get(path, None, None) as response:
                with open(temporary, "wb") as f:
                    for chunk in response.iter_bytes():
                        f.write(chunk)
                        size += len(chunk)
        except httpx.HTTPError as exc:
            raise CommError(f"{path}: {exc}", exc) from exc
        os.replace(temporary, target)
        return size

    def stream_lines(self, path: str, params: dict[str, Any] | None = None):
        """Yield the lines of a streamed answer (NDJSON export)."""
        try:
            with self._client.stream("GET", path, params=params, timeout=None) as response:
                if response.status_code >= 400:
                    response.read()
                    _raise_for(response)
                yield from response.iter_lines()
        except httpx.HTTPError as exc:
            raise CommError(f"{path}: {exc}", exc) from exc

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if kwargs.get("timeout") is None:
            kwargs.pop("timeout", None)
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise CommError(f"could not reach the Tracklet server at {self.base_url}: {exc}", exc) from exc
        if response.status_code >= 400:
            _raise_for(response)
        return response


def _raise_for(response: httpx.Response) -> None:
    try:
        problem = msgspec.json.decode(response.content)
        detail = problem.get("detail") or problem.get("title") or ""
    except (msgspec.DecodeError, AttributeError):
        detail = response.text[:500]
    message = f"{response.request.method} {response.request.url.path}: {response.status_code} {detail}".strip()
    if response.status_code in (401, 403):
        raise ServerAuthError(message, response.status_code, detail)
    raise ServerError(message, response.status_code, detail, retry_after(response.headers.get("retry-after")))


def retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` header's wait in seconds: delay-seconds, or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # HTTP dates are GMT
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, moment.timestamp() - time.time())
