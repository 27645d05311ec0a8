"""Settings: every knob of a run, resolved once, in one place.

Precedence, lowest to highest (later sources override earlier ones):

1. defaults (the field table below);
2. the global settings file ``$TRACKLET_CONFIG_DIR/settings`` (default
   ``~/.config/tracklet/settings``), then the directory's file
   ``<root_dir>/tracklet/settings`` (INI, section ``[default]``);
3. ``TRACKLET_*`` environment variables;
4. ``init(settings=...)``: a :class:`Settings` or a dict (only fields it sets);
5. explicit ``init(...)`` arguments that are not ``None``.

This is the only module that reads ``os.environ``.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracklet.errors import UsageError

__all__ = ["Settings", "RunMoment", "resolve", "global_config_dir", "workspace_settings_path"]

MODES = ("online", "offline", "disabled")
MODE_ALIASES = {"dryrun": "offline", "run": "online"}
RESUME_MODES = ("allow", "must", "never", "auto")
REINIT_MODES = ("default", "return_previous", "finish_previous", "create_new")
ANONYMOUS_MODES = ("never", "allow", "must")
CONSOLE_MODES = ("auto", "wrap", "redirect", "off")


@dataclass(frozen=True)
class RunMoment:
    """A point in a run's history, written ``"<run_id>?_step=<n>"``."""

    run_id: str
    step: float

    _PATTERN = re.compile(r"^([^?]+)\?_step=(-?\d+(?:\.\d+)?)$")

    @classmethod
    def parse(cls, text: str, source: str) -> RunMoment:
        match = cls._PATTERN.match(text) if isinstance(text, str) else None
        if not match:
            raise UsageError(
                f"{source}: could not parse run moment {text!r}; expected '<run_id>?_step=<n>' "
                "(only the metric '_step' is supported), for example 'ans3bsax?_step=123'"
            )
        step = float(match.group(2))
        return cls(match.group(1), int(step) if step.is_integer() else step)

    def __str__(self) -> str:
        return f"{self.run_id}?_step={self.step}"


# -- value parsers: (value, source) -> parsed value; raise UsageError naming the source --


def _text(value: Any, source: str) -> str:
    if not isinstance(value, str):
        raise UsageError(f"{source} must be a string, got {type(value).__name__}")
    return value


def _boolean(value: Any, source: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
    raise UsageError(f"{source} must be a boolean (true/false), got {value!r}")


def _choice(options: Sequence[str], aliases: Mapping[str, str] | None = None) -> Callable[[Any, str], str]:
    def parse(value: Any, source: str) -> str:
        if isinstance(value, str):
            value = (aliases or {}).get(value, value)
            if value in options:
                return value
        allowed = ", ".join(repr(o) for o in options)
        raise UsageError(f"{source} must be one of {allowed}, got {value!r}")

    return parse


def _resume(value: Any, source: str) -> str | None:
    if value is True:
        return "auto"
    if value is False:
        return None
    return _choice(RESUME_MODES)(value, source)


def _reinit(value: Any, source: str) -> str:
    if isinstance(value, bool):
        return "finish_previous" if value else "return_previous"
    return _choice(REINIT_MODES)(value, source)


def _number(minimum: float) -> Callable[[Any, str], float]:
    def parse(value: Any, source: str) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise UsageError(f"{source} must be a number, got {value!r}") from None
        if isinstance(value, bool) or number != number:
            raise UsageError(f"{source} must be a number, got {value!r}")
        if number < minimum:
            raise UsageError(f"{source} cannot be less than {minimum:g}, got {value!r}")
        return number

    return parse


def _path(value: Any, source: str) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    return _text(value, source)


def _tags(value: Any, source: str) -> tuple[str, ...]:
    if isinstance(value, str):
        # A bare string is one tag (the original split it into characters). From the
        # environment or a settings file it is a comma-separated list.
        value = value.split(",") if source.startswith(("TRACKLET_", "settings file")) else [value]
    if not isinstance(value, (Sequence, set, frozenset)) or isinstance(value, bytes):
        raise UsageError(f"{source} must be a list of strings, got {type(value).__name__}")
    tags = tuple(value)
    for index, tag in enumerate(tags):
        if not isinstance(tag, str):
            raise UsageError(f"{source}: tag at index {index} is a {type(tag).__name__}, not a string")
        if not tag:
            raise UsageError(f"{source}: tag at index {index} is empty; tags must be 1 to 64 characters")
        if len(tag) > 64:
            shown = f"{tag[:20]}...{tag[-20:]}"
            raise UsageError(f"{source}: tag {shown!r} is {len(tag)} characters; tags must be 1 to 64 characters")
    return tags


RUN_ID_FORBIDDEN = ":;,#?/'"
PROJECT_FORBIDDEN = "/\\#?%:"


def _run_id(value: Any, source: str) -> str:
    run_id = _text(value, source)
    if not run_id:
        raise UsageError(f"{source}: Run ID cannot be empty")
    if run_id.strip() != run_id:
        raise UsageError(f"{source}: Run ID cannot start or end with whitespace, got {run_id!r}")
    bad = sorted({c for c in run_id if c in RUN_ID_FORBIDDEN})
    if bad:
        raise UsageError(
            f"{source}: Run ID {run_id!r} cannot contain the characters: {RUN_ID_FORBIDDEN} (found {''.join(bad)!r})"
        )
    return run_id


def _project(value: Any, source: str) -> str:
    project = _text(value, source)
    if len(project) > 128:
        raise UsageError(f"{source}: Invalid project name {project[:32]!r}...: exceeded 128 characters")
    bad = [c for c in project if c in PROJECT_FORBIDDEN]
    if bad:
        raise UsageError(
            f"{source}: Invalid project name {project!r}: cannot contain characters "
            f"'/,\\,#,?,%,:', found {bad[0]!r}"
        )
    return project


def _moment(value: Any, source: str) -> RunMoment:
    if isinstance(value, RunMoment):
        return value
    return RunMoment.parse(value, source)


def _api_key(value: Any, source: str) -> str:
    key = _text(value, source)
    if key.strip() != key:
        raise UsageError(f"{source}: API key cannot start or end with whitespace")
    return key


@dataclass(frozen=True)
class _Field:
    parse: Callable[[Any, str], Any]
    default: Any = None
    env: str | None = None
    doc: str = ""


_FIELDS: dict[str, _Field] = {
    "mode": _Field(_choice(MODES, MODE_ALIASES), "online", "TRACKLET_MODE", "online, offline or disabled"),
    "project": _Field(_project, None, "TRACKLET_PROJECT"),
    "entity": _Field(_text, None, "TRACKLET_ENTITY"),
    "root_dir": _Field(_path, None, "TRACKLET_DIR", "where the tracklet/ folder goes (init's dir)"),
    "run_id": _Field(_run_id, None, "TRACKLET_RUN_ID"),
    "run_name": _Field(_text, None, "TRACKLET_NAME"),
    "run_notes": _Field(_text, None, "TRACKLET_NOTES"),
    "run_tags": _Field(_tags, (), "TRACKLET_TAGS"),
    "run_group": _Field(_text, None, "TRACKLET_RUN_GROUP"),
    "run_job_type": _Field(_text, None, "TRACKLET_JOB_TYPE"),
    "resume": _Field(_resume, None, "TRACKLET_RESUME"),
    "resume_from": _Field(_moment, None, "TRACKLET_RESUME_FROM"),
    "fork_from": _Field(_moment, None, "TRACKLET_FORK_FROM"),
    "reinit": _Field(_reinit, "default", "TRACKLET_REINIT"),
    "allow_val_change": _Field(_boolean, None, "TRACKLET_ALLOW_VAL_CHANGE"),
    "force": _Field(_boolean, False, "TRACKLET_FORCE"),
    "anonymous": _Field(_choice(ANONYMOUS_MODES), "never", "TRACKLET_ANONYMOUS"),
    "save_code": _Field(_boolean, None, "TRACKLET_SAVE_CODE"),
    "disable_code": _Field(_boolean, False, "TRACKLET_DISABLE_CODE"),
    "disable_git": _Field(_boolean, False, "TRACKLET_DISABLE_GIT"),
    "sync_tensorboard": _Field(_boolean, None, "TRACKLET_SYNC_TENSORBOARD"),
    "console": _Field(_choice(CONSOLE_MODES), "auto", "TRACKLET_CONSOLE"),
    "silent": _Field(_boolean, False, "TRACKLET_SILENT", "print nothing"),
    "quiet": _Field(_boolean, False, "TRACKLET_QUIET", "print only warnings and errors"),
    "strict_steps": _Field(_boolean, False, "TRACKLET_STRICT_STEPS", "raise instead of warn on a step regression"),
    "init_timeout": _Field(_number(0.0), 30.0, "TRACKLET_INIT_TIMEOUT"),
    "finish_timeout": _Field(_number(0.0), 60.0, "TRACKLET_FINISH_TIMEOUT"),
    "stats_sampling_interval": _Field(_number(0.1), 15.0, "TRACKLET_STATS_SAMPLING_INTERVAL"),
    "disable_stats": _Field(_boolean, False, "TRACKLET_DISABLE_STATS"),
    "api_key": _Field(_api_key, None, "TRACKLET_API_KEY"),
    "base_url": _Field(_text, None, "TRACKLET_BASE_URL"),
}

# Settings that a settings file may not set: they say where the file itself is.
_NOT_FROM_FILES = {"root_dir"}


class Settings:
    """Settings of a run. Unknown names raise :class:`~tracklet.errors.UsageError`.

    Args:
        **values: any of the fields listed in ``Settings.fields()``.

    Example:
        ```python
        tracklet.init(settings=tracklet.Settings(mode="offline", strict_steps=True))
        ```
    """

    # The fields, for type checkers and editors (their parsers and defaults are in _FIELDS).
    mode: str
    project: str | None
    entity: str | None
    root_dir: str | None
    run_id: str | None
    run_name: str | None
    run_notes: str | None
    run_tags: tuple[str, ...]
    run_group: str | None
    run_job_type: str | None
    resume: str | None
    resume_from: RunMoment | None
    fork_from: RunMoment | None
    reinit: str
    allow_val_change: bool | None
    force: bool
    anonymous: str
    save_code: bool | None
    disable_code: bool
    disable_git: bool
    sync_tensorboard: bool | None
    console: str
    silent: bool
    quiet: bool
    strict_steps: bool
    init_timeout: float
    finish_timeout: float
    stats_sampling_interval: float
    disable_stats: bool
    api_key: str | None
    base_url: str | None
    explicit_arguments: frozenset[str]
    _explicit: set[str]

    def __init__(self, **values: Any) -> None:
        object.__setattr__(self, "_explicit", set())
        object.__setattr__(self, "explicit_arguments", frozenset())
        for name, field in _FIELDS.items():
            object.__setattr__(self, name, copy.copy(field.default))
        for name, value in values.items():
            self._set(name, value, f"settings.{name}")

    @staticmethod
    def fields() -> tuple[str, ...]:
        return tuple(_FIELDS)

    def _set(self, name: str, value: Any, source: str) -> None:
        field = _FIELDS.get(name)
        if field is None:
            raise UsageError(f"{source}: unknown setting {name!r}; known settings: {', '.join(_FIELDS)}")
        if value is None:  # None means "not given": keep the default
            return
        object.__setattr__(self, name, field.parse(value, source))
        self._explicit.add(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._set(name, value, f"settings.{name}")

    def explicit(self) -> dict[str, Any]:
        """The fields that were set on this object, with their values."""
        return {name: getattr(self, name) for name in self._explicit}

    def copy(self) -> Settings:
        clone = Settings()
        for name in _FIELDS:
            object.__setattr__(clone, name, copy.deepcopy(getattr(self, name)))
        object.__setattr__(clone, "_explicit", set(self._explicit))
        object.__setattr__(clone, "explicit_arguments", self.explicit_arguments)
        return clone

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in _FIELDS}
        for key in ("resume_from", "fork_from"):
            if out[key] is not None:
                out[key] = str(out[key])
        out.pop("api_key")
        return out

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.explicit().items() if k != "api_key")
        return f"Settings({shown})"

    @property
    def tracklet_dir(self) -> Path:
        """``<root_dir>/tracklet``, absolute."""
        return Path(os.path.abspath(self.root_dir or os.getcwd())) / "tracklet"


def global_config_dir() -> Path:
    configured = os.environ.get("TRACKLET_CONFIG_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "tracklet"


def workspace_settings_path(root_dir: str | None) -> Path:
    return Path(os.path.abspath(root_dir or os.getcwd())) / "tracklet" / "settings"


def _read_settings_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    import configparser

    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise UsageError(f"settings file {path} is not valid INI: {exc}") from None
    return dict(parser["default"]) if parser.has_section("default") else {}


def environment() -> dict[str, str]:
    """The ``TRACKLET_*`` variables that name a setting, by setting name."""
    by_env = {field.env: name for name, field in _FIELDS.items() if field.env}
    return {by_env[key]: value for key, value in os.environ.items() if key in by_env}


def resolve(arguments: Mapping[str, Any], settings: Settings | Mapping[str, Any] | None) -> Settings:
    """Resolve a run's settings from every source, in the documented order.

    ``arguments`` maps setting names to explicit ``init`` arguments (``None`` = not given).
    ``settings`` is not modified.
    """
    if settings is None:
        given: dict[str, Any] = {}
    elif isinstance(settings, Settings):
        given = settings.explicit()
    elif isinstance(settings, Mapping):
        given = dict(settings)
        Settings(**given)  # validates names and values before anything else happens
    else:
        raise UsageError(f"settings must be a tracklet.Settings or a dict, got {type(settings).__name__}")
    env = environment()
    root_dir = None
    for source, values in (("dir", arguments), ("settings['root_dir']", given), ("TRACKLET_DIR", env)):
        if values.get("root_dir") is not None:
            root_dir = _path(values["root_dir"], source)
            break

    result = Settings()
    for path in (global_config_dir() / "settings", workspace_settings_path(root_dir)):
        for name, value in _read_settings_file(path).items():
            if name in _NOT_FROM_FILES:
                continue
            result._set(name, value, f"settings file {path} [{name}]")
    for name, value in env.items():
        result._set(name, value, _FIELDS[name].env or name)
    for name, value in given.items():
        result._set(name, value, f"settings[{name!r}]")
    for name, value in arguments.items():
        if value is not None:
            result._set(name, value, _ARGUMENT_NAMES.get(name, name))
    # Some rules depend on whether init() was given a value (an explicit save_code beats
    # TRACKLET_DISABLE_CODE), so remember which arguments were.
    object.__setattr__(result, "explicit_arguments", frozenset(n for n, v in arguments.items() if v is not None))
    return result


# How init's arguments are named when an error points at one.
_ARGUMENT_NAMES = {
    "root_dir": "dir",
    "run_id": "id",
    "run_name": "name",
    "run_notes": "notes",
    "run_tags": "tags",
    "run_group": "group",
    "run_job_type": "job_type",
}


def server_data_dir() -> Path:
    """Where ``tracklet server`` keeps its SQLite store and files by default."""
    configured = os.environ.get("TRACKLET_DATA_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "tracklet"


# `tracklet server`'s options that a TRACKLET_* variable may set (a flag on the command line wins).
SERVER_VARIABLES = {"files": "TRACKLET_FILES", "files_download": "TRACKLET_FILES_DOWNLOAD"}


def server_option(name: str, flag: str | None) -> str | None:
    """A ``tracklet server`` option: ``flag`` if given, else its variable (:data:`SERVER_VARIABLES`), else None."""
    if flag is not None:
        return flag
    return os.environ.get(SERVER_VARIABLES[name]) or None


def client_settings_path() -> Path:
    """The global settings file, where ``tracklet login`` writes the server URL and key."""
    return global_config_dir() / "settings"


def write_client_settings(values: Mapping[str, str | None]) -> Path:
    """Set (or, with None, remove) keys of the global settings file; it is private to the user (0600)."""
    import configparser

    path = client_settings_path()
    parser = configparser.ConfigParser()
    if path.is_file():
        parser.read(path, encoding="utf-8")
    if not parser.has_section("default"):
        parser.add_section("default")
    for key, value in values.items():
        if value is None:
            parser.remove_option("default", key)
        else:
            parser.set("default", key, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as f:
        parser.write(f)
    os.chmod(path, 0o600)
    return path


def client_login() -> tuple[str | None, str | None]:
    """(base_url, api_key) from the environment, else the global settings file."""
    stored = _read_settings_file(client_settings_path())
    return (
        os.environ.get("TRACKLET_BASE_URL") or stored.get("base_url"),
        os.environ.get("TRACKLET_API_KEY") or stored.get("api_key"),
    )


def child_environment(overrides: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with ``overrides``, for a process Tracklet starts."""
    return {**os.environ, **overrides}


# -- the opt-in wandb compatibility mode (tracklet.compat) ------------------------------------

WANDB_COMPAT_VARIABLE = "TRACKLET_WANDB"


def wandb_compat_enabled() -> bool:
    """Whether ``TRACKLET_WANDB`` asks for the wandb compatibility mode (``import wandb`` gives Tracklet)."""
    value = os.environ.get(WANDB_COMPAT_VARIABLE, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def wandb_variables() -> dict[str, str]:
    """The ``WANDB_*`` variables of this process, read at the moment of the call (an integration
    may set one just before ``wandb.init``); ``tracklet.compat`` maps them to settings."""
    return {key: value for key, value in os.environ.items() if key.startswith("WANDB_")}
