"""References: artifact entries that point at data kept elsewhere, recorded with a checksum, never copied.

| scheme | checksum (the entry's ``digest``) | size |
|---|---|---|
| ``file://`` | the SHA-256 of the file | its size |
| ``s3://`` | the object's ETag, read with boto3 when it is installed | ``ContentLength`` |
| ``http(s)://`` | the ``ETag`` of a ``HEAD`` answer | ``Content-Length`` |

When an ``s3://`` or ``http(s)://`` object cannot be read (boto3 missing, no answer, no ETag),
the digest is the SHA-256 of the URI itself and the size is 0: the entry is then *unchecked*,
and downloading or verifying it only checks that a file is there.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tracklet.artifacts.manifest import CHUNK_BYTES, sha256_of
from tracklet.errors import Error, UsageError

SCHEMES = ("file", "s3", "http", "https")
HEAD_TIMEOUT_SECONDS = 10.0


def check_uri(uri: Any, argument: str = "add_reference: uri") -> str:
    """``uri``'s scheme, or a UsageError saying which URIs a reference may be."""
    if not isinstance(uri, str) or "://" not in uri:
        raise UsageError(f"{argument} must be a URI starting with file://, s3://, http:// or https://, got {uri!r}")
    scheme = uri.split("://", 1)[0].lower()
    if scheme not in SCHEMES:
        raise UsageError(f"{argument}: the scheme {scheme!r} is not supported (file, s3, http, https), got {uri!r}")
    if scheme != "file" and not uri.split("://", 1)[1].split("/", 1)[0]:
        raise UsageError(f"{argument}: {uri!r} has no host or bucket")
    return scheme


def local_path(uri: str) -> Path:
    """The file a ``file://`` URI names (``file:///abs/path``, or ``file://localhost/abs/path``)."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        raise UsageError(f"add_reference: {uri!r} names another host; file:// references are files of this machine")
    return Path(unquote(parts.path))


def default_name(uri: str) -> str:
    """An entry name for a reference: the last part of its path (or its host)."""
    rest = uri.split("://", 1)[1].split("?", 1)[0].split("#", 1)[0].rstrip("/")
    return rest.rsplit("/", 1)[-1] or "reference"


def unchecked_digest(uri: str) -> str:
    """The digest of a reference whose object could not be read: the SHA-256 of the URI."""
    return hashlib.sha256(uri.encode("utf-8")).hexdigest()


def is_checked(uri: str, digest: str) -> bool:
    return digest != unchecked_digest(uri)


def checksum(uri: str, warn: Callable[[str], None]) -> tuple[str, int]:
    """The reference's ``(digest, size)`` (see the module docstring)."""
    scheme = uri.split("://", 1)[0].lower()
    if scheme == "file":
        try:
            with open(local_path(uri), "rb") as f:
                return sha256_of(f)
        except OSError as exc:
            raise Error(f"reference {uri}: cannot read the file: {exc.strerror or exc}") from None
    found = _s3_head(uri) if scheme == "s3" else _http_head(uri)
    if isinstance(found, str):
        warn(f"reference {uri}: {found}; recorded without a checksum (its digest is the SHA-256 of the URI)")
        return unchecked_digest(uri), 0
    return found


def _s3_head(uri: str) -> tuple[str, int] | str:
    try:
        import boto3  # optional: only for s3:// references
    except ImportError:
        return "boto3 is not installed (pip install boto3 reads the object's ETag)"
    bucket, _, key = uri.split("://", 1)[1].partition("/")
    try:
        head = boto3.client("s3").head_object(Bucket=bucket, Key=key)
    except Exception as exc:  # botocore's errors: no credentials, no such key, no network
        return f"could not read the object ({exc})"
    return str(head["ETag"]).strip('"'), int(head.get("ContentLength") or 0)


def _http_head(uri: str) -> tuple[str, int] | str:
    import httpx

    try:
        response = httpx.head(uri, follow_redirects=True, timeout=HEAD_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        return f"no answer to HEAD ({exc})"
    if response.status_code >= 400:
        return f"HEAD answered {response.status_code}"
    etag = response.headers.get("etag")
    if not etag:
        return "the server sends no ETag"
    length = response.headers.get("content-length", "")
    return etag.removeprefix("W/").strip('"'), int(length) if length.isdigit() else 0


@contextlib.contextmanager
def open_reference(uri: str, offset: int) -> Iterator[tuple[int, Iterator[bytes]]]:
    """The referenced bytes from ``offset`` when the source can start there (else from 0):
    ``(start, chunks)``."""
    scheme = uri.split("://", 1)[0].lower()
    if scheme == "file":
        try:
            f = open(local_path(uri), "rb")
        except OSError as exc:
            raise Error(f"reference {uri}: cannot read the file: {exc.strerror or exc}") from None
        with f:
            f.seek(offset)
            yield offset, iter(lambda: f.read(CHUNK_BYTES), b"")
    elif scheme == "s3":
        with _open_s3(uri, offset) as opened:
            yield opened
    else:
        with _open_http(uri, offset) as opened:
            yield opened


@contextlib.contextmanager
def _open_s3(uri: str, offset: int) -> Iterator[tuple[int, Iterator[bytes]]]:
    try:
        import boto3
    except ImportError:
        raise Error(f"reference {uri}: downloading s3:// references needs boto3 (pip install boto3)") from None
    bucket, _, key = uri.split("://", 1)[1].partition("/")
    extra = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        body = boto3.client("s3").get_object(Bucket=bucket, Key=key, **extra)["Body"]
    except Exception as exc:
        raise Error(f"reference {uri}: could not read the object: {exc}") from None
    try:
        yield offset, iter(lambda: body.read(CHUNK_BYTES), b"")
    finally:
        body.close()


@contextlib.contextmanager
def _open_http(uri: str, offset: int) -> Iterator[tuple[int, Iterator[bytes]]]:
    import httpx

    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with httpx.stream("GET", uri, headers=headers, follow_redirects=True, timeout=30) as response:
            if response.status_code >= 400:
                raise Error(f"reference {uri}: GET answered {response.status_code}")
            start = offset if response.status_code == 206 else 0
            yield start, response.iter_bytes(CHUNK_BYTES)
    except httpx.HTTPError as exc:
        raise Error(f"reference {uri}: download failed: {exc}") from None
