"""``wandb``, as Tracklet's compatibility mode provides it (see ``tracklet.compat``).

This file is loaded as the module ``wandb`` by ``tracklet.compat.finder``; its submodules
here are ``wandb.sdk``, ``wandb.sdk.wandb_run`` and the other paths integrations import.
Every name maps to Tracklet's public API. A name wandb has and this module lacks raises
``AttributeError`` (never a stub that does nothing): see docs/compatibility.md.
"""

from __future__ import annotations

import sys
from typing import Any

import tracklet
from tracklet import Artifact, Audio, Error, Histogram, Html, Image, Table, Video
from tracklet.__about__ import __version__ as __tracklet_version__
from tracklet.compat.finder import WANDB_VERSION

from . import data_types, env, errors, sdk, util, wandb_run
from .errors import CommError, UnsupportedError, UsageError
from .sdk.wandb_run import Run, view
from .sdk.wandb_settings import Settings

__version__ = WANDB_VERSION
__tracklet_shim__ = True

__all__ = [
    "Api", "Artifact", "Audio", "CommError", "Error", "Histogram", "Html", "Image", "Run", "Settings", "Table",
    "UnsupportedError", "UsageError", "Video", "alert", "config", "define_metric", "errors", "finish", "init",
    "join", "log", "log_artifact", "login", "require", "run", "save", "setup", "summary", "teardown", "termerror",
    "termlog", "termwarn", "unwatch", "use_artifact", "watch",
]

_noticed = False


def init(*args: Any, settings: Any = None, **kwargs: Any) -> Run:
    """``wandb.init``: ``tracklet.init`` (same arguments) with the ``WANDB_*`` variables as settings,
    read now (see ``tracklet.compat.mapping``)."""
    from tracklet.compat.mapping import settings_from_wandb_variables

    given = settings
    if isinstance(given, tracklet.Settings):
        given = given.explicit()
    elif isinstance(given, dict):
        given = Settings(**given).explicit()
    elif given is not None:
        raise UsageError(f"wandb.init(settings=...) must be a wandb.Settings or a dict, got {type(given).__name__}")
    merged = {**settings_from_wandb_variables(), **(given or {})}
    start: Any = tracklet.init  # the same arguments, positional ones too
    run = start(*args, settings=merged, **kwargs)
    _notice(run)
    return view(run)


def _notice(run: tracklet.Run) -> None:
    global _noticed
    if _noticed or run.settings.silent:
        return
    _noticed = True
    if run.disabled:
        where = "disabled: nothing is recorded"
    elif run.offline:
        where = f"recorded offline in {run.sync_dir or run.dir} (upload with `tracklet sync`)"
    else:
        where = f"sent to the Tracklet server at {run.url}" if run.url else "sent to the Tracklet server"
    print(f"tracklet: `wandb` is Tracklet's compatibility mode (TRACKLET_WANDB=1): run {run.id} is {where}, "
          "not to W&B", file=sys.stderr)


def _current(call: str) -> Run:
    current = tracklet.run
    if current is None:
        raise Error(f"You must call wandb.init() before {call}")
    return view(current)


def log(data: dict[str, Any], step: int | None = None, commit: bool | None = None, sync: bool | None = None) -> None:
    """``wandb.log``: log to the current run (see ``Run.log``)."""
    _current("wandb.log()").log(data, step=step, commit=commit)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    tracklet.finish(exit_code=exit_code)


join = finish


def teardown(exit_code: int | None = None) -> None:
    """``wandb.teardown``: finish the current run (Tracklet has no background service to stop)."""
    tracklet.finish(exit_code=exit_code)


def define_metric(name: str, **kwargs: Any) -> Any:
    return _current("wandb.define_metric()").define_metric(name, **kwargs)


def log_artifact(artifact_or_path: Any, name: str | None = None, type: str | None = None,
                 aliases: list[str] | None = None, tags: list[str] | None = None) -> Artifact:
    return _current("wandb.log_artifact()").log_artifact(artifact_or_path, name=name, type=type, aliases=aliases,
                                                          tags=tags)


def use_artifact(artifact_or_name: Any, type: str | None = None, aliases: list[str] | None = None,
                 use_as: str | None = None) -> Artifact:
    return _current("wandb.use_artifact()").use_artifact(artifact_or_name, type=type, aliases=aliases,
                                                          use_as=use_as)


def watch(models: Any, criterion: Any = None, log: str | None = "gradients", log_freq: int = 1000,
          idx: int | None = None, log_graph: bool = False) -> Any:
    return _current("wandb.watch()").watch(models, criterion=criterion, log=log, log_freq=log_freq, idx=idx,
                                           log_graph=log_graph)


def unwatch(models: Any = None) -> None:
    _current("wandb.unwatch()").unwatch(models)


def save(glob_str: Any = None, base_path: Any = None, policy: str = "live") -> Any:
    return _current("wandb.save()").save(glob_str, base_path=base_path, policy=policy)


def alert(title: str, text: str, level: Any = None, wait_duration: Any = None) -> None:
    _current("wandb.alert()").alert(title, text, level=level, wait_duration=wait_duration)


def login(key: str | None = None, relogin: bool | None = None, host: str | None = None, anonymous: str | None = None,
          timeout: int | None = None, verify: bool = False, **kwargs: Any) -> bool:
    """``wandb.login``: Tracklet logs in with ``tracklet login``; a W&B key is never used or sent."""
    from tracklet import settings

    if key is not None or host is not None:
        termwarn("wandb.login(key=/host=) is not used by Tracklet's compatibility mode: W&B credentials are never "
                 "sent to Tracklet; log in with `tracklet login` (or TRACKLET_BASE_URL/TRACKLET_API_KEY)")
    base_url, api_key = settings.client_login()
    if base_url is None:
        termwarn("wandb.login(): no Tracklet server is configured (`tracklet login`); runs are recorded offline")
        return False
    return True


class _Setup:
    """What ``wandb.setup()`` returns: Tracklet needs no per-process service, so there is nothing to set up."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings


def setup(settings: Any = None) -> _Setup:
    return _Setup(settings)


_REQUIREMENTS = ("service", "core")


def require(requirement: str | None = None, experiment: str | None = None) -> None:
    """``wandb.require("service"|"core")``: Tracklet always works that way; other requirements raise."""
    for name in (requirement, experiment):
        if name is not None and name not in _REQUIREMENTS:
            raise UnsupportedError(f"wandb.require({name!r}): Tracklet's compatibility mode supports only "
                                   f"{', '.join(repr(r) for r in _REQUIREMENTS)}")


_said: set[str] = set()


def _term(prefix: str, string: str, newline: bool, repeat: bool, use_prefix: bool) -> None:
    if not repeat:
        if string in _said:
            return
        _said.add(string)
    current = tracklet.run
    if current is not None and current.settings.silent:
        return
    print((f"tracklet: {prefix}" if use_prefix else "") + string, file=sys.stderr, end="\n" if newline else "")


def termlog(string: str = "", newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    _term("", string, newline, repeat, prefix)


def termwarn(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    _term("WARNING ", string, newline, repeat, prefix)


def termerror(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    _term("ERROR ", string, newline, repeat, prefix)


def __getattr__(name: str) -> Any:
    if name == "run":
        current = tracklet.run
        return None if current is None else view(current)
    if name in ("config", "summary"):
        current = tracklet.run
        if current is None:
            return _PreInit(name)
        return getattr(current, name)
    if name == "Api":
        return tracklet.Api
    raise AttributeError(f"module 'wandb' has no attribute {name!r}: Tracklet's wandb compatibility mode does not "
                         "provide it (see docs/compatibility.md, 'Running wandb code')")


class _PreInit:
    """``wandb.config`` / ``wandb.summary`` before ``init``: any use raises a clear error."""

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def _fail(self, what: str) -> Error:
        return Error(f"You must call wandb.init() before wandb.{self._name}{what}")

    def __getattr__(self, key: str) -> Any:
        raise self._fail(f".{key}")

    def __setattr__(self, key: str, value: Any) -> None:
        raise self._fail(f".{key}")

    def __getitem__(self, key: Any) -> Any:
        raise self._fail(f"[{key!r}]")

    def __setitem__(self, key: Any, value: Any) -> None:
        raise self._fail(f"[{key!r}]")
