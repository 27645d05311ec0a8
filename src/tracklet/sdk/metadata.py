"""What a run records about where it ran: program, arguments, Python, host, OS, start time."""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import socket
import sys
from pathlib import Path
from typing import Any

from tracklet.__about__ import __version__
from tracklet.sdk.identity import git_root


def collect(program: str | None, started: float) -> dict[str, Any]:
    uname = platform.uname()
    cwd = os.getcwd()
    metadata: dict[str, Any] = {
        "program": program or "<python with no main file>",
        "args": sys.argv[1:],
        "command": shlex.join(["python", *sys.argv]) if program else None,
        "python": platform.python_version(),
        "executable": sys.executable,
        "host": socket.gethostname(),
        "os": f"{uname.system}-{uname.release}-{uname.machine}",
        "cwd": cwd,
        "pid": os.getpid(),
        "started_at": datetime.datetime.fromtimestamp(started, datetime.timezone.utc).isoformat(),
        "tracklet_version": __version__,
    }
    if program:
        root = git_root(cwd)
        base = root if root and Path(program).is_relative_to(root) else Path(cwd)
        if Path(program).is_relative_to(base):
            metadata["code_path"] = str(Path(program).relative_to(base))
    return metadata
