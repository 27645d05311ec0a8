"""``wandb.Settings`` (``wandb.sdk.wandb_settings.Settings``): Tracklet's settings, taking wandb's names.

A wandb setting that Tracklet does not have is ignored with a warning that names it; W&B
credentials (``api_key``, ``base_url``) are never passed on.
"""

from __future__ import annotations

import sys
from typing import Any

import tracklet

__all__ = ["Settings"]

_RENAMED = {"x_disable_stats": "disable_stats", "_disable_stats": "disable_stats", "x_stats_sampling_interval":
            "stats_sampling_interval"}
_CREDENTIALS = ("api_key", "base_url")


class Settings(tracklet.Settings):
    def __init__(self, **values: Any) -> None:
        known = set(tracklet.Settings.fields())
        kept: dict[str, Any] = {}
        for name, value in values.items():
            target = _RENAMED.get(name, name)
            if target in _CREDENTIALS:
                print(f"tracklet: WARNING wandb.Settings({name}=...) is a W&B credential; Tracklet ignores it "
                      "(use `tracklet login`)", file=sys.stderr)
            elif target in known:
                kept[target] = value
            else:
                print(f"tracklet: WARNING wandb.Settings({name}=...) has no Tracklet equivalent and is ignored",
                      file=sys.stderr)
        super().__init__(**kept)
