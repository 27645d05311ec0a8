"""``tracklet run -- CMD...``: run a command with the wandb compatibility mode on (``TRACKLET_WANDB=1``)."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from typing import Any

from tracklet import settings


def add_commands(commands: Any) -> None:
    parser = commands.add_parser(
        "run", help="run a command whose `import wandb` records with Tracklet",
        description="Run CMD with TRACKLET_WANDB=1, so that its `import wandb` (and the integrations of HF "
                    "Transformers, Lightning, accelerate...) record runs with Tracklet. The exit code is CMD's.",
        usage="tracklet run [-h] -- CMD [ARGS...]")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="CMD", help="the command and its arguments")
    parser.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        print("tracklet run: give the command to run, e.g. `tracklet run -- python train.py`", file=sys.stderr)
        return 2
    env = settings.child_environment({settings.WANDB_COMPAT_VARIABLE: "1"})
    try:
        child = subprocess.Popen(cmd, env=env)
    except FileNotFoundError:
        print(f"tracklet run: command not found: {cmd[0]}", file=sys.stderr)
        return 127
    except PermissionError:
        print(f"tracklet run: permission denied: {cmd[0]}", file=sys.stderr)
        return 126
    while True:
        try:
            code = child.wait()
            break
        except KeyboardInterrupt:  # the child got the same SIGINT from the terminal; wait for it to end
            continue
    if code < 0:  # killed by a signal: report it as a shell does
        return 128 - code if -code in {s.value for s in signal.Signals} else 1
    return code
