"""The import hook: ``wandb`` and ``wandb.*`` from ``tracklet/compat/wandb/``, plus a ``wandb``
distribution for ``importlib.metadata`` (Lightning and accelerate check the metadata, not the module)."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from tracklet.__about__ import __version__ as TRACKLET_VERSION

__all__ = ["WANDB_VERSION", "WandbFinder", "enable_wandb", "disable_wandb", "wandb_enabled"]

# The wandb release whose API the compatibility mode mirrors: `wandb.__version__` and the
# distribution's version. Bump it deliberately, with the surface.
WANDB_VERSION = "0.31.0"

SHIM_ROOT = Path(__file__).resolve().parent / "wandb"

_METADATA = f"""\
Metadata-Version: 2.1
Name: wandb
Version: {WANDB_VERSION}
Summary: Tracklet compatibility mode (tracklet {TRACKLET_VERSION}): `import wandb` records runs with Tracklet
"""


class WandbDistribution(importlib.metadata.Distribution):
    """The synthetic ``wandb`` distribution: metadata only, no files."""

    def read_text(self, filename: str) -> str | None:
        return _METADATA if filename == "METADATA" else None

    def locate_file(self, path: Any) -> Path:
        return SHIM_ROOT / str(path)


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class WandbFinder(importlib.abc.MetaPathFinder):
    """Answers ``wandb`` and its submodules with the files under ``SHIM_ROOT``; nothing else."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "wandb" and not fullname.startswith("wandb."):
            return None
        parts = fullname.split(".")[1:]
        directory = SHIM_ROOT.joinpath(*parts)
        if (directory / "__init__.py").is_file():
            return importlib.util.spec_from_file_location(
                fullname, directory / "__init__.py", submodule_search_locations=[str(directory)])
        module_file = directory.with_suffix(".py")
        if parts and (parts[-1] == "__main__" or not parts[-1].startswith("_")) and module_file.is_file():
            return importlib.util.spec_from_file_location(fullname, module_file)
        return None  # not provided: a plain ModuleNotFoundError (never the real wandb's module)

    def find_distributions(self, context: Any = None) -> Iterable[importlib.metadata.Distribution]:
        name = getattr(context, "name", None)
        if name is None or _normalize(name) == "wandb":
            return iter([WandbDistribution()])
        return iter(())

    def invalidate_caches(self) -> None:
        pass


_finder = WandbFinder()


def wandb_enabled() -> bool:
    return _finder in sys.meta_path


def enable_wandb() -> None:
    """Make ``import wandb`` (and ``importlib.metadata``'s ``wandb``) come from Tracklet in this process.

    Call it before anything imports ``wandb``, ``accelerate`` or ``lightning``: they look for wandb
    once, when they are imported. A wandb module imported already (the real one) stays as it is,
    with a warning.
    """
    if wandb_enabled():
        return
    sys.meta_path.insert(0, _finder)
    loaded = sys.modules.get("wandb")
    if loaded is not None and not getattr(loaded, "__tracklet_shim__", False):
        print("tracklet: wandb was imported before the compatibility mode was enabled; that module stays "
              "the real wandb in this process (set TRACKLET_WANDB=1 before the program starts)", file=sys.stderr)


def disable_wandb() -> None:
    """Undo :func:`enable_wandb`: later imports find the real wandb, if it is installed."""
    while _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in [n for n in sys.modules if n == "wandb" or n.startswith("wandb.")]:
        if getattr(sys.modules[name], "__tracklet_shim__", False) or str(
                getattr(sys.modules[name], "__file__", "")).startswith(str(SHIM_ROOT)):
            del sys.modules[name]
