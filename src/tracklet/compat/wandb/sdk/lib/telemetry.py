"""``wandb.sdk.lib.telemetry``: wandb's usage telemetry. Tracklet sends none, so ``context()``
yields an object whose attributes can be set and are dropped."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["context"]


class _Features:
    def __getattr__(self, name: str) -> Any:
        return _Features()

    def __setattr__(self, name: str, value: Any) -> None:
        pass


@contextlib.contextmanager
def context(run: Any = None, obj: Any = None) -> Iterator[_Features]:
    yield _Features()
