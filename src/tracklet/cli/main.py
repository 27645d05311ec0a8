"""``tracklet`` command: entry point and subcommand table."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tracklet.__about__ import __version__
from tracklet.cli import (account_commands, artifact_commands, import_commands, local_commands, run_command,
                          server_commands, sync_commands, ui_commands)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tracklet", description="Track machine learning experiments.")
    parser.add_argument("--version", action="version", version=f"tracklet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    local_commands.add_commands(commands)
    server_commands.add_commands(commands)
    account_commands.add_commands(commands)
    sync_commands.add_commands(commands)
    ui_commands.add_commands(commands)
    artifact_commands.add_commands(commands)
    import_commands.add_commands(commands)
    run_command.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except BrokenPipeError:  # `tracklet runlog dump x | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
