"""``wandb.sdk``: the internal paths integrations import (Tracklet compatibility mode)."""

from __future__ import annotations

from . import wandb_run
from .wandb_run import Run
from .wandb_settings import Settings

__all__ = ["Run", "Settings", "wandb_run"]
