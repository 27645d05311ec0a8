"""Reading a run's history back: keys, rows in a step range, downsampled series, full export."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

import math

import msgpack
import numpy as np
from sqlalchemy import Connection, Row, func, select

from tracklet.runlog.metrics import split_name
from tracklet.runlog.state import set_path
from tracklet.server.store import charts, series
from tracklet.server.store.schema import history_objects, series_blocks


def visibility(row: Row[Any]) -> dict[int, int | None]:
    return {int(s): v for s, v in row.visible_until.items()}


def keys(conn: Connection, row: Row[Any]) -> list[str]:
    numeric = series.keys(conn, row.pk)
    others = conn.execute(
        select(history_objects.c.key).where(history_objects.c.run_pk == row.pk).distinct()
    ).scalars().all()
    return numeric + sorted(set(others) - set(numeric))


def rows(conn: Connection, row: Row[Any], min_step: int | None = None, max_step: int | None = None,
         wanted: list[str] | None = None) -> list[dict[str, Any]]:
    """Every visible row with a step in [min_step, max_step], nested as logged, with ``_step``."""
    visible = visibility(row)
    by_step: dict[int, dict[str, Any]] = {}
    numeric = series.keys(conn, row.pk)
    for key in numeric if wanted is None else [k for k in wanted if k in numeric]:
        steps, values = series.read(conn, row.pk, key, visible, min_step, max_step)
        path = split_name(key)
        for step, value in zip(steps.tolist(), values.tolist()):
            set_path(by_step.setdefault(step, {"_step": step}), path, value)
    for step, key, value in series.read_objects(conn, row.pk, visible, min_step, max_step, wanted):
        set_path(by_step.setdefault(step, {"_step": step}), split_name(key), msgpack.unpackb(value, raw=False))
    return [by_step[step] for step in sorted(by_step)]


def media_values(conn: Connection, row: Row[Any], key: str, min_step: int | None = None,
                 max_step: int | None = None) -> list[tuple[int, Any]]:
    """(step, value) of one media key, visible and in step order."""
    return [(step, msgpack.unpackb(value, raw=False))
            for step, _, value in series.read_objects(conn, row.pk, visibility(row), min_step, max_step, [key])]


def step_range(conn: Connection, row: Row[Any]) -> tuple[int, int] | None:
    low, high = conn.execute(
        select(func.min(series_blocks.c.first_step), func.max(series_blocks.c.last_step))
        .where(series_blocks.c.run_pk == row.pk)
    ).one()
    return None if low is None else (low, high)


def export(conn: Connection, row: Row[Any], window: int = 20_000) -> Iterator[dict[str, Any]]:
    """Every visible row, in step order, a window of steps at a time (memory stays bounded)."""
    span = step_range(conn, row)
    if span is None:
        yield from rows(conn, row)
        return
    low, high = span
    for start in range(low, high + 1, window):
        yield from rows(conn, row, start, start + window - 1)


M4_COLUMNS = ("bucket_start", "first_step", "first", "last_step", "last", "min_step", "min", "max_step", "max", "count")


def downsampled(conn: Connection, row: Row[Any], key: str, buckets: int, min_step: int | None,
                max_step: int | None, wanted: Collection[str] = M4_COLUMNS) -> dict[str, Any]:
    """The M4 columns of one metric (those ``wanted``), JSON-ready (non-finite values as
    "NaN"/"Infinity" strings)."""
    columns, points = charts.downsampled(conn, row.pk, key, visibility(row), buckets, min_step, max_step)
    return {name: json_column(column) for name, column in columns.items() if name in wanted} | {
        "downsampled": points > buckets}


def downsampled_runs(conn: Connection, rows: list[Row[Any]], key: str, buckets: int, min_step: int | None,
                     max_step: int | None, wanted: Collection[str] = M4_COLUMNS) -> list[dict[str, Any]]:
    """``downsampled`` for several runs, read together (a chart panel of many runs: a few queries in all)."""
    answers = charts.downsampled_runs(conn, key, [(row.pk, visibility(row)) for row in rows], buckets, min_step, max_step)
    return [{name: json_column(column) for name, column in columns.items() if name in wanted} | {
        "downsampled": points > buckets} for columns, points in answers]


def json_column(column: np.ndarray) -> list[Any]:
    """A numpy column as a JSON-ready list; the per-element pass only when something is not finite."""
    if column.dtype.kind != "f" or np.isfinite(column).all():
        return column.tolist()
    return [v if math.isfinite(v) else ("NaN" if v != v else "Infinity" if v > 0 else "-Infinity")
            for v in column.tolist()]
