"""The ``WANDB_*`` variables that mean a Tracklet setting in compatibility mode, written once.

A ``WANDB_X`` variable acts as its ``TRACKLET_*`` counterpart would (so explicit ``init``
arguments and ``settings=`` still win), and the ``TRACKLET_*`` variable wins when both are set.
``WANDB_LOG_MODEL`` and ``WANDB_WATCH`` are read by the integrations themselves (HF Transformers),
``WANDB_API_KEY`` and ``WANDB_BASE_URL`` belong to W&B and are never sent to a Tracklet server.
"""

from __future__ import annotations

from typing import Any

from tracklet import settings

__all__ = ["WANDB_VARIABLES", "READ_BY_INTEGRATIONS", "NEVER_USED", "settings_from_wandb_variables"]

WANDB_VARIABLES = {
    "WANDB_PROJECT": "project",
    "WANDB_ENTITY": "entity",
    "WANDB_MODE": "mode",  # online, offline, disabled, dryrun (= offline), run (= online)
    "WANDB_RUN_ID": "run_id",
    "WANDB_RESUME": "resume",
    "WANDB_DIR": "root_dir",
    "WANDB_NAME": "run_name",
    "WANDB_NOTES": "run_notes",
    "WANDB_TAGS": "run_tags",  # comma-separated
    "WANDB_RUN_GROUP": "run_group",
    "WANDB_JOB_TYPE": "run_job_type",
    "WANDB_SILENT": "silent",
    "WANDB_DISABLED": "mode",  # true → "disabled"
}
READ_BY_INTEGRATIONS = ("WANDB_LOG_MODEL", "WANDB_WATCH")
NEVER_USED = ("WANDB_API_KEY", "WANDB_BASE_URL")

_TRUE = ("1", "true", "yes", "on")


def settings_from_wandb_variables() -> dict[str, Any]:
    """Settings (by name) from the ``WANDB_*`` variables set now, leaving out those whose
    ``TRACKLET_*`` variable is set."""
    variables = settings.wandb_variables()
    tracklet_set = set(settings.environment())
    out: dict[str, Any] = {}
    for variable, name in WANDB_VARIABLES.items():
        value = variables.get(variable)
        if value is None or value == "" or name in tracklet_set:
            continue
        if variable == "WANDB_DISABLED":
            if value.strip().lower() in _TRUE:
                out["mode"] = "disabled"
            continue
        if name == "mode" and out.get("mode") == "disabled":
            continue
        if name == "run_tags":
            out[name] = [tag.strip() for tag in value.split(",") if tag.strip()]
        elif name == "resume" and value.strip().lower() in ("true", "1"):
            out[name] = "auto"
        elif name == "resume" and value.strip().lower() in ("false", "0"):
            continue
        else:
            out[name] = value
    return out
