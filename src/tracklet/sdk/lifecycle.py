"""The runs alive in this process, ``tracklet.run``, and finishing them at interpreter exit.

At exit, every unfinished run is finished with the process's exit code: an
uncaught exception gives 1, ``KeyboardInterrupt`` 255, ``sys.exit(n)`` n.
"""

from __future__ import annotations

import atexit
import builtins
import os
import sys
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tracklet.errors import Error

if TYPE_CHECKING:
    from tracklet.sdk.run import Run

_active: list[Run] = []
_current: Run | None = None
_exit_code: int | None = None
_hooks_pid: int | None = None


def current() -> Run | None:
    return _current


def active() -> list[Run]:
    return list(_active)


def register(run: Run, make_current: bool) -> None:
    global _current
    _install_hooks()
    _active.append(run)
    if make_current:
        _current = run


def forget(run: Run) -> None:
    """Called by ``Run.finish``."""
    global _current
    if run in _active:
        _active.remove(run)
    if _current is run:
        _current = None


def require_current(call: str) -> Run:
    if _current is None:
        raise Error(f"You must call tracklet.init() before {call}")
    return _current


class PreInit:
    """Stands for ``tracklet.config`` / ``tracklet.summary`` before ``init``; any use raises a clear error."""

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def _fail(self, what: str) -> Error:
        return Error(f"You must call tracklet.init() before tracklet.{self._name}{what}")

    def __getattr__(self, key: str) -> Any:
        raise self._fail(f".{key}")

    def __setattr__(self, key: str, value: Any) -> None:
        raise self._fail(f".{key}")

    def __getitem__(self, key: Any) -> Any:
        raise self._fail(f"[{key!r}]")

    def __setitem__(self, key: Any, value: Any) -> None:
        raise self._fail(f"[{key!r}]")

    def __repr__(self) -> str:
        return f"<tracklet.{self._name} placeholder: call tracklet.init() first>"


# -- exit hooks ------------------------------------------------------------------------


def _exit_code_of(code: Any) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1


def _install_hooks() -> None:
    global _hooks_pid
    if _hooks_pid == os.getpid():
        return
    if _hooks_pid is None:
        os.register_at_fork(after_in_child=_after_fork_in_child)
    _hooks_pid = os.getpid()
    original_exit = sys.exit
    original_excepthook = sys.excepthook

    def exit(code: Any = None) -> None:
        global _exit_code
        _exit_code = _exit_code_of(code)
        original_exit(code)

    def excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        global _exit_code
        _exit_code = 255 if issubclass(kind, KeyboardInterrupt) else 1
        original_excepthook(kind, value, tb)

    sys.exit = exit  # type: ignore[assignment]
    sys.excepthook = excepthook
    # exit() and quit() raise SystemExit without going through sys.exit; a bare
    # `raise SystemExit(n)` cannot be seen from inside the process at all.
    for name in ("exit", "quit"):
        quitter = getattr(builtins, name, None)
        if quitter is not None and not isinstance(quitter, _RecordingQuitter):
            setattr(builtins, name, _RecordingQuitter(quitter))
    atexit.register(_finish_at_exit)


class _RecordingQuitter:
    """Wraps the ``exit``/``quit`` builtins to remember the exit code they are given."""

    def __init__(self, quitter: Any) -> None:
        self._quitter = quitter

    def __repr__(self) -> str:
        return repr(self._quitter)

    def __call__(self, code: Any = None) -> None:
        global _exit_code
        _exit_code = _exit_code_of(code)
        self._quitter(code)


def _after_fork_in_child() -> None:
    """A forked child must not append to its parent's run log (the sequence numbers would clash)."""
    for run in _active:
        run._detach_after_fork()


def _finish_at_exit() -> None:
    code = 0 if _exit_code is None else _exit_code
    for run in reversed(list(_active)):
        if run._pid != os.getpid():  # a forked child exiting is not the run ending
            continue
        try:
            run.finish(exit_code=code)
        except Exception as exc:  # the interpreter is going away: report, never raise
            print(f"tracklet: ERROR could not finish run {run.id}: {exc}", file=sys.stderr)
