"""Errors raised by Tracklet.

The hierarchy::

    Error                      anything Tracklet raises on purpose
    ├── UsageError             a bad argument or a call that is not allowed now
    └── CommError              a problem talking to the Tracklet server
        └── AuthenticationError   missing or rejected credentials

Every `UsageError` names the argument and the rule it broke.
"""

from __future__ import annotations

__all__ = ["Error", "UsageError", "CommError", "AuthenticationError"]


class Error(Exception):
    """Base class of every error Tracklet raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(Error):
    """The caller passed an invalid value or used the API in a way it does not allow."""


class CommError(Error):
    """Tracklet could not talk to the server (network failure, timeout, server error)."""

    def __init__(self, message: str, exc: BaseException | None = None) -> None:
        super().__init__(message)
        self.exc = exc


class AuthenticationError(CommError):
    """Credentials are missing, malformed, or rejected by the server."""
