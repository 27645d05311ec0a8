"""Errors the server turns into HTTP problem responses, in one place (``app.py``).

ApiError (500)
├── BadRequest (400)
├── Unauthorized (401)
├── Forbidden (403)
├── NotFound (404)
├── Conflict (409)
├── PayloadTooLarge (413)
├── TooManyRequests (429, with Retry-After)
├── FilesUnavailable (503: the file store, an S3 bucket, failed or did not answer)
└── InsufficientStorage (507: the disk under the store or the files is full)
"""

from __future__ import annotations


class ApiError(Exception):
    status = 500
    title = "Internal Server Error"

    def __init__(self, detail: str = "", headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers  # sent with the problem response


class BadRequest(ApiError):
    status = 400
    title = "Bad Request"


class Unauthorized(ApiError):
    status = 401
    title = "Unauthorized"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="tracklet"'})  # RFC 9110: a 401 names it


class Forbidden(ApiError):
    status = 403
    title = "Forbidden"


class NotFound(ApiError):
    status = 404
    title = "Not Found"


class Conflict(ApiError):
    status = 409
    title = "Conflict"


class PayloadTooLarge(ApiError):
    status = 413
    title = "Payload Too Large"


class TooManyRequests(ApiError):
    status = 429
    title = "Too Many Requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class FilesUnavailable(ApiError):
    status = 503
    title = "Service Unavailable"


class InsufficientStorage(ApiError):
    status = 507
    title = "Insufficient Storage"


SQLITE_FULL = 13  # sqlite3's extended error code for "database or disk is full"
POSTGRES_DISK_FULL = "53100"  # SQLSTATE disk_full


def storage_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the disk is full: ``ENOSPC``/``EDQUOT`` from a file
    write, SQLite's ``SQLITE_FULL`` or PostgreSQL's ``disk_full``. A write that fails so was rolled
    back whole, and trying again once space is freed succeeds: the client should retry later."""
    import errno

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(current, "sqlite_errorcode", None) == SQLITE_FULL:
            return True
        if getattr(current, "sqlstate", None) == POSTGRES_DISK_FULL:
            return True
        # SQLAlchemy keeps the driver's exception as ``orig``
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False
