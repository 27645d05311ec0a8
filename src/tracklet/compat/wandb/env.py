"""``wandb.env``: the names of the variables (see ``tracklet.compat.mapping`` for what each means here)."""

from __future__ import annotations

__all__ = ["DIR", "ENTITY", "JOB_TYPE", "MODE", "NAME", "NOTES", "PROJECT", "RESUME", "RUN_GROUP", "RUN_ID", "SILENT",
           "TAGS"]

PROJECT = "WANDB_PROJECT"
ENTITY = "WANDB_ENTITY"
MODE = "WANDB_MODE"
RUN_ID = "WANDB_RUN_ID"
RESUME = "WANDB_RESUME"
DIR = "WANDB_DIR"
NAME = "WANDB_NAME"
NOTES = "WANDB_NOTES"
TAGS = "WANDB_TAGS"
RUN_GROUP = "WANDB_RUN_GROUP"
JOB_TYPE = "WANDB_JOB_TYPE"
SILENT = "WANDB_SILENT"
