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
(one row per block and level), about ``buckets`` windows per run. Decoding a block and windowing its
points gives the same answer bit for bit (``tests/unit/test_preaggregates.py``), so a block whose
summary is missing, or unusable (int64 values of a key that later turned float, beyond 2^53), is
decoded. Where segments overlap (``read`` lets the later one win a step) the chart is the M4 of
every point.

The runs of one chart are read together (``downsampled_runs``): one query for all their blocks' step
bounds, one per level in use for the summaries, one for the blocks to decode, whatever the number
of runs (per-run queries cost more than the reading at 100 runs).
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, false, or_, select, text

from tracklet.server.store import preaggregates, series
from tracklet.server.store.schema import series_blocks, series_keys, series_summaries

Columns = dict[str, np.ndarray]
_CHUNK = 1000  # blocks named in one query (SQL parameter limits)


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
    return downsampled_runs(conn, key, [(run_pk, visible_until)], buckets, min_step, max_step, level=level,
                            summaries=summaries)[0]


class _Run:
    """One run's visible blocks of the key (arrays, in segment and block order) and what to read of them."""

    def __init__(self, pk: int, rows: Sequence[Any], visible_until: series.Visibility, min_step: int | None,
                 max_step: int | None) -> None:
        self.pk = pk
        self.by_points = False
        columns = list(zip(*rows)) if rows else [()] * 8
        self.integer = bool(columns[1][0]) if rows else False
        key_id, segment, block_no, first, last, n = (np.array(c, np.int64) for c in columns[2:8])
        keep = np.zeros(len(rows), bool)
        upper = np.zeros(len(rows), np.int64)
        for seg in np.unique(segment).tolist():  # a few segments: rewinds and forks
            if seg not in visible_until:
                continue
            hi = series._upper(visible_until[seg], max_step)
            this = segment == seg
            if hi is not None:
                upper[this] = np.minimum(last[this], hi)
                this &= first <= hi
            else:
                upper[this] = last[this]
            keep |= this
        self.key_id, self.segment, self.block_no = key_id[keep], segment[keep], block_no[keep]
        self.first, self.last, self.n = first[keep], last[keep], n[keep]
        self.a = self.first if min_step is None else np.maximum(self.first, min_step)  # visible steps [a, b]
        self.b = upper[keep]
        if not len(self.a) or (self.a > self.b).any() or (self.b[:-1] >= self.a[1:]).any():
            # nothing in view (read() knows the key's type), an empty range, or segments that overlap
            # (read() lets the later one win a step)
            self.by_points = True
        self.level = 1
        self.full = np.zeros(len(self.a), bool)  # wholly visible full blocks: cut into windows
        self.found = np.zeros(len(self.a), bool)  # ... whose summary was read
        self.windows: preaggregates.Windows = {}
        self.points: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def plan(self, buckets: int, level: int | None) -> None:
        if self.by_points or int(self.n.sum()) <= buckets:
            return  # level 1: every point on its own
        if level is None:  # the visible points, about: a cut block counts for the share of its steps in view
            estimate = float((self.n * (self.b - self.a + 1) / (self.last - self.first + 1)).sum())
            level = preaggregates.level_for(estimate, buckets)
        self.level = level
        if level > 1:
            self.full = (self.n == series.BLOCK_SIZE) & (self.a == self.first) & (self.b == self.last)

    def answer(self, buckets: int, min_step: int | None, max_step: int | None) -> tuple[Columns, int]:
        per_block = -(-series.BLOCK_SIZE // self.level)
        parts: list[preaggregates.Windows] = []
        taken = 0  # summarized blocks so far (their windows lie in order in self.windows)
        previous = 0
        for i in [*np.flatnonzero(~self.found).tolist(), len(self.found)]:
            if i > previous:  # blocks previous..i-1 are summarized
                a, b = taken * per_block, (taken + i - previous) * per_block
                parts.append({name: column[a:b] for name, column in self.windows.items()})
                taken += i - previous
            previous = i + 1
            if i in self.points:
                steps, values = self.points[i]
                parts.append(preaggregates.windows_of(steps, values, self.level if self.full[i] else 1))
        dtype = np.int64 if self.integer else np.float64
        if not parts:
            parts.append(preaggregates.of_points(np.empty(0, np.int64), np.empty(0, dtype)))
        joined = {name: np.concatenate([part[name] for part in parts]) for name in preaggregates.FIELDS}
        total = int(joined["count"].sum())
        if total <= buckets:
            if self.level > 1:  # windows stand for points: read them (rare: cut blocks held fewer than guessed)
                raise _Reread
            return series.downsample(joined["first_step"], joined["first"], buckets), total
        lo = int(joined["first_step"][0]) if min_step is None else min_step
        hi = int(joined["last_step"][-1]) if max_step is None else max_step
        return preaggregates.group(joined, buckets, lo, hi - lo + 1), total


class _Reread(Exception):
    """Fewer points in view than buckets after all: each is its own bucket, so they are read."""


def downsampled_runs(
    conn: Connection,
    key: str,
    runs: Sequence[tuple[int, series.Visibility]],
    buckets: int,
    min_step: int | None = None,
    max_step: int | None = None,
    *,
    level: int | None = None,
    summaries: bool = True,
) -> list[tuple[Columns, int]]:
    """``downsampled`` for several (run_pk, visible_until) at once, in a few queries; answers in that order."""
    if buckets < 1:
        raise ValueError("buckets must be at least 1")
    if not runs:
        return []
    sk, sb = series_keys.c, series_blocks.c
    query = (select(sb.run_pk, sk.integer, sb.key_id, sb.segment, sb.block_no, sb.first_step, sb.last_step, sb.count)
             .select_from(series_keys.join(series_blocks, and_(sb.run_pk == sk.run_pk, sb.key_id == sk.key_id)))
             .where(sk.key == key, sk.run_pk.in_(sorted({pk for pk, _ in runs}))))
    query = _in_range(query, sb, min_step, max_step).order_by(sb.run_pk, sb.key_id, sb.segment, sb.block_no)
    rows = _fetch(conn, query)
    by_run: dict[int, list[Any]] = {}
    for pk, group in itertools.groupby(rows, key=operator.itemgetter(0)):
        by_run[pk] = list(group)
    plans = [_Run(pk, by_run.get(pk, []), visible, min_step, max_step) for pk, visible in runs]
    for plan in plans:
        plan.plan(buckets, level)

    if summaries:
        for size in sorted({plan.level for plan in plans if plan.full.any()}):
            _read_level(conn, key, [plan for plan in plans if plan.level == size], size, min_step, max_step)
    _read_points(conn, plans)

    answers = []
    for plan, (pk, visible) in zip(plans, runs):
        if plan.by_points:
            answers.append(_from_points(conn, pk, key, visible, buckets, min_step, max_step))
            continue
        try:
            answers.append(plan.answer(buckets, min_step, max_step))
        except _Reread:
            answers.append(_from_points(conn, pk, key, visible, buckets, min_step, max_step))
    return answers


def _in_range(query: Any, c: Any, min_step: int | None, max_step: int | None) -> Any:
    if min_step is not None:
        query = query.where(c.last_step >= min_step)
    if max_step is not None:
        query = query.where(c.first_step <= max_step)
    return query


def _read_level(conn: Connection, key: str, plans: list[_Run], size: int, min_step: int | None,
                max_step: int | None) -> None:
    """One level of the summaries of the plans' full blocks (one query), decoded into ``plan.windows``."""
    plans = [plan for plan in plans if plan.full.any()]
    if not plans:
        return
    ss, sk, sb = series_summaries.c, series_keys.c, series_blocks.c
    source = series_keys.join(series_summaries, and_(ss.run_pk == sk.run_pk, ss.key_id == sk.key_id, ss.level == size))
    if min_step is not None or max_step is not None:  # only blocks in range: their bounds are in series_blocks
        source = source.join(series_blocks, and_(sb.run_pk == ss.run_pk, sb.key_id == ss.key_id,
                                                 sb.segment == ss.segment, sb.block_no == ss.block_no))
    query = select(ss.run_pk, ss.segment, ss.block_no, ss.data).select_from(source).where(
        sk.key == key, sk.run_pk.in_(sorted({plan.pk for plan in plans})))
    found = _fetch(conn, _in_range(query, sb, min_step, max_step))
    if not found:
        return
    run_pk, segment, block_no, data = zip(*found)
    runs = np.array(run_pk, np.int64)
    where = np.array(segment, np.int64) * 2**32 + np.array(block_no, np.int64)  # (segment, block_no) as one key
    order = np.lexsort((where, runs))  # sorted here: an ORDER BY made PostgreSQL sort on disk (work_mem)
    if (order[1:] < order[:-1]).any():
        runs, where, data = runs[order], where[order], tuple(data[i] for i in order.tolist())
    per_block = -(-series.BLOCK_SIZE // size)
    for integer in (False, True):  # one decoding pass for the float keys' runs, one for the int keys'
        mine = [plan for plan in plans if plan.integer == integer]
        blobs: list[bytes] = []
        firsts, lasts, picked = [], [], []
        for plan in mine:
            lo, hi = np.searchsorted(runs, plan.pk), np.searchsorted(runs, plan.pk, side="right")
            keys = where[lo:hi]
            which = np.flatnonzero(plan.full)
            asked = plan.segment[which] * 2**32 + plan.block_no[which]
            at = np.searchsorted(keys, asked).clip(0, max(len(keys) - 1, 0))
            hit = keys[at] == asked if len(keys) else np.zeros(len(which), bool)
            picked.append(which[hit])
            blobs += [data[lo + j] for j in at[hit].tolist()]
            firsts.append(plan.first[which[hit]])
            lasts.append(plan.last[which[hit]])
        if not blobs:
            continue
        windows, exact = preaggregates.decode_level(blobs, np.concatenate(firsts), np.concatenate(lasts),
                                                    series.BLOCK_SIZE, size, as_float=not integer)
        offset = 0
        for plan, blocks in zip(mine, picked):
            ok = exact[offset : offset + len(blocks)]  # a block whose summary cannot stand in is decoded
            plan.found[blocks[ok]] = True
            rows = (offset + np.flatnonzero(ok)) if not ok.all() else None
            part = slice(offset * per_block, (offset + len(blocks)) * per_block)
            plan.windows = {name: (column[part] if rows is None else
                                   column.reshape(-1, per_block)[rows].reshape(-1)) for name, column in windows.items()}
            offset += len(blocks)


def _fetch(conn: Connection, query: Any) -> list[tuple[Any, ...]]:
    """The rows as the database driver gives them: tens of thousands of rows are read per chart, and
    SQLAlchemy's row objects measured as a third of the time (the columns here need no conversion)."""
    return list(conn.execute(query).cursor.fetchall())


def _read_points(conn: Connection, plans: list[_Run]) -> None:
    """The visible points of every block of the plans that no summary stands for (one query per chunk)."""
    sb = series_blocks.c
    todo = [(plan, i) for plan in plans if not plan.by_points for i in np.flatnonzero(~plan.found).tolist()]
    for lo in range(0, len(todo), _CHUNK):
        chunk = todo[lo : lo + _CHUNK]
        names = {(plan.pk, int(plan.key_id[i]), int(plan.segment[i]), int(plan.block_no[i])): (plan, i)
                 for plan, i in chunk}
        found = _fetch(conn, select(sb.run_pk, sb.key_id, sb.segment, sb.block_no, sb.data).where(_blocks(names)))
        for run_pk, key_id, segment, block_no, data in found:
            plan, i = names[run_pk, key_id, segment, block_no]
            steps, values = series._decode(data)
            cut = slice(int(np.searchsorted(steps, plan.a[i])), int(np.searchsorted(steps, plan.b[i], side="right")))
            plan.points[i] = (steps[cut], values[cut].astype(np.int64 if plan.integer else np.float64, copy=False))


def _blocks(names: Collection[tuple[int, int, int, int]]) -> Any:
    """SQL condition: these (run_pk, key_id, segment, block_no), as one primary-key lookup per series.
    Integers written into the SQL: a row-value IN list of parameters made SQLite scan the whole table,
    and an OR of a hundred bound conditions costs more to compile than to run."""
    series_of: dict[tuple[int, int, int], list[int]] = {}
    for run_pk, key_id, segment, block_no in names:
        series_of.setdefault((run_pk, key_id, segment), []).append(block_no)
    return or_(false(), *(text("(series_blocks.run_pk = %d AND series_blocks.key_id = %d AND series_blocks.segment = %d"
                               " AND series_blocks.block_no IN (%s))" % (*where, ",".join("%d" % no for no in nos)))
                          for where, nos in series_of.items()))


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
