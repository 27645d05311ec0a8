"""The opt-in ``wandb`` compatibility mode: unmodified ``import wandb`` code, and the framework
integrations that import wandb themselves, record their runs with Tracklet.

It is off unless ``TRACKLET_WANDB=1`` is in the environment (``tracklet run -- CMD`` sets it),
or a program calls :func:`enable_wandb` before anything imports ``wandb``. When on, a finder at the
front of ``sys.meta_path`` answers ``wandb`` and its submodules with the modules under
``tracklet/compat/wandb/`` (real modules named ``wandb...``, with specs), and
``importlib.metadata`` with a ``wandb`` distribution at :data:`WANDB_VERSION`, the wandb API
level mirrored. A real wandb install is shadowed only while the mode is on.

What lives here: the finder (``finder.py``), the mapping of ``WANDB_*`` variables to settings
(``mapping.py``) and the ``wandb`` module surface (``wandb/``). It calls Tracklet's public API only.
See docs/compatibility.md, "Running wandb code".
"""

from __future__ import annotations

from tracklet.compat.finder import WANDB_VERSION, disable_wandb, enable_wandb, wandb_enabled

__all__ = ["WANDB_VERSION", "disable_wandb", "enable_wandb", "enable_from_environment", "wandb_enabled"]


def enable_from_environment() -> None:
    """Called by the ``tracklet_wandb_compat.pth`` line at interpreter start when ``TRACKLET_WANDB`` is set."""
    from tracklet import settings

    if settings.wandb_compat_enabled():
        enable_wandb()
