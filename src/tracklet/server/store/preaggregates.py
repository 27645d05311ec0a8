"""M4 reduction (first, last, min, max with their steps, and count) of groups of points or of windows,
and the per-window pre-aggregates stored for each full history block. Pure numpy: no database here
(``store/charts.py`` reads them).

A full block of ``series_blocks`` gets a ``series_summaries`` row for each of the ``LEVELS`` (4,096,
1,024, 256 and 64 points) holding the M4 of every window of that many consecutive points (by
position in the block). A chart reads the one level whose
windows are about as wide as its buckets: ~1,000 windows for a 1,000-bucket chart of 1M steps,
whatever the length of the run, and none of the points. Layout of a level (little-endian)::

    level   = flags: u8 | values | steps
    flags   = bit 0: the values are int64 (else float64 bits) | bit 1: steps are stored (else regular)
    values  = first[W], last[W], min[W], max[W]: 8 bytes each, W = the block's windows at this level
    steps   = regular steps (step = block first_step + position · stride):
                  min_offset[W], max_offset[W]: u16, the point's position in its window
              other steps: first_step[W], last_step[W], min_step[W], max_step[W]: i64

36 bytes per window for regular steps (0.75 bytes per point over the four levels), 64 for others;
a window's first and last steps, and its count, follow from the block's first step, stride and count.

Why reducing windows gives exactly the reduction of their points: a group's first and last points
are the first of its first window and the last of its last; its min is the least window min (NaN
skipped unless all are NaN); and the *first* point equal to it lies in the first window whose min
equals it, at that window's min step, because each window records its first point equal to its min.
The same holds for max. Values are reported as the point's own value (so the sign of a zero and a
NaN's bits are the point's, whichever order numpy reduces in).
"""

from __future__ import annotations

import numpy as np

LEVELS = (4096, 1024, 256, 64)  # points per window, coarsest first
FIELDS = ("first_step", "last_step", "min_step", "max_step", "first", "last", "min", "max", "count")
_INT, _STEPS = 1, 2  # flags
# A chart takes the coarsest level whose windows number at least this share of its buckets
# (so a 1,000-bucket chart of 1M points reads ~980 windows of 1,024 rather than ~3,900 of 256).
ENOUGH = 0.8

Windows = dict[str, np.ndarray]  # FIELDS → one array each, one element per window


def of_points(steps: np.ndarray, values: np.ndarray, counts: np.ndarray | None = None) -> Windows:
    """Each point as a window of its own (no copies)."""
    return {"first_step": steps, "last_step": steps, "min_step": steps, "max_step": steps, "first": values,
            "last": values, "min": values, "max": values,
            "count": np.ones(len(steps), np.int64) if counts is None else counts}  # fmt: skip


def combine(windows: Windows, starts: np.ndarray) -> Windows:
    """M4 of each group of consecutive windows beginning at ``starts`` (increasing, the first 0).

    A group's min (max) is the first point equal to its least (greatest) non-NaN value, or its first
    point when every value is NaN; its value is that point's value."""
    n = len(windows["first"])
    if n == 0:
        return {name: column[:0] for name, column in windows.items()}
    lengths = np.diff(starts, append=n)
    ends = starts + lengths - 1
    mins, maxs = windows["min"], windows["max"]
    # fmin/fmax skip NaN: a group's min/max is NaN only when all its values are NaN
    least, greatest = np.fmin.reduceat(mins, starts), np.fmax.reduceat(maxs, starts)

    def first_at(column: np.ndarray, extreme: np.ndarray) -> np.ndarray:
        """Index of each group's first window whose `column` equals `extreme` (only NaN: its first one)."""
        hit = column == np.repeat(extreme, lengths)
        if column.dtype.kind == "f":
            only_nan = np.isnan(extreme)
            if only_nan.any():
                hit |= np.repeat(only_nan, lengths)
        hits = np.flatnonzero(hit)  # every group has one, so the first hit from a group's start is in it
        return hits[np.searchsorted(hits, starts)]

    at_min, at_max = first_at(mins, least), first_at(maxs, greatest)
    return {
        "first_step": windows["first_step"][starts], "last_step": windows["last_step"][ends],
        "min_step": windows["min_step"][at_min], "max_step": windows["max_step"][at_max],
        "first": windows["first"][starts], "last": windows["last"][ends], "min": mins[at_min], "max": maxs[at_max],
        "count": np.add.reduceat(windows["count"], starts).astype(np.int64),
    }  # fmt: skip


def bucket_index(steps: np.ndarray, buckets: int, lo: int, span: int) -> np.ndarray:
    """Bucket of each step when [lo, lo + span) is cut into ``buckets`` equal parts (non-decreasing in step)."""
    index = steps - lo  # a new array; in place from here: fewer big temporaries is measurably faster
    if span * buckets < 2**62:  # integer arithmetic cannot overflow
        index *= buckets
        index //= span
        return index
    return (index * (buckets / span)).astype(np.int64).clip(0, buckets - 1)


def group(windows: Windows, buckets: int, lo: int, span: int) -> dict[str, np.ndarray]:
    """The chart's buckets: consecutive windows whose first step falls in the same one of ``buckets`` equal
    parts of [lo, lo + span) form a bucket; ``bucket_start`` is the first step of its first window."""
    index = bucket_index(windows["first_step"], buckets, lo, span)
    starts = np.concatenate(([0], np.flatnonzero(index[1:] != index[:-1]) + 1)) if len(index) else index[:0]
    out = combine(windows, starts)
    return {"bucket_start": out["first_step"], "first_step": out["first_step"], "first": out["first"],
            "last_step": out["last_step"], "last": out["last"], "min_step": out["min_step"], "min": out["min"],
            "max_step": out["max_step"], "max": out["max"], "count": out["count"]}  # fmt: skip


def reduce(steps: np.ndarray, values: np.ndarray, starts: np.ndarray,
           weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """M4 of each group of consecutive points beginning at ``starts`` (increasing, the first 0); ``weights``:
    how many stored points each given point stands for (1 each when None)."""
    return combine(of_points(steps, values, weights), starts)


def m4(steps: np.ndarray, values: np.ndarray, buckets: int, lo: int, span: int,
       weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Exact M4 per non-empty equal-width bucket of [lo, lo + span), with each bucket's first step (its
    edge): ``series.downsample``, a chart of every point with no windows."""
    index = bucket_index(steps, buckets, lo, span)
    starts = np.concatenate(([0], np.flatnonzero(index[1:] != index[:-1]) + 1))
    number = index[starts]  # each bucket's first step: the least s with (s - lo) * buckets // span = number
    if span * buckets < 2**62:
        first_steps = (number * span + buckets - 1) // buckets
    else:
        first_steps = np.ceil(number * (span / buckets)).astype(np.int64)
    out = reduce(steps, values, starts, weights)
    return {"bucket_start": lo + first_steps.astype(np.int64), "first_step": out["first_step"], "first": out["first"],
            "last_step": out["last_step"], "last": out["last"], "min_step": out["min_step"], "min": out["min"],
            "max_step": out["max_step"], "max": out["max"], "count": out["count"]}  # fmt: skip


def level_for(points: float, buckets: int) -> int:
    """Points per window of the coarsest stored level with enough windows for ``buckets`` (1: every point)."""
    for size in LEVELS:
        if points / size >= ENOUGH * buckets:
            return size
    return 1


# --- the stored summary of a block ----------------------------------------------------------------


def windows_of(steps: np.ndarray, values: np.ndarray, size: int) -> Windows:
    """M4 of each window of ``size`` consecutive points (the last one may hold fewer)."""
    if size == 1:
        return of_points(steps, values)
    return combine(of_points(steps, values), np.arange(0, len(steps), size))


def encode_level(steps: np.ndarray, values: np.ndarray, size: int) -> bytes:
    """One level of a block's pre-aggregates (int64 or float64 values, steps increasing)."""
    is_int = values.dtype.kind == "i"
    w = windows_of(steps, values, size)
    deltas = np.diff(steps)
    regular = len(deltas) == 0 or bool((deltas == deltas[0]).all())
    parts = [bytes([(_INT if is_int else 0) | (0 if regular else _STEPS)])]
    parts += [np.ascontiguousarray(w[name]).astype("<i8" if is_int else "<f8").tobytes()
              for name in ("first", "last", "min", "max")]
    if regular:
        starts = np.arange(0, len(steps), size)
        for name in ("min_step", "max_step"):  # the point's position in its window
            parts.append((np.searchsorted(steps, w[name]) - starts).astype("<u2").tobytes())
    else:
        parts += [w[name].astype("<i8").tobytes() for name in ("first_step", "last_step", "min_step", "max_step")]
    return b"".join(parts)


def summary_rows(where: dict[str, int], steps: np.ndarray, values: np.ndarray) -> list[dict[str, object]]:
    """The ``series_summaries`` rows of one full block: ``where`` (its run_pk, key_id, segment and
    block_no) with each level and its data."""
    return [where | {"level": size, "data": encode_level(steps, values, size)} for size in LEVELS]


def decode_level(data: list[bytes], first_steps: np.ndarray, last_steps: np.ndarray, count: int, size: int,
                 as_float: bool) -> tuple[Windows, np.ndarray]:
    """The windows of several blocks of ``count`` points each at one level, in order, in one pass per layout,
    and whether each block's windows stand exactly for its points: ``first_steps``/``last_steps``: each
    block's; ``as_float``: values as float64 (a float key's int64 blocks, stored before its first float,
    converted: exact only when every value is below 2^53, else two could become equal), else int64."""
    per_block = -(-count // size)
    out = {name: np.empty((len(data), per_block), np.float64 if as_float and name in ("first", "last", "min", "max")
                          else np.int64) for name in FIELDS}  # fmt: skip
    starts = np.arange(per_block, dtype=np.int64) * size
    out["count"][:] = np.minimum(size, count - starts)
    exact = np.ones(len(data), bool)
    lengths = np.array([len(d) for d in data], np.int64)
    for length in np.unique(lengths).tolist():
        which = np.flatnonzero(lengths == length)
        raw = np.frombuffer(b"".join(data[i] for i in which.tolist()), np.uint8).reshape(len(which), length)
        flags = raw[:, 0]
        bits = np.ascontiguousarray(raw[:, 1 : 1 + 32 * per_block]).view("<i8").reshape(len(which), 4, per_block)
        is_int = (flags & _INT).astype(bool)
        if as_float and is_int.any():
            beyond = (bits[:, 2, :] <= -(2**53)).any(axis=1) | (bits[:, 3, :] >= 2**53).any(axis=1)  # min, max
            exact[which] = ~is_int | ~beyond
        for k, name in enumerate(("first", "last", "min", "max")):
            column = bits[:, k, :]
            if as_float:
                floats = column.view("<f8").copy()
                floats[is_int] = column[is_int].astype(np.float64)
                out[name][which] = floats
            else:
                out[name][which] = column
        tail = raw[:, 1 + 32 * per_block :]
        if flags[0] & _STEPS:  # one length, one layout (a regular and an irregular block never share a length)
            steps = np.ascontiguousarray(tail).view("<i8").reshape(len(which), 4, per_block)
            for k, name in enumerate(("first_step", "last_step", "min_step", "max_step")):
                out[name][which] = steps[:, k, :]
        else:
            offsets = np.ascontiguousarray(tail).view("<u2").reshape(len(which), 2, per_block).astype(np.int64)
            first = first_steps[which, None]
            stride = (last_steps[which] - first_steps[which])[:, None] // max(count - 1, 1)
            out["first_step"][which] = first + starts * stride
            out["last_step"][which] = first + (starts + out["count"][0] - 1) * stride
            out["min_step"][which] = first + (starts + offsets[:, 0, :]) * stride
            out["max_step"][which] = first + (starts + offsets[:, 1, :]) * stride
    return {name: column.reshape(-1) for name, column in out.items()}, exact
