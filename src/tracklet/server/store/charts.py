"""One metric of a run reduced to chart buckets (M4) from the blocks' pre-aggregates.

The answer is exactly ``series.downsample(*series.read(…))``'s (a property test holds them equal).
A block that lies inside one bucket is reduced from its summary: four points per window of
``preaggregates.WINDOW`` (first, min, max, last; the first carries the window's count), 256 for a
full block instead of its 4,096, and its points are not read at all. Blocks that a bucket edge
crosses, blocks the visible range cuts, and blocks without a summary (the open one) are decoded.
So charts whose buckets are wider than a block (4,096 points) read a small fraction of the data.
When a quarter of the blocks or more hold a bucket edge (buckets narrower than about four blocks),
the chart is drawn from every point, as before the pre-aggregates: that measured as quick or
quicker then, and the answer is the same.

Order of work: the blocks' step bounds (one query) give the visible range, so the bucket edges;
then the summaries of the blocks inside a bucket, and the points of the others (a query each).
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
) -> tuple[Columns, int]:
    """The M4 columns of one key's visible points in [min_step, max_step], and how many points those are."""
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

    def from_points() -> tuple[Columns, int]:
        steps, values = series.read(conn, run_pk, key, visible_until, min_step, max_step)
        return series.downsample(steps, values, buckets, min_step, max_step), len(steps)

    if not rows:
        return from_points()
    bounds = []  # each block's visible steps [a, b]
    for row in rows:
        hi = series._upper(visible_until[row.segment], max_step)
        bounds.append((row.first_step if min_step is None else max(row.first_step, min_step),
                       row.last_step if hi is None else min(row.last_step, hi)))
    if any(a > b for a, b in bounds) or any(b >= a for (_, b), (a, _) in zip(bounds, bounds[1:])):
        return from_points()  # an empty range, or segments that overlap (read() lets the later one win a step)

    if _crossed(rows, bounds, buckets, min_step, max_step) * 4 > len(rows):
        # a quarter or more of the blocks hold a bucket edge: decoding every block into one buffer measured
        # as quick (SQLite: quicker) than decoding those one by one and reading the others' summaries
        return from_points()

    integer = bool(rows[0].integer)
    dtype = np.int64 if integer else np.float64
    whole = [i for i, row in enumerate(rows) if bounds[i] == (row.first_step, row.last_step)]
    whole_set = set(whole)
    points = _decode(conn, run_pk, rows, [i for i in range(len(rows)) if i not in whole_set], bounds, dtype)
    total = sum(rows[i].n for i in whole) + sum(len(s) for s, _ in points.values())
    if total <= buckets:
        return from_points()  # every point is its own bucket

    def end(at: int) -> int:
        """The first (at=0) or last (at=-1) visible step."""
        for i in range(len(rows)) if at == 0 else range(len(rows) - 1, -1, -1):
            if i not in points:
                return int(rows[i].first_step if at == 0 else rows[i].last_step)
            if len(points[i][0]):
                return int(points[i][0][at])
        raise AssertionError("no visible point")  # total > buckets ≥ 1

    lo = min_step if min_step is not None else end(0)
    span = (max_step if max_step is not None else end(-1)) - lo + 1

    # a block that a bucket edge crosses is decoded (fetching its summary as well measured slower
    # cold, and no faster warm); the others are reduced from their windows' pre-aggregates
    firsts = np.array([rows[i].first_step for i in whole], np.int64)
    lasts = np.array([rows[i].last_step for i in whole], np.int64)
    crossed = (preaggregates.bucket_index(firsts, buckets, lo, span)
               != preaggregates.bucket_index(lasts, buckets, lo, span)).tolist()
    inside = [i for i, edge in zip(whole, crossed) if not edge]
    found = _summaries(conn, run_pk, rows, inside)
    usable = [i for i in inside if i in found and (
        integer or rows[i].min is None or max(abs(rows[i].min), abs(rows[i].max)) < _EXACT_FLOAT)]  # fmt: skip
    usable_set = set(usable)
    points |= _decode(conn, run_pk, rows, [i for i in whole if i not in usable_set], bounds, dtype)
    if not usable:  # every block decoded: nothing to weigh
        ordered = [points[i] for i in sorted(points)]
        steps, values = (np.concatenate(c) for c in zip(*ordered))
        return preaggregates.m4(steps, values, buckets, lo, span), total
    kinds, sizes, matrix, counts = preaggregates.unsummarize([found[i] for i in usable])
    window_steps, window_values, window_weights = _window_points(np.repeat(kinds, sizes), matrix, counts, integer)
    offsets = np.concatenate(([0], np.cumsum(sizes) * 4)).tolist()  # summarized block k: [offsets[k], offsets[k+1])
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    k, stretch = 0, 0  # summarized blocks in a row share one slice of the window points
    for i in range(len(rows) + 1):
        if k < len(usable) and usable[k] == i:
            k += 1
            continue
        if stretch < k:
            a, b = offsets[stretch], offsets[k]
            parts.append((window_steps[a:b], window_values[a:b], window_weights[a:b]))
        stretch = k
        if i in points:
            parts.append((*points[i], np.ones(len(points[i][0]), np.int64)))
    steps, values, weights = (np.concatenate(c) for c in zip(*parts))
    return preaggregates.m4(steps, values, buckets, lo, span, weights), total


def _crossed(rows: Sequence[Any], bounds: list[tuple[int, int]], buckets: int, min_step: int | None,
             max_step: int | None) -> int:
    """About how many blocks hold a bucket edge (the range taken from the blocks' step bounds, before any
    block is decoded to find its exact ends): only a guess of which way is quicker."""
    lo = bounds[0][0] if min_step is None else min_step
    span = (bounds[-1][1] if max_step is None else max_step) - lo + 1
    firsts = np.array([row.first_step for row in rows], np.int64)
    lasts = np.array([row.last_step for row in rows], np.int64)
    return int((preaggregates.bucket_index(firsts, buckets, lo, span)
                != preaggregates.bucket_index(lasts, buckets, lo, span)).sum())


def _which(rows: Sequence[Any], which: list[int], segment: Any, block_no: Any) -> Any:
    """SQL condition: the blocks ``rows[i]`` for i in ``which`` (one IN list per segment: cheap to compile)."""
    by_segment: dict[int, list[int]] = {}
    for i in which:
        by_segment.setdefault(rows[i].segment, []).append(rows[i].block_no)
    return or_(*(and_(segment == s, block_no.in_(nos)) for s, nos in by_segment.items()))


def _summaries(conn: Connection, run_pk: int, rows: Sequence[Any], which: list[int]) -> dict[int, bytes]:
    """The stored summaries of the blocks ``rows[i]`` for i in ``which`` (absent: none stored)."""
    if not which:
        return {}
    ss = series_summaries.c
    wanted = {(rows[i].segment, rows[i].block_no): i for i in which}
    found = conn.execute(select(ss.segment, ss.block_no, ss.data).where(
        ss.run_pk == run_pk, ss.key_id == rows[which[0]].key_id, _which(rows, which, ss.segment, ss.block_no))).all()
    return {wanted[segment, block_no]: data for segment, block_no, data in found}


def _blocks(conn: Connection, run_pk: int, rows: Sequence[Any], which: list[int]) -> list[tuple[int, bytes]]:
    """(i, data) of the blocks ``rows[i]`` for i in ``which``, fetched in one query."""
    if not which:
        return []
    sb = series_blocks.c
    wanted = {(rows[i].segment, rows[i].block_no): i for i in which}
    found = conn.execute(select(sb.segment, sb.block_no, sb.data).where(
        sb.run_pk == run_pk, sb.key_id == rows[which[0]].key_id, _which(rows, which, sb.segment, sb.block_no))).all()
    return [(wanted[segment, block_no], data) for segment, block_no, data in found]


def _decode(conn: Connection, run_pk: int, rows: Sequence[Any], which: list[int], bounds: list[tuple[int, int]],
            dtype: type) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Visible points of the blocks ``rows[i]`` for i in ``which``."""
    points: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for i, data in _blocks(conn, run_pk, rows, which):
        steps, values = series._decode(data)
        a, b = bounds[i]
        cut = slice(int(np.searchsorted(steps, a)), int(np.searchsorted(steps, b, side="right")))
        points[i] = (steps[cut], values[cut].astype(dtype, copy=False))
    return points


def _window_points(kinds: np.ndarray, matrix: np.ndarray, counts: np.ndarray,
                   integer: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Four points per window (first, min, max, last, in step order), the first carrying the window's count;
    ``kinds``: per window, whether its block holds int64 values."""
    steps = matrix[:, [0, 2, 3, 1]]
    bits = matrix[:, [4, 6, 7, 5]]
    if integer:
        values = bits
    else:  # float64 bits, or int64 values of blocks stored before the key's first float
        values = np.where(kinds[:, None], bits.astype(np.float64), np.ascontiguousarray(bits).view(np.float64))
    weights = np.zeros(steps.shape, np.int64)
    weights[:, 0] = counts
    order = np.argsort(steps, axis=1, kind="stable")  # the first point sorts first, even among equal steps
    pick = lambda a: np.take_along_axis(a, order, axis=1).reshape(-1)  # noqa: E731
    return pick(steps), pick(values), pick(weights)
