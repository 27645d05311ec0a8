"""The SDK's own console lines (``tracklet: ...`` on stderr), honouring ``silent`` and ``quiet``."""

from __future__ import annotations

import sys

PREFIX = "tracklet:"


class Printer:
    def __init__(self, silent: bool = False, quiet: bool = False) -> None:
        self.silent = silent
        self.quiet = quiet

    def info(self, message: str) -> None:
        if not (self.silent or self.quiet):
            self._emit(message)

    def warn(self, message: str) -> None:
        if not self.silent:
            self._emit(f"WARNING {message}")

    def error(self, message: str) -> None:
        self._emit(f"ERROR {message}")

    @staticmethod
    def _emit(message: str) -> None:
        try:
            print(f"{PREFIX} {message}", file=sys.stderr, flush=True)
        except (OSError, ValueError):  # stderr closed: nothing to tell anyone
            pass
