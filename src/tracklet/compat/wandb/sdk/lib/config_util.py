"""``wandb.sdk.lib.config_util``: ``ConfigError``, what a refused config change raises."""

from __future__ import annotations

from tracklet.errors import UsageError

__all__ = ["ConfigError"]

# Tracklet raises UsageError when a config value would change without allow_val_change; HF
# Transformers catches ConfigError around such a change, so they are the same class.
ConfigError = UsageError
