"""Turning user values into what the run log stores.

``log`` keeps numbers exactly (NaN and infinities included), turns numpy,
torch and array-like values into plain numbers, lists, or a 32-bin histogram, and
media (``tracklet.Image`` and the other data types) into their typed references.
``config`` values are made JSON-friendly the way the original SDK does it.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import math
import sys
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from tracklet.errors import UsageError
from tracklet.media.base import Media, MediaFiles, as_numpy

_PLAIN = frozenset({int, float, str, bool, type(None)})
_INT_MIN, _UINT_MAX = -(2**63), 2**64 - 1
SMALL_ARRAY = 32
HISTOGRAM_BINS = 32


def prepare_row(data: Any, files: MediaFiles) -> dict[str, Any]:
    """Validate and convert the argument of ``log``; never mutates it.

    Returns ``data`` itself when it only holds plain values under string keys
    (the common case, kept fast); otherwise a converted copy. Media files go to ``files``.
    """
    if type(data) is not dict:
        if not isinstance(data, Mapping):
            raise TypeError(f"log: data must be a dict of metric names to values, got {type(data).__name__}")
        data = dict(data)
    for key, value in data.items():
        if type(key) is not str or type(value) not in _PLAIN:
            break
    else:
        if "_step" not in data and "_runtime" not in data:
            return data
    row: dict[str, Any] = {}
    for key, value in data.items():
        if type(key) is not str:
            raise TypeError(f"log: keys must be strings, got {key!r} ({type(key).__name__})")
        if key in ("_step", "_runtime"):  # set by Tracklet, as in the original
            continue
        row[key] = log_value(value, key, files)
    return row


def log_value(value: Any, key: str, files: MediaFiles) -> Any:
    """Convert one logged value; ``key`` names it in errors."""
    kind = type(value)
    if kind in _PLAIN:
        if kind is int and not _INT_MIN <= value <= _UINT_MAX:
            return float(value)
        return value
    if isinstance(value, Media):
        return value.to_reference(files)
    if kind is dict or isinstance(value, Mapping):
        return {str(k): log_value(v, f"{key}.{k}", files) for k, v in value.items()}
    if kind is list or kind is tuple:
        items = [log_value(v, f"{key}[{i}]", files) for i, v in enumerate(value)]
        if items and all(type(v) is dict and v.get("_type") == "image-file" for v in items):
            return {"_type": "images", "items": items}  # a list of images is one value, shown together
        return items
    array = as_numpy(value)
    if array is not None:
        return _array_value(array, key, files)
    if isinstance(value, (int, float)):  # int/float subclasses such as IntEnum
        return float(value) if isinstance(value, float) else int(value)
    raise UsageError(
        f"log: the value of {key!r} is a {kind.__module__}.{kind.__qualname__}, which cannot be logged; "
        "log numbers, strings, booleans, None, lists, dicts, numpy arrays, tensors or tracklet media "
        "(Image, Histogram, Table, Audio, Video, Html)"
    )


def _array_value(array: Any, key: str, files: MediaFiles) -> Any:
    np = sys.modules["numpy"]
    if isinstance(array, np.generic) or array.ndim == 0 or array.size == 1:
        item = array.item() if hasattr(array, "item") else array
        if isinstance(item, (bool, int, float, str)):
            return log_value(item, key, files)
        raise UsageError(f"log: the value of {key!r} has numpy dtype {array.dtype}, which cannot be logged")
    if array.dtype.kind not in "biuf":
        raise UsageError(f"log: the array logged as {key!r} has dtype {array.dtype}; only numeric arrays are logged")
    if array.size <= SMALL_ARRAY:
        return array.tolist()
    finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
    if finite.size == 0:
        raise UsageError(f"log: the array logged as {key!r} has no finite values to make a histogram of")
    counts, edges = np.histogram(finite, bins=HISTOGRAM_BINS)
    return {"_type": "histogram", "values": counts.tolist(), "bins": edges.tolist()}


# -- config -------------------------------------------------------------------------

CONFIG_VALUE_LIMIT = 10 * 1024 * 1024


def config_key(key: Any, argument: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"{argument}: keys must be strings, got {key!r} ({type(key).__name__})")
    return key.strip("-")


def config_value(value: Any, key: str) -> Any:
    """Make a config value JSON-friendly as the original SDK does (NaN becomes None)."""
    kind = type(value)
    if kind in _PLAIN:
        if kind is float and math.isnan(value):
            return None
        if kind is int and not _INT_MIN <= value <= _UINT_MAX:
            return float(value)
        return value
    if isinstance(value, Mapping):
        return {str(k): config_value(v, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [config_value(v, key) for v in value]
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, slice):
        return {"slice_start": value.start, "slice_stop": value.stop, "slice_step": value.step}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return config_value(dataclasses.asdict(value), key)
    if isinstance(value, (int, float)):
        return config_value(float(value) if isinstance(value, float) else int(value), key)
    array = as_numpy(value)
    if array is not None:
        np = sys.modules["numpy"]
        if isinstance(array, np.generic) or array.ndim == 0:
            return config_value(array.item(), key)
        if array.size > SMALL_ARRAY:
            return str(array)
        return config_value(array.tolist(), key)
    if callable(value):
        return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', repr(value))}"
    return str(value)
