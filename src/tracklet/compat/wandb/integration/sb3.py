"""``wandb.integration.sb3``: Tracklet's ``tracklet.integration.sb3``."""

from __future__ import annotations

from . import reexport

reexport(globals(), "wandb.integration.sb3", "tracklet.integration.sb3")
