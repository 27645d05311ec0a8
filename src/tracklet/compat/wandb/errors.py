"""``wandb.errors``: Tracklet's errors under wandb's names."""

from __future__ import annotations

from tracklet.errors import AuthenticationError, CommError, Error, UsageError

__all__ = ["AuthenticationError", "CommError", "Error", "UnsupportedError", "UsageError"]


class UnsupportedError(UsageError):
    """A wandb feature that Tracklet's compatibility mode does not provide."""
