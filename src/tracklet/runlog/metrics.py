"""Metric definitions (``define_metric``) and the summary they produce.

A metric name addresses a value in a (possibly nested) row: ``.`` separates
nesting levels and ``\\.`` is a literal dot. A trailing ``*`` makes the name a
glob that matches every key with that prefix (keys starting with ``_`` excepted).
"""

from __future__ import annotations

import math
from typing import Any

SUMMARY_OPS = ("min", "max", "mean", "first", "last", "none")

Path = tuple[str, ...]


def split_name(name: str) -> Path:
    """``'a.b\\.c'`` → ``('a', 'b.c')``."""
    parts, current, i = [], [], 0
    while i < len(name):
        ch = name[i]
        if ch == "\\" and i + 1 < len(name) and name[i + 1] == ".":
            current.append(".")
            i += 2
            continue
        if ch == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return tuple(parts)


def join_path(path: Path) -> str:
    return ".".join(part.replace(".", "\\.") for part in path)


def is_number(value: Any) -> bool:
    return type(value) in (int, float) and not (type(value) is float and math.isnan(value))


class MetricRules:
    """The metric definitions of a run, and which definition applies to a logged value."""

    def __init__(self) -> None:
        self.definitions: dict[str, dict[str, Any]] = {}
        self._globs: list[tuple[str, dict[str, Any]]] = []
        self._resolved: dict[Path, dict[str, Any] | None] = {}

    def define(self, definition: dict[str, Any]) -> None:
        name = definition["name"]
        self.definitions[name] = definition
        self._globs = [(n[:-1], d) for n, d in self.definitions.items() if n.endswith("*")]
        self._resolved.clear()

    def rule_for(self, path: Path) -> dict[str, Any] | None:
        """The definition that governs ``path``: an exact one, else the longest matching glob."""
        try:
            return self._resolved[path]
        except KeyError:
            pass
        name = join_path(path)
        rule = self.definitions.get(name)
        if rule is None and self._globs and not path[0].startswith("_"):
            matches = [(len(prefix), d) for prefix, d in self._globs if name.startswith(prefix)]
            if matches:
                rule = max(matches, key=lambda m: m[0])[1]
        self._resolved[path] = rule
        return rule


class Aggregate:
    """Running statistics of one metric for the summary ops its definition asks for."""

    __slots__ = ("ops", "min", "max", "total", "count", "first", "last", "seen")

    def __init__(self, ops: tuple[str, ...]) -> None:
        self.ops = ops
        self.min: float | None = None
        self.max: float | None = None
        self.total = 0.0
        self.count = 0
        self.first: Any = None
        self.last: Any = None
        self.seen = False

    def add(self, value: Any) -> None:
        if not self.seen:
            self.first = value
            self.seen = True
        self.last = value
        if is_number(value):
            self.min = value if self.min is None or value < self.min else self.min
            self.max = value if self.max is None or value > self.max else self.max
            self.total += value
            self.count += 1

    def value(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for op in self.ops:
            if op == "mean":
                if self.count:
                    out["mean"] = self.total / self.count
            elif op in ("min", "max"):
                if getattr(self, op) is not None:
                    out[op] = getattr(self, op)
            elif op in ("first", "last"):
                out[op] = getattr(self, op)
        return out

    def to_state(self) -> list[Any]:
        return [list(self.ops), self.min, self.max, self.total, self.count, self.first, self.last, self.seen]

    @classmethod
    def from_state(cls, state: list[Any]) -> Aggregate:
        agg = cls(tuple(state[0]))
        agg.min, agg.max, agg.total, agg.count, agg.first, agg.last, agg.seen = state[1:]
        return agg
