"""Which code ran: git state (commit, branch, remote, uncommitted changes), installed packages, machine.

Gathered on a background thread when a run starts (git and package listing take tens of
milliseconds, which ``init`` must not spend), then recorded as a ``metadata`` record and as
files in the run's ``files/`` folder: ``requirements.txt`` and, with ``save_code``,
``diff.patch`` when the working tree has uncommitted changes.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tracklet.runlog import RecordType

GIT_TIMEOUT = 10.0


def strip_credentials(url: str) -> str:
    """``https://user:token@host/repo.git`` → ``https://host/repo.git``; other forms unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme and "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return url


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=GIT_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.decode("utf-8", errors="replace").strip() if done.returncode == 0 else None


def git_state(cwd: str) -> tuple[dict[str, Any], bytes | None]:
    """(commit, branch, remote, dirty, root) of the repository at ``cwd``, and its uncommitted diff."""
    root = _git(Path(cwd), "rev-parse", "--show-toplevel")
    if root is None:
        return {}, None
    top = Path(root)
    state: dict[str, Any] = {"root": root, "commit": _git(top, "rev-parse", "HEAD"),
                             "branch": _git(top, "rev-parse", "--abbrev-ref", "HEAD")}
    remote = _git(top, "remote", "get-url", "origin")
    if remote:
        state["remote"] = strip_credentials(remote)
    status = _git(top, "status", "--porcelain", "--untracked-files=no")
    state["dirty"] = bool(status)
    diff = None
    if status:
        try:
            done = subprocess.run(["git", "-C", root, "diff", "HEAD", "--binary"], capture_output=True,
                                  timeout=GIT_TIMEOUT, stdin=subprocess.DEVNULL)
            diff = done.stdout if done.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired):
            diff = None
    return state, diff


def requirements() -> str:
    """``name==version`` for every installed distribution, sorted, one per line."""
    from importlib.metadata import distributions

    pins = {f"{d.metadata['Name']}=={d.version}" for d in distributions() if d.metadata["Name"]}
    return "".join(f"{pin}\n" for pin in sorted(pins, key=str.lower))


class ContextCollector(threading.Thread):
    """A run service: gathers the code context once, records it, and is done."""

    def __init__(self, emit: Callable[[RecordType, dict[str, Any]], None], files_dir: Path, cwd: str,
                 save_code: bool, disable_git: bool) -> None:
        super().__init__(name="tracklet-context", daemon=True)
        self._emit = emit
        self._files_dir = files_dir
        self._cwd = cwd
        self._save_code = save_code
        self._disable_git = disable_git

    def stop(self) -> None:
        if self.is_alive():
            self.join(timeout=2 * GIT_TIMEOUT)

    def run(self) -> None:
        metadata: dict[str, Any] = {"cpu_count": os.cpu_count()}
        if not self._disable_git:
            git, diff = git_state(self._cwd)
            if git:
                metadata["git"] = git
            if diff and self._save_code:
                (self._files_dir / "diff.patch").write_bytes(diff)
                metadata["git"]["patch"] = "diff.patch"
        try:
            (self._files_dir / "requirements.txt").write_text(requirements(), encoding="utf-8")
            metadata["requirements"] = "requirements.txt"
        except OSError:
            pass
        metadata.update(_gpu_inventory())
        self._emit(RecordType.METADATA, metadata)


def _gpu_inventory() -> dict[str, Any]:
    try:
        from tracklet.sdk.system_monitor import gpu_inventory
    except ImportError:
        return {}
    try:
        return gpu_inventory()
    except Exception:  # GPU discovery must never break a run
        return {}
