"""``wandb.integration``: the integrations that live inside wandb, as far as Tracklet provides them."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["reexport"]


def reexport(namespace: dict[str, Any], wandb_name: str, tracklet_name: str) -> None:
    """Fill a ``wandb.integration.X`` module with the public names of ``tracklet.integration.X``."""
    try:
        module = importlib.import_module(tracklet_name)
    except ImportError as exc:
        raise ImportError(f"{wandb_name}: Tracklet's compatibility mode maps it to {tracklet_name}, which cannot "
                          f"be imported here ({exc})", name=wandb_name) from exc
    names = getattr(module, "__all__", [n for n in vars(module) if not n.startswith("_")])
    namespace.update({name: getattr(module, name) for name in names})
    namespace["__all__"] = list(names)
