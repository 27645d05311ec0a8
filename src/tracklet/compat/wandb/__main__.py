"""``python -m wandb`` in compatibility mode: wandb's command line is not part of it."""

from __future__ import annotations

import sys

print("wandb: this is Tracklet's wandb compatibility mode (TRACKLET_WANDB=1), which has no `wandb` command line; "
      "use `tracklet` instead (e.g. `tracklet sync`, `tracklet login`), or unset TRACKLET_WANDB", file=sys.stderr)
sys.exit(2)
