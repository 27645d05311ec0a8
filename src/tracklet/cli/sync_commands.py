"""``tracklet sync``: upload offline runs, and runs whose upload did not complete."""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tracklet import settings
from tracklet.errors import Error


def add_commands(commands: Any) -> None:
    sync = commands.add_parser("sync", help="upload runs to the server",
                               description="Upload offline runs and unfinished uploads (idempotent).")
    sync.add_argument("paths", nargs="*", type=Path,
                      help="run directories or tracklet/ folders (default: ./tracklet)")
    sync.add_argument("--include-synced", action="store_true", help="also check runs already uploaded completely")
    sync.add_argument("--clean", action="store_true", help="delete run directories that are finished and fully uploaded")
    sync.set_defaults(handler=_sync)


def run_dirs_in(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths or [Path("tracklet")]:
        if any(path.glob("run-*.tracklet")):
            found.append(path)
        elif path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.is_dir() and not p.is_symlink() and any(p.glob("run-*.tracklet"))))
        else:
            raise SystemExit(f"tracklet sync: {path} is not a run directory or a tracklet/ folder")
    return found


def _sync(args: argparse.Namespace) -> int:
    from tracklet.agent.progress import UploadProgress
    from tracklet.agent.uploader import Uploader, hold_agent_lock
    from tracklet.api.transport import Transport

    base_url, api_key = settings.client_login()
    if not base_url or not api_key:
        raise SystemExit("tracklet sync: not logged in to a server; run `tracklet login` first")
    directories = run_dirs_in(args.paths)
    directories.sort(key=lambda d: d.name.removeprefix("offline-"))  # segments of a run in the order they ran
    failures = 0
    with Transport(base_url, api_key) as transport:
        for run_dir in directories:
            progress = UploadProgress.load(run_dir)
            if progress.done and not args.include_synced:
                print(f"{run_dir}: already uploaded (--include-synced checks it again)")
                _clean(run_dir, args.clean)
                continue
            lock = hold_agent_lock(run_dir)
            if lock is None:
                print(f"{run_dir}: an agent is uploading it right now; skipped")
                continue
            uploader = Uploader(run_dir, transport)
            uploader.on_damage = _damage_printer(run_dir)
            try:
                if not uploader.run(follow=False):
                    raise Error("the server could not be reached; nothing is lost, run `tracklet sync` again later")
            except Error as exc:
                failures += 1
                print(f"{run_dir}: FAILED: {exc}", file=sys.stderr)
                continue
            finally:
                import os

                os.close(lock)
            p = uploader.progress
            print(f"{run_dir}: synced to {p.entity}/{p.project}/{p.run_id} (records up to {p.acked_seq})")
            _clean(run_dir, args.clean)
    return 1 if failures else 0


def _clean(run_dir: Path, clean: bool) -> None:
    from tracklet.agent.progress import UploadProgress
    from tracklet.sdk.local import LocalRun

    if not clean or not UploadProgress.load(run_dir).done:
        return
    run_id = next(run_dir.glob("run-*.tracklet")).name[4:-len(".tracklet")]
    if LocalRun(run_dir, run_id).status in ("finished", "failed", "crashed"):
        shutil.rmtree(run_dir)
        print(f"{run_dir}: removed (finished and uploaded)")


def _damage_printer(run_dir: Path) -> Callable[[str], None]:
    """Print what the reader skipped in ``run_dir``'s run log (damage, records of a newer format)."""
    def note(message: str) -> None:
        print(f"{run_dir}: WARNING {message}", file=sys.stderr)

    return note
