"""``run.config``: the hyperparameters of a run, and where they can come from."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from tracklet.errors import UsageError
from tracklet.sdk.values import CONFIG_VALUE_LIMIT, config_key, config_value

ConfigSink = Callable[[dict[str, Any]], None]


class Config:
    """A dict-like object holding a run's configuration.

    Item and attribute access both work (``config["lr"]``, ``config.lr``). Keys
    starting with ``_`` are internal: reachable by item access, hidden from
    ``keys()``, ``items()`` and ``as_dict()``. Changing a value that is already
    set raises :class:`~tracklet.errors.UsageError` unless ``allow_val_change``.
    """

    def __init__(self, sink: ConfigSink | None = None, allow_val_change: bool = False) -> None:
        object.__setattr__(self, "_items", {})
        object.__setattr__(self, "_sink", sink)
        object.__setattr__(self, "_allow_val_change", allow_val_change)

    # -- reading -----------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __getattr__(self, key: str) -> Any:
        try:
            return self._items[key]
        except KeyError:
            raise AttributeError(f"config has no key {key!r}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def keys(self) -> list[str]:
        return [k for k in self._items if not k.startswith("_")]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, v) for k, v in self._items.items() if not k.startswith("_")]

    def values(self) -> list[Any]:
        return [v for k, v in self._items.items() if not k.startswith("_")]

    def get(self, key: str, default: Any = None) -> Any:
        return self._items.get(key, default)

    def as_dict(self) -> dict[str, Any]:
        """A plain copy of the visible keys."""
        return {k: v for k, v in self._items.items() if not k.startswith("_")}

    def __repr__(self) -> str:
        return repr(self.as_dict())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Config):
            return self._items == other._items
        return isinstance(other, Mapping) and self.as_dict() == dict(other)

    # -- writing -------------------------------------------------------------------

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __setattr__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def update(self, values: Any, allow_val_change: bool | None = None) -> None:
        """Set several keys at once; all are checked before any is written.

        Args:
            values: a dict, argparse ``Namespace``, absl flags or any object with ``__dict__``.
            allow_val_change: allow changing keys that already hold a different value.
        """
        incoming = as_mapping(values, "config.update")
        allow = self._allow_val_change if allow_val_change is None else allow_val_change
        changes = self._check(incoming, allow)
        self._commit(changes)

    def setdefaults(self, values: Any) -> None:
        """Set only the keys that are not set yet."""
        incoming = as_mapping(values, "config.setdefaults")
        fresh = {k: v for k, v in incoming.items() if config_key(k, "config.setdefaults") not in self._items}
        self._commit(self._check(fresh, False))

    def _check(self, incoming: Mapping[str, Any], allow: bool) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for raw_key, raw_value in incoming.items():
            key = config_key(raw_key, "config")
            value = config_value(raw_value, key)
            if key in self._items:
                old = self._items[key]
                if old == value:
                    continue
                if not allow:
                    raise UsageError(
                        f'config: attempted to change value of key "{key}" from {old!r} to {value!r}. '
                        "If you really want to do this, pass allow_val_change=True to config.update() "
                        "(or to tracklet.init())"
                    )
            _check_size(key, value)
            changes[key] = value
        return changes

    def _commit(self, changes: dict[str, Any]) -> None:
        if not changes:
            return
        if self._sink is not None:
            self._sink(changes)  # raises if the run is finished; nothing is changed then
        self._items.update(changes)


def _check_size(key: str, value: Any) -> None:
    import msgpack

    size = len(msgpack.packb(value, use_bin_type=True))
    if size > CONFIG_VALUE_LIMIT:
        raise UsageError(
            f"config: the value of {key!r} is {size / 1e6:.1f} MB; config values must be under 10 MB "
            "(log large data, or save it as a file)"
        )


def as_mapping(source: Any, argument: str) -> Mapping[Any, Any]:
    """The key/value pairs of a dict, argparse Namespace, absl flags, or object with ``__dict__``."""
    if isinstance(source, Config):
        return source.as_dict()
    if isinstance(source, Mapping):
        return source
    if hasattr(source, "flag_values_dict"):  # absl.flags.FLAGS
        return source.flag_values_dict()
    if hasattr(source, "FLAGS") and hasattr(source.FLAGS, "flag_values_dict"):  # the absl.flags module
        return source.FLAGS.flag_values_dict()
    if hasattr(source, "__dict__") and not isinstance(source, type):
        return vars(source)
    raise TypeError(f"{argument}: config must be a dict or have a __dict__ attribute, got {type(source).__name__}")


def load_yaml_config(path: str, argument: str) -> dict[str, Any]:
    """Read a YAML config: a plain mapping, or the original's ``key: {value: X}`` layout."""
    import yaml

    if not os.path.isfile(path):
        raise UsageError(f"{argument}: config file {path!r} doesn't exist")
    try:
        with open(path, encoding="utf-8") as f:
            loaded = yaml.safe_load(f)
    except yaml.YAMLError as exc:
        raise UsageError(f"{argument}: invalid YAML in config file {path!r}: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise UsageError(f"{argument}: config file {path!r} must hold a mapping, got {type(loaded).__name__}")
    version = loaded.get("wandb_version", loaded.get("tracklet_version"))
    entries = {k: v for k, v in loaded.items() if k not in ("wandb_version", "tracklet_version")}
    if version is not None and version != 1:
        raise UsageError(f"{argument}: config file {path!r} has unknown version {version!r}")
    layered = entries and all(isinstance(v, dict) and "value" in v and set(v) <= {"value", "desc"} for v in entries.values())
    if layered:
        return {k: v["value"] for k, v in entries.items()}
    return entries
