"""``tracklet import wandb DIR``: the original's offline runs into Tracklet (docs/import.md)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from tracklet import settings
from tracklet.errors import Error


def add_commands(commands: Any) -> None:
    command = commands.add_parser("import", help="import runs recorded by another tracker",
                                  description="Import runs recorded by another tracker (idempotent).")
    tools = command.add_subparsers(dest="tool", metavar="TOOL", required=True)
    wandb = tools.add_parser("wandb", help="the original's offline runs (wandb/offline-run-*)",
                             description="Import wandb run folders (their .wandb files: config, history, summary, "
                                         "files) and upload them; importing again changes nothing. Needs the real "
                                         "wandb package.")
    wandb.add_argument("paths", nargs="+", type=Path, metavar="DIR",
                       help="wandb/ folders, run folders (offline-run-*) or .wandb files")
    wandb.add_argument("--project", help="import into this project instead of each run's own")
    wandb.add_argument("--entity", help="import into this entity instead of your default one")
    wandb.set_defaults(handler=_import_wandb)


def _import_wandb(args: argparse.Namespace) -> int:
    from tracklet.agent.uploader import Uploader
    from tracklet.api.transport import Transport
    from tracklet.importers.wandb_offline import Segments, convert, real_wandb_records, wandb_run_dirs

    base_url, api_key = settings.client_login()
    if not base_url or not api_key:
        raise SystemExit("tracklet import: not logged in to a server; run `tracklet login` first")
    try:
        real_wandb_records()
        directories = wandb_run_dirs(args.paths)
    except Error as exc:
        raise SystemExit(f"tracklet import wandb: {exc}") from None
    if not directories:
        raise SystemExit(f"tracklet import wandb: no wandb runs (run-*.wandb files) in {', '.join(map(str, args.paths))}")
    failures = 0
    segments = Segments()
    with tempfile.TemporaryDirectory(prefix="tracklet-import-") as scratch, Transport(base_url, api_key) as transport:
        for number, wandb_dir in enumerate(directories):
            try:
                converted = convert(wandb_dir, Path(scratch) / f"run-{number}", args.project, segments)
                uploader = Uploader(Path(scratch) / f"run-{number}", transport)
                uploader.entity_override = args.entity
                if not uploader.run(follow=False):
                    raise Error("the server could not be reached; nothing is lost, run the import again later")
            except Error as exc:
                failures += 1
                print(f"{wandb_dir}: FAILED: {exc}", file=sys.stderr)
                continue
            p = uploader.progress
            print(f"{wandb_dir}: imported to {p.entity}/{p.project}/{p.run_id} ({converted.rows} rows)")
    return 1 if failures else 0
