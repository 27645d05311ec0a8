"""The runs alive in this process, ``tracklet.run``, and finishing them at interpreter exit.

At exit, every unfinished run is finished with the exit code Python gives the process: an
uncaught exception 1, ``KeyboardInterrupt`` 130 (Python ends by SIGINT; 128 + 2 is what a shell
reports), ``SystemExit(n)`` however raised (``sys.exit``, ``exit``, ``quit``, ``raise SystemExit``)
n, ``None`` 0, a message 1.

How the code is seen without tracing every call: Python handles a ``SystemExit`` that leaves the
script by reading its ``code`` attribute from C, with no Python frame on the stack, and then
runs ``atexit``. ``builtins.SystemExit`` is replaced by a subclass (same name, same behaviour)
whose ``code`` property notes that read, so ``raise SystemExit(n)``, ``exit(n)`` and ``quit(n)``
(which raise the builtin by name) are seen exactly when, and only if, they end the process;
``sys.exit`` (C, raising the original class) is wrapped to raise the subclass, also where the
script imported it before ``init``. A ``SystemExit`` the script catches is never recorded. The
original class stays a base of the subclass, so ``except SystemExit`` in code that looked the
name up before ``init`` still catches everything. Uncaught exceptions are seen by
``sys.excepthook`` and, should the script have replaced the hook, by ``sys.last_value``, which
Python sets before calling it.
"""

from __future__ import annotations

import atexit
import builtins
import os
import sys
import threading
from collections.abc import Callable
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

_KEYBOARD_INTERRUPT_CODE = 128 + 2  # Python re-raises SIGINT on itself; shells report 130
_RealSystemExit = SystemExit
_code_member = _RealSystemExit.__dict__["code"]  # the C slot behind SystemExit.code
_last_value_at_install: Any = None
_sigint_flag: Any = None  # see _unhandled_interrupt_flag


def exit_code_for(exc: BaseException) -> int:
    """The exit code an exception would give the process, were it to leave the script."""
    if isinstance(exc, SystemExit):
        return _exit_code_of(_code_member.__get__(exc))  # read from the slot: not the interpreter's read
    return _KEYBOARD_INTERRUPT_CODE if type(exc) is KeyboardInterrupt else 1


def _exit_code_of(code: Any) -> int:
    """The process exit code Python derives from ``SystemExit.code``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return int(code) if -(2**31) <= code < 2**31 else -1  # C long → int, as Python does
    return 1  # a message: printed on stderr, exit code 1


def _called_by_interpreter(depth: int) -> bool:
    """True when the function ``depth`` frames up from here was called from C with no Python
    frame below it: the interpreter itself, handling what left the script."""
    try:
        sys._getframe(depth + 1)
    except ValueError:
        return True
    return False


class _SystemExit(_RealSystemExit):
    """``SystemExit`` as the script sees it after ``init``: records its code when Python exits by it."""

    @property
    def code(self) -> Any:
        value = _code_member.__get__(self)
        if _called_by_interpreter(1):  # 1: the getter
            global _exit_code
            _exit_code = _exit_code_of(value)
        return value

    @code.setter
    def code(self, value: Any) -> None:
        _code_member.__set__(self, value)


# Tracebacks, reprs and pickles name it as the builtin.
_SystemExit.__name__ = _SystemExit.__qualname__ = "SystemExit"
_SystemExit.__module__ = "builtins"


def _install_hooks() -> None:
    global _hooks_pid, _last_value_at_install
    if _hooks_pid == os.getpid():
        return
    if _hooks_pid is None:
        os.register_at_fork(after_in_child=_after_fork_in_child)
    _hooks_pid = os.getpid()
    _last_value_at_install = getattr(sys, "last_value", None)
    original_exit = sys.exit
    original_excepthook = sys.excepthook

    def exit(status: Any = None) -> None:
        try:
            original_exit(status)
        except _RealSystemExit as exc:  # the same arguments sys.exit gives, in the recording class
            recording = _SystemExit(*exc.args)
        raise recording  # outside the except: chained to what the script was handling, as sys.exit is

    def excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        global _exit_code, _sigint_flag
        if kind is KeyboardInterrupt:  # exactly: Python ends by SIGINT for the class, not a subclass
            _exit_code = _KEYBOARD_INTERRUPT_CODE
            if _called_by_interpreter(1):  # 1: this hook; not a script calling it by hand
                _sigint_flag = _unhandled_interrupt_flag()
        else:
            _exit_code = 1
        original_excepthook(kind, value, tb)

    if not getattr(sys.exit, "_tracklet", False):
        exit._tracklet = True  # type: ignore[attr-defined]
        sys.exit = exit  # type: ignore[assignment]
    sys.excepthook = excepthook
    # exit() and quit() raise `SystemExit` by name: they find the subclass in builtins.
    builtins.SystemExit = _SystemExit  # type: ignore[misc]
    _rebind_saved_exit(original_exit, exit)
    if not getattr(threading.excepthook, "_tracklet", False):
        threading.excepthook = _thread_excepthook(threading.excepthook)
    atexit.register(_finish_at_exit)


def _rebind_saved_exit(original_exit: Callable[[Any], object], exit: Callable[[Any], None]) -> None:
    """A ``sys.exit`` the script imported before ``init`` (``from sys import exit``) raises the
    original class, which its ``except SystemExit`` (the subclass, looked up now) would not catch."""
    names = getattr(sys.modules.get("__main__"), "__dict__", None)
    for name, value in list((names or {}).items()):
        if value is original_exit:
            names[name] = exit  # type: ignore[index]


def _thread_excepthook(original: Callable[[Any], object]) -> Callable[[Any], object]:
    """Threads ignore a ``SystemExit`` silently, but test its class by identity: the subclass too."""

    def excepthook(args: Any) -> object:
        if args.exc_type is _SystemExit:
            return None
        return original(args)

    excepthook._tracklet = True  # type: ignore[attr-defined]
    return excepthook


def _uncaught_exception_code() -> int | None:
    """An uncaught exception's code when the script replaced ``sys.excepthook`` after ``init``
    (rich and others do); not in IPython, which sets ``last_value`` for every failed cell."""
    value = getattr(sys, "last_value", None)
    if value is None or value is _last_value_at_install:
        return None
    shell = sys.modules.get("IPython")
    if shell is not None and getattr(shell, "get_ipython", lambda: None)() is not None:
        return None
    return _KEYBOARD_INTERRUPT_CODE if type(value) is KeyboardInterrupt else 1


def _unhandled_interrupt_flag() -> Any:
    """CPython 3.10-3.12's process-wide "end by SIGINT after finalizing" flag.

    Python sets it before calling ``sys.excepthook`` for a ``KeyboardInterrupt`` that left the
    script, but any ``exec`` of a string on another thread clears it (fixed in 3.13), and a
    run's threads may run one (dataclasses, namedtuples) before the hook or while the run
    finishes at exit: the process would then end with 1 instead of by SIGINT.
    ``_finish_at_exit`` sets it again.
    """
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 13):
        return None
    try:
        import ctypes

        return ctypes.c_int.in_dll(ctypes.pythonapi, "_Py_UnhandledKeyboardInterrupt")
    except (ImportError, ValueError, AttributeError, OSError):
        return None


def _after_fork_in_child() -> None:
    """A forked child must not append to its parent's run log (the sequence numbers would clash)."""
    for run in _active:
        run._detach_after_fork()


def _finish_at_exit() -> None:
    code = _exit_code
    if code is None:
        code = _uncaught_exception_code() or 0
    for run in reversed(list(_active)):
        if run._pid != os.getpid():  # a forked child exiting is not the run ending
            continue
        try:
            run.finish(exit_code=code)
        except Exception as exc:  # the interpreter is going away: report, never raise
            print(f"tracklet: ERROR could not finish run {run.id}: {exc}", file=sys.stderr)
    if _sigint_flag is not None and not _sigint_flag.value:
        _sigint_flag.value = 1
