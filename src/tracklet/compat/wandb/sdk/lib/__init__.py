"""``wandb.sdk.lib``: the names integrations import from it."""

from __future__ import annotations

from . import config_util, telemetry

__all__ = ["RunDisabled", "config_util", "telemetry"]


class RunDisabled:
    """wandb's old placeholder run class. Tracklet's disabled runs are ordinary ``wandb.Run`` views,
    so nothing is ever an instance of this; it exists for ``isinstance(run, (Run, RunDisabled))``."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise TypeError("wandb.sdk.lib.RunDisabled is not instantiated in Tracklet's compatibility mode")
