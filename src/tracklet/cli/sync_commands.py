"""``tracklet sync``: upload offline runs, and runs whose upload did not complete."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracklet import settings
from tracklet.cli.local_commands import DIR_FORMS, locate_or_exit
from tracklet.errors import Error, UsageError

if TYPE_CHECKING:
    from tracklet.agent.display import UploadDisplay
    from tracklet.api.transport import Transport


def add_commands(commands: Any) -> None:
    sync = commands.add_parser("sync", help="upload runs to the server",
                               description="Upload offline runs and unfinished uploads (idempotent). "
                                           f"{DIR_FORMS} Progress bars on a terminal, one line per run "
                                           "otherwise; nothing but errors with TRACKLET_SILENT=1.")
    sync.add_argument("paths", nargs="*", type=Path, metavar="DIR",
                      help="where the runs are (default: here)")
    sync.add_argument("--include-synced", action="store_true", help="also check runs already uploaded completely")
    sync.add_argument("--clean", action="store_true", help="delete run directories that are finished and fully uploaded")
    sync.set_defaults(handler=_sync)


def _sync(args: argparse.Namespace) -> int:
    from tracklet.agent.display import UploadDisplay, output_mode
    from tracklet.agent.progress import UploadProgress
    from tracklet.api.transport import Transport

    silent = _silent()
    folders = [locate_or_exit(path, "sync") for path in args.paths or [Path(".")]]
    directories = list(dict.fromkeys(d for folder in folders for d in folder.run_dirs()))
    directories.sort(key=lambda d: d.name.removeprefix("offline-"))  # segments of a run in the order they ran
    if not directories:
        if not silent:
            print(f"No runs in {', '.join(str(f.path) for f in folders)}")
        return 0
    base_url, api_key = settings.client_login()
    if not base_url or not api_key:
        raise SystemExit("tracklet sync: not logged in to a server; run `tracklet login` first")
    planned = {d: UploadProgress.load(d) for d in directories}
    to_upload = [d for d in directories if args.include_synced or not planned[d].done]
    left = sum(max(0, _log_size(d) - planned[d].acked_bytes) for d in to_upload)
    failures = 0
    with Transport(base_url, api_key) as transport, \
            UploadDisplay(sys.stdout, output_mode(sys.stdout, silent), left, len(to_upload)) as display:
        for run_dir in directories:
            if run_dir not in to_upload:
                display.say(f"{run_dir}: already uploaded (--include-synced checks it again)")
                _clean(run_dir, args.clean, display)
                continue
            if not _sync_one(run_dir, transport, display):
                failures += 1
                continue
            _clean(run_dir, args.clean, display)
    return 1 if failures else 0


def _silent() -> bool:
    """``TRACKLET_SILENT``: print nothing but errors."""
    value = settings.environment().get("silent")
    try:
        return value is not None and settings.Settings(silent=value).silent
    except UsageError:
        print(f"tracklet sync: error: TRACKLET_SILENT must be a boolean (true/false), got {value!r}", file=sys.stderr)
        raise SystemExit(2) from None


def _sync_one(run_dir: Path, transport: Transport, display: UploadDisplay) -> bool:
    """Upload one run directory, showing its progress; False when it failed (said on stderr)."""
    from tracklet.agent.uploader import Uploader, hold_agent_lock

    lock = hold_agent_lock(run_dir)
    if lock is None:
        display.say(f"{run_dir}: an agent is uploading it right now; skipped")
        return True
    try:
        uploader = Uploader(run_dir, transport)
        uploader.on_damage = _damage_printer(run_dir, display)
        first = uploader.progress
        uploader.read_new()  # everything on disk: the totals for the bar
        last_seq = (uploader.reader.next_seq or 1) - 1
        start = uploader.start or {}
        label = " ".join(str(start[k]) for k in ("run_id", "name") if start.get(k)) or run_dir.name
        bar = display.run(label, (first.acked_seq, last_seq), (first.acked_bytes, _log_size(run_dir)))
        uploader.on_acknowledged = lambda p: bar.update(p.acked_seq, p.acked_bytes)
        try:
            if not uploader.run(follow=False):
                raise Error("the server could not be reached; nothing is lost, run `tracklet sync` again later")
        except Error as exc:
            bar.end(None)
            print(f"{run_dir}: FAILED: {exc}", file=sys.stderr, flush=True)
            return False
        p = uploader.progress
        bar.end(f"{run_dir}: synced to {p.entity}/{p.project}/{p.run_id}")
        return True
    finally:
        os.close(lock)


def _log_size(run_dir: Path) -> int:
    return sum(log.stat().st_size for log in run_dir.glob("run-*.tracklet"))


def _clean(run_dir: Path, clean: bool, display: UploadDisplay) -> None:
    from tracklet.agent.progress import UploadProgress
    from tracklet.sdk.local import LocalRun

    if not clean or not UploadProgress.load(run_dir).done:
        return
    run_id = next(run_dir.glob("run-*.tracklet")).name[4:-len(".tracklet")]
    if LocalRun(run_dir, run_id).status in ("finished", "failed", "crashed"):
        shutil.rmtree(run_dir)
        display.say(f"{run_dir}: removed (finished and uploaded)")


def _damage_printer(run_dir: Path, display: UploadDisplay) -> Callable[[str], None]:
    """Print what the reader skipped in ``run_dir``'s run log (damage, records of a newer format)."""
    def note(message: str) -> None:
        if display.mode != "silent":
            print(f"{run_dir}: WARNING {message}", file=sys.stderr, flush=True)

    return note
