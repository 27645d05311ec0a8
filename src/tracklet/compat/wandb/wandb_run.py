"""``wandb.wandb_run`` (the old path of ``wandb.sdk.wandb_run``)."""

from __future__ import annotations

from .sdk.wandb_run import Run

__all__ = ["Run"]
