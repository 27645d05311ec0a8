"""Errors the server turns into HTTP problem responses, in one place (``app.py``)."""

from __future__ import annotations


class ApiError(Exception):
    status = 500
    title = "Internal Server Error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(ApiError):
    status = 400
    title = "Bad Request"


class Unauthorized(ApiError):
    status = 401
    title = "Unauthorized"


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
