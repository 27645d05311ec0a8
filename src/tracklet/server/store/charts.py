"""One metric of a run reduced to chart buckets (M4) from the blocks' pre-aggregates.

What a bucket is: the visible steps [lo, hi] are cut into ``buckets`` equal parts, and the series
into *windows*: every full block (``series.BLOCK_SIZE`` points) that is wholly visible is cut into
windows of L consecutive points by position in the block, and every other visible point (the open,
trailing blocks; blocks a zoom range cuts) is a window of its own. L is the coarsest level of
``preaggregates.LEVELS`` that gives about ``buckets`` windows or more (``preaggregates.level_for``;
1 when even the finest gives too few: then every point is its own window, the plain M4 of every
point). Consecutive windows whose first step falls in the same part form a bucket; each bucket gives
its first, last, min and max point (with their steps) and its count, and ``bucket_start``, the first
step of its first window. So a chart has at most ``buckets`` buckets (about that many), a one-point
spike is never lost, and the points are drawn at their own steps.

Full blocks are then never decoded: their windows at level L are read from ``series_summaries``
(one column per level), about ``buckets`` rows' worth per run. Decoding a block and windowing its
points gives the same answer bit for bit (``tests/unit/test_preaggregates.py``), so a block whose
summary is missing, or unusable (int64 values of a key that later turned float, beyond 2^53), is
decoded. Where segments overlap (``read`` lets the later one win a step) the chart is the M4 of
every point.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, or_, select

from tracklet.server.store import preaggregates, series
from tracklet.server.store.schema import series_blocks, series_keys, series_summaries

Columns = dict[str, np.ndarray]
_EXACT_FLOAT = 2**53  # int64 values below this convert to float64 without two becoming equal


def downsampled(
    conn: Connection,
    run_pk: int,
    key: str,
    visible_until: series.Visibility,
    buckets: int,
    min_step: int | None = None,
    max_step: int | None = None,
    *,
    level: int | None = None,
    summaries: bool = True,
) -> tuple[Columns, int]:
    """The M4 columns of one key's visible points in [min_step, max_step], and how many points those are.

    ``level``: points per window (default: chosen from the buckets, see the module's doc);
    ``summaries=False`` decodes every block instead of reading pre-aggregates (the same answer)."""
    if buckets < 1:
        raise ValueError("buckets must be at least 1")
    sk, sb = series_keys.c, series_blocks.c
    visible = series._visible(sb.segment, sb.first_step, sb.last_step, visible_until, min_step, max_step)
    rows = conn.execute(
        select(sk.integer, sb.key_id, sb.segment, sb.block_no, sb.first_step, sb.last_step, sb.count.label("n"),
               sb.min, sb.max)
        .select_from(series_keys.join(series_blocks, and_(sb.run_pk == sk.run_pk, sb.key_id == sk.key_id, visible)))
        .where(sk.run_pk == run_pk, sk.key == key)
        .order_by(sb.segment, sb.block_no)
    ).all()
    if not rows:
        return _from_points(conn, run_pk, key, visible_until, buckets, min_step, max_step)
    bounds = []  # each block's visible steps [a, b]
    for row in rows:
        hi = series._upper(visible_until[row.segment], max_step)
        bounds.append((row.first_step if min_step is None else max(row.first_step, min_step),
                       row.last_step if hi is None else min(row.last_step, hi)))
    if any(a > b for a, b in bounds) or any(b >= a for (_, b), (a, _) in zip(bounds, bounds[1:])):
        return _from_points(conn, run_pk, key, visible_until, buckets, min_step, max_step)
    if sum(row.n for row in rows) <= buckets:  # every point is its own bucket
        return _from_points(conn, run_pk, key, visible_until, buckets, min_step, max_step)

    if level is None:  # the visible points, about: a cut block counts for the share of its steps in view
        estimate = sum(row.n * (b - a + 1) / (row.last_step - row.first_step + 1) for row, (a, b) in zip(rows, bounds))
        level = preaggregates.level_for(estimate, buckets)
    integer = bool(rows[0].integer)
    dtype = np.int64 if integer else np.float64
    full = {i for i, row in enumerate(rows)
            if level > 1 and row.n == series.BLOCK_SIZE and bounds[i] == (row.first_step, row.last_step)}
    exact = [i for i in sorted(full) if integer or rows[i].min is None
             or max(abs(rows[i].min), abs(rows[i].max)) < _EXACT_FLOAT]  # fmt: skip
    found = _summaries(conn, run_pk, rows, exact, level) if summaries and exact else {}
    points = _decode(conn, run_pk, rows, [i for i in range(len(rows)) if i not in found], bounds, dtype)

    summarized = sorted(found)
    windows: preaggregates.Windows = {}
    per_block = 1
    if summarized:
        windows = preaggregates.decode_level(
            [found[i] for i in summarized], np.array([rows[i].first_step for i in summarized], np.int64),
            np.array([rows[i].last_step for i in summarized], np.int64), series.BLOCK_SIZE, level, not integer)
        per_block = -(-series.BLOCK_SIZE // level)
    parts: list[preaggregates.Windows] = []
    k, stretch = 0, 0  # summarized blocks in a row share one slice of the decoded windows
    for i in range(len(rows) + 1):
        if k < len(summarized) and summarized[k] == i:
            k += 1
            continue
        if stretch < k:
            a, b = stretch * per_block, k * per_block
            parts.append({name: column[a:b] for name, column in windows.items()})
        stretch = k
        if i in points:
            steps, values = points[i]
            parts.append(preaggregates.windows_of(steps, values, level if i in full else 1))
    joined = {name: np.concatenate([part[name] for part in parts]) for name in preaggregates.FIELDS}
    total = int(joined["count"].sum())
    if total <= buckets:
        return _from_points(conn, run_pk, key, visible_until, buckets, min_step, max_step)
    lo = int(joined["first_step"][0]) if min_step is None else min_step
    hi = int(joined["last_step"][-1]) if max_step is None else max_step
    return preaggregates.group(joined, buckets, lo, hi - lo + 1), total


def _from_points(conn: Connection, run_pk: int, key: str, visible_until: series.Visibility, buckets: int,
                 min_step: int | None, max_step: int | None) -> tuple[Columns, int]:
    """Every visible point read and each a window of its own (one bucket each when they are no more than
    ``buckets``)."""
    steps, values = series.read(conn, run_pk, key, visible_until, min_step, max_step)
    if len(steps) <= buckets:
        return series.downsample(steps, values, buckets), len(steps)
    lo = int(steps[0]) if min_step is None else min_step
    hi = int(steps[-1]) if max_step is None else max_step
    return preaggregates.group(preaggregates.of_points(steps, values), buckets, lo, hi - lo + 1), len(steps)


def _which(rows: Sequence[Any], which: list[int], segment: Any, block_no: Any) -> Any:
    """SQL condition: the blocks ``rows[i]`` for i in ``which`` (one IN list per segment: cheap to compile)."""
    by_segment: dict[int, list[int]] = {}
    for i in which:
        by_segment.setdefault(rows[i].segment, []).append(rows[i].block_no)
    return or_(*(and_(segment == s, block_no.in_(nos)) for s, nos in by_segment.items()))


def _summaries(conn: Connection, run_pk: int, rows: Sequence[Any], which: list[int], level: int) -> dict[int, bytes]:
    """One level of the stored summaries of the blocks ``rows[i]`` for i in ``which`` (absent: none stored)."""
    ss = series_summaries.c
    column = ss[preaggregates.COLUMNS[preaggregates.LEVELS.index(level)]]
    wanted = {(rows[i].segment, rows[i].block_no): i for i in which}
    found = conn.execute(select(ss.segment, ss.block_no, column).where(
        ss.run_pk == run_pk, ss.key_id == rows[which[0]].key_id, _which(rows, which, ss.segment, ss.block_no))).all()
    return {wanted[segment, block_no]: bytes(data) for segment, block_no, data in found}


def _decode(conn: Connection, run_pk: int, rows: Sequence[Any], which: list[int], bounds: list[tuple[int, int]],
            dtype: type) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Visible points of the blocks ``rows[i]`` for i in ``which``, fetched in one query."""
    if not which:
        return {}
    sb = series_blocks.c
    wanted = {(rows[i].segment, rows[i].block_no): i for i in which}
    found = conn.execute(select(sb.segment, sb.block_no, sb.data).where(
        sb.run_pk == run_pk, sb.key_id == rows[which[0]].key_id, _which(rows, which, sb.segment, sb.block_no))).all()
    points: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for segment, block_no, data in found:
        i = wanted[segment, block_no]
        steps, values = series._decode(data)
        a, b = bounds[i]
        cut = slice(int(np.searchsorted(steps, a)), int(np.searchsorted(steps, b, side="right")))
        points[i] = (steps[cut], values[cut].astype(dtype, copy=False))
    return points
