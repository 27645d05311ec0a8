"""``wandb.util``: the helpers integrations import."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["json_dumps_safer"]


def _default(obj: Any) -> Any:
    for method in ("tolist", "item"):  # numpy arrays and scalars, torch tensors
        if hasattr(obj, method):
            return getattr(obj, method)()
    return str(obj)


def json_dumps_safer(obj: Any, **kwargs: Any) -> str:
    """JSON for values ``json`` refuses (numpy, tensors, objects: their ``str``)."""
    return json.dumps(obj, default=_default, **kwargs)
