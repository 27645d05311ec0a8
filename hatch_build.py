"""Hatch build hook: a wheel carries the web UI, built from web/ with npm (`npm ci && npm run build`),
and every install (wheel or editable) carries ``tracklet_wandb_compat.pth``, the one line that turns
on the opt-in wandb compatibility mode when ``TRACKLET_WANDB`` is set (see tracklet.compat).

Editable installs (scripts/setup) skip the UI: scripts/setup builds it itself. Without npm the
wheel is built without a UI, and `tracklet server` says so at `/` (503) instead of failing here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PTH_FILE = "tracklet_wandb_compat.pth"


class WebUIBuildHook(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        pth = str(Path(self.root) / "src" / PTH_FILE)
        if version == "editable":
            build_data["force_include_editable"][pth] = PTH_FILE
            return
        build_data["force_include"][pth] = PTH_FILE
        web = Path(self.root) / "web"
        npm = shutil.which("npm")
        if not (web / "package.json").exists():
            return  # an sdist built without web/: use the static files it carries, if any
        if npm is None:
            print("hatch_build: npm not found; building the wheel without the web UI", file=sys.stderr)
            return
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=web, check=True)
        subprocess.run([npm, "run", "build"], cwd=web, check=True)
