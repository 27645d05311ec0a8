"""``wandb.integration.keras``: Tracklet's ``tracklet.integration.keras``."""

from __future__ import annotations

from . import reexport

reexport(globals(), "wandb.integration.keras", "tracklet.integration.keras")
