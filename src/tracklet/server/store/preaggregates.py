"""M4 reduction (first, last, min, max with their steps, and count) and the per-window pre-aggregates
of history blocks built from it. Pure numpy: no database here (``store/charts.py`` reads them).

A full block of ``series_blocks`` gets a ``series_summaries`` row: the M4 reduction of each
``WINDOW`` consecutive points (by position in the block), so a chart bucket that holds whole
windows is reduced from those few points without decoding the block. Layout (little-endian)::

    summary = kind: u8 | count: u32 (5 bytes) | a (windows, 8) i64 matrix, row by row
    columns = first_step, last_step, min_step, max_step, first, last, min, max
    kind    = 0: the value columns hold float64 bits | 1: int64 values

The matrix is stored as is: 64 bytes per 64 points (1 byte per point) that a chart reads with one
join of all blocks' matrices and no inflating; byte-shuffled and DEFLATEd it took 0.56 bytes per
point but made charts slower than decoding every point. Window w holds points
[w·WINDOW, (w+1)·WINDOW) of the block; only the last one may hold fewer.

Why reducing the aggregates gives exactly the reduction of the points: a bucket's first and last
points are the first of its first window and the last of its last; its min is the least window
min (NaN skipped unless all are NaN); and the *first* point equal to it lies in the first window
whose min equals it, at that window's min step, because each window records its first point
equal to its min. The same holds for max. Values are reported as the point's own value (so the
sign of a zero and a NaN's bits are the point's, whichever order numpy reduces in).
"""

from __future__ import annotations

import struct

import numpy as np

WINDOW = 64
_HEADER = struct.Struct("<BI")
ROWS = ("first_step", "last_step", "min_step", "max_step", "first", "last", "min", "max")


def reduce(steps: np.ndarray, values: np.ndarray, starts: np.ndarray,
           weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """M4 of each group of consecutive points beginning at ``starts`` (increasing, the first 0).

    ``weights``: how many stored points each given point stands for (1 each when None); a group's
    count is their sum. The min (max) is the group's first point equal to the least (greatest)
    non-NaN value, or its first point when every value is NaN; its value is that point's value."""
    n = len(steps)
    lengths = np.diff(starts, append=n)
    ends = starts + lengths - 1
    # fmin/fmax skip NaN: a group's min/max is NaN only when all its values are NaN
    mins, maxs = np.fmin.reduceat(values, starts), np.fmax.reduceat(values, starts)
    only_nan = np.isnan(mins) if values.dtype.kind == "f" else None

    def first_at(extreme: np.ndarray) -> np.ndarray:
        """Index of each group's first point equal to its `extreme` (an only-NaN group: its first point)."""
        hit = values == np.repeat(extreme, lengths)
        if only_nan is not None and only_nan.any():
            hit |= np.repeat(only_nan, lengths)
        hits = np.flatnonzero(hit)  # every group has one, so the first hit from a group's start is in it
        return hits[np.searchsorted(hits, starts)]

    at_min, at_max = first_at(mins), first_at(maxs)
    counts = lengths if weights is None else np.add.reduceat(weights, starts)
    return {
        "first_step": steps[starts], "first": values[starts], "last_step": steps[ends], "last": values[ends],
        "min_step": steps[at_min], "min": values[at_min], "max_step": steps[at_max], "max": values[at_max],
        "count": counts.astype(np.int64),
    }  # fmt: skip


def bucket_index(steps: np.ndarray, buckets: int, lo: int, span: int) -> np.ndarray:
    """Bucket of each step when [lo, lo + span) is cut into ``buckets`` equal parts (non-decreasing in step)."""
    index = steps - lo  # a new array; in place from here: fewer big temporaries is measurably faster
    if span * buckets < 2**62:  # integer arithmetic cannot overflow
        index *= buckets
        index //= span
        return index
    return (index * (buckets / span)).astype(np.int64).clip(0, buckets - 1)


def m4(steps: np.ndarray, values: np.ndarray, buckets: int, lo: int, span: int,
       weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """M4 per non-empty bucket of [lo, lo + span) cut into ``buckets``, with each bucket's first step."""
    index = bucket_index(steps, buckets, lo, span)
    starts = np.concatenate(([0], np.flatnonzero(index[1:] != index[:-1]) + 1))
    number = index[starts]  # each bucket's first step: the least s with (s - lo) * buckets // span = number
    if span * buckets < 2**62:
        first_steps = (number * span + buckets - 1) // buckets
    else:
        first_steps = np.ceil(number * (span / buckets)).astype(np.int64)
    return {"bucket_start": lo + first_steps.astype(np.int64)} | reduce(steps, values, starts, weights)


# --- the stored summary of a block ----------------------------------------------------------------


def summarize(steps: np.ndarray, values: np.ndarray) -> bytes:
    """The stored pre-aggregates of one block's points (int64 or float64 values, steps increasing)."""
    is_int = values.dtype.kind == "i"
    windows = reduce(steps, values, np.arange(0, len(steps), WINDOW))
    matrix = np.stack([windows[row] if row.endswith("_step") or is_int else windows[row].view(np.int64)
                       for row in ROWS], axis=1).astype("<i8")  # (windows, 8): window-major
    return _HEADER.pack(is_int, len(steps)) + matrix.tobytes()


def summary_columns(steps: np.ndarray, values: np.ndarray) -> dict[str, bytes]:
    """The ``series_summaries`` columns of one full block (beside its key columns)."""
    return {"data": summarize(steps, values)}


def unsummarize(summaries: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Several blocks' summaries at once: whether each block's values are int64, how many windows each
    has, and for all their windows in order the (windows, 8) int64 matrix of ``ROWS`` and point counts."""
    kinds, sizes, counts, matrices = [], [], [], []
    for data in summaries:
        is_int, count = _HEADER.unpack_from(data)
        kinds.append(is_int)
        sizes.append(-(-count // WINDOW))
        counts.append(count)
        matrices.append(memoryview(data)[_HEADER.size :])
    windows = np.array(sizes, np.int64)
    matrix = np.frombuffer(b"".join(matrices), "<i8").reshape(-1, 8)
    per_window = np.full(int(windows.sum()), WINDOW, np.int64)
    per_window[np.cumsum(windows) - 1] = np.array(counts, np.int64) - WINDOW * (windows - 1)  # the last ones
    return np.array(kinds, bool), windows, matrix, per_window
