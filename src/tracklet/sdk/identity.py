"""Who a run is: its id, its generated name, and the project inferred for it."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

_ADJECTIVES = (
    "amber", "brave", "bright", "calm", "clever", "cosmic", "crisp", "dapper", "daring", "dashing",
    "eager", "earnest", "electric", "fancy", "fearless", "fiery", "fluent", "gentle", "glad", "golden",
    "graceful", "happy", "hardy", "honest", "jolly", "keen", "lively", "lucid", "lucky", "mellow",
    "mighty", "misty", "noble", "pleasant", "polished", "proud", "quiet", "radiant", "rapid", "rare",
    "serene", "sharp", "silver", "smooth", "snowy", "solar", "stellar", "sunny", "swift", "vivid",
)
_NOUNS = (
    "aurora", "breeze", "brook", "canyon", "cedar", "cloud", "comet", "coral", "cosmos", "dawn",
    "delta", "dew", "dream", "dune", "ember", "field", "fire", "flower", "forest", "frost",
    "galaxy", "glade", "grove", "harbor", "haze", "hill", "lake", "leaf", "meadow", "moon",
    "morning", "mountain", "night", "ocean", "paper", "pine", "planet", "rain", "river", "sea",
    "shadow", "sky", "snow", "spark", "star", "sun", "sunset", "thunder", "violet", "wave",
)


def new_run_id() -> str:
    """Eight characters of ``[a-z0-9]``, as the original SDK."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


def new_run_name(number: int) -> str:
    """``adjective-noun-N``: short, readable, and numbered in creation order."""
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{number}"


def program_path() -> str | None:
    """The absolute path of the main script, or None (interactive, ``-c``)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return os.path.abspath(path) if path else None


def git_root(start: str | os.PathLike[str]) -> Path | None:
    """The nearest folder at or above ``start`` holding ``.git`` (no git subprocess needed)."""
    here = Path(os.path.abspath(start))
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None


def infer_project(cwd: str, program: str | None) -> str:
    """The original's rule: the git root's name, plus the program's folder inside it; else "uncategorized"."""
    root = git_root(cwd)
    if root is None:
        return "uncategorized"
    project = root.name
    if program:
        program_dir = Path(program).parent
        try:
            relative = program_dir.relative_to(root)
        except ValueError:
            return project
        if str(relative) != ".":
            project += "-" + str(relative).replace(os.sep, "_")
    return project
