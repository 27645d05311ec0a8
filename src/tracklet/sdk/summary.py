"""``run.summary``: one value per metric, describing the run as a whole.

By default a metric's summary is its last committed value; ``define_metric``
can ask for min/max/mean/first/last instead. Setting a key explicitly records
that value (and restarts the metric's aggregation). ``None`` is never stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from tracklet.media.base import MediaFiles
from tracklet.runlog.metrics import Path
from tracklet.sdk.values import log_value

SummarySink = Callable[[list[tuple[Path, Any]], list[Path]], None]


class _Node:
    """Shared behaviour of the summary and its nested dicts: reads go to the live tree."""

    def __init__(self, tree: Callable[[], dict[str, Any]], sink: SummarySink, path: Path, files: MediaFiles) -> None:
        self._tree = tree
        self._sink = sink
        self._path = path
        self._files = files

    def _node(self) -> dict[str, Any]:
        node = self._tree()
        for part in self._path:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return node if isinstance(node, dict) else {}

    def __getitem__(self, key: str) -> Any:
        value = self._node()[key]
        if type(value) is dict and "_type" not in value:
            return SummarySubDict(self._tree, self._sink, self._path + (key,), self._files)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return key in self._node()

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._node()))

    def __len__(self) -> int:
        return len(self._node())

    def keys(self) -> list[str]:
        return list(self._node())

    def items(self) -> list[tuple[str, Any]]:
        return [(k, self[k]) for k in self._node()]

    def values(self) -> list[Any]:
        return [self[k] for k in self._node()]

    def as_dict(self) -> dict[str, Any]:
        import copy

        return copy.deepcopy(self._node())

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        if key not in self._node():
            raise KeyError(key)
        self._sink([], [self._path + (key,)])

    def update(self, values: dict[str, Any]) -> None:
        """Set several summary keys; ``None`` values are skipped."""
        sets = []
        for key, value in dict(values).items():
            if not isinstance(key, str):
                raise TypeError(f"summary: keys must be strings, got {key!r} ({type(key).__name__})")
            if value is None:
                continue
            sets.append((self._path + (key,), log_value(value, key, self._files)))
        if sets:
            self._sink(sets, [])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Node):
            return self._node() == other._node()
        return isinstance(other, dict) and self._node() == other

    def __repr__(self) -> str:
        return repr(self._node())


class Summary(_Node):
    """The run's summary (``run.summary``): a dict-like view that writes through to the run."""

    def __init__(self, tree: Callable[[], dict[str, Any]], sink: SummarySink, files: MediaFiles) -> None:
        super().__init__(tree, sink, (), files)


class SummarySubDict(_Node):
    """A nested dict inside the summary; writes to it are recorded like top-level writes."""
