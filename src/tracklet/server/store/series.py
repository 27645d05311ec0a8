"""Columnar storage of run history ("series") and its min/max-preserving downsampling (M4).

Each numeric key of a run is a series of (step, value) points, stored per (run, key, segment)
in ``series_blocks`` rows of up to ``BLOCK_SIZE`` points. Blocks cover disjoint, increasing step
ranges, so ``first_step`` / ``last_step`` let a reader fetch just the blocks it needs. A series is
full blocks followed by at most ``TAIL_BLOCKS`` small ones (up to one and a half blocks' worth of
points in all): an append adds a small block rather than rewriting the last one, and the small ones
are merged from time to time (see ``append``). Non-numeric values live in
``history_objects``, one MessagePack blob per (segment, step, key). Each full block also has a
``series_summaries`` row (per-window pre-aggregates, see ``preaggregates.py``) for charts.

Block ``data`` layout (integers little-endian)::

    data   = kind: u8 | count: u32 | first: i64 | stride: i64 (21 bytes) | [deltas] | plane × 8
    kind   = bit 0: values are int64 (else float64) | bit 1: the plain layout (below)
    stride > 0: the steps are first + i·stride (regular steps need no stream at all)
    stride = 0: a `deltas` stream follows: steps[i+1] - steps[i] as (count - 1) × i64
    plane  = stream of byte k (k = 0..7) of every value's 8-byte encoding, in step order
    stream = head: u32 | payload, head = mode << 30 | len(payload)
             mode 0: the bytes | 1: raw DEFLATE of the bytes (RFC 1951) | 2: one byte, repeated
    plain  = the same header, then [deltas as (count - 1) × i64] | the values as count × 8 bytes

Splitting values into byte planes ("byte shuffle") puts sign/exponent bytes together, where
zlib finds repetition (a constant plane costs 5 bytes); planes that zlib cannot shrink by 20%
are stored raw, because inflating them would cost more read time than the disk it saves. Small
blocks are merged soon, so they are stored in the plain layout: no DEFLATE, no planes, copied
as they are on write and read (blocks written before it, with planes and no DEFLATE, still read).
Values keep their exact bits (NaN payloads, -0.0).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import msgpack
import numpy as np
from sqlalchemy import Column, ColumnElement, Connection, Integer, and_, bindparam, case, delete, false, func, insert, or_, select, tuple_, update

from tracklet.runlog import media_type
from tracklet.server.store import preaggregates
from tracklet.server.store.schema import history_objects, series_blocks, series_keys, series_summaries

BLOCK_SIZE = 4096
# The most small blocks a series may end with before they are merged (see _merge_limits).
TAIL_BLOCKS = 64
_HEADER = struct.Struct("<BIqq")
_HEAD = struct.Struct("<I")
_ZLIB, _REPEAT = 1, 2  # stream modes (0: raw)
_INT, _PLAIN = 1, 2  # bits of a block's kind
_EMPTY_STEPS = np.empty(0, np.int64)

Columns = Mapping[str, tuple[Sequence[int] | np.ndarray, Sequence[float | int] | np.ndarray]]
Visibility = dict[int, int | None]  # segment → last visible step (None: all); absent: hidden


# --- block encoding ------------------------------------------------------------------------------


def _deflate(raw: bytes) -> bytes:
    """Raw DEFLATE (no zlib header), level 1: it inflates fastest."""
    packer = zlib.compressobj(1, zlib.DEFLATED, -15)
    return packer.compress(raw) + packer.flush()


def _stream(raw: bytes, deflate: bool) -> bytes:
    if raw.count(raw[:1]) == len(raw):
        return _HEAD.pack(_REPEAT << 30 | 1) + raw[:1]
    packed = _deflate(raw) if deflate else raw
    if len(packed) < 0.8 * len(raw):
        return _HEAD.pack(_ZLIB << 30 | len(packed)) + packed
    return _HEAD.pack(len(raw)) + raw


def _unstream(data: memoryview, pos: int, size: int) -> tuple[np.ndarray, int]:
    """The `size` bytes of the stream at `pos`, and the position after it."""
    (head,) = _HEAD.unpack_from(data, pos)
    mode, end = head >> 30, pos + 4 + (head & 0x3FFFFFFF)
    payload = data[pos + 4 : end]
    if mode == _REPEAT:
        return np.full(size, payload[0], np.uint8), end
    return np.frombuffer(zlib.decompress(payload, wbits=-15) if mode == _ZLIB else payload, np.uint8), end


def _encode(steps: np.ndarray, values: np.ndarray, deflate: bool) -> bytes:
    """A block's data; without ``deflate`` (a small block) in the plain layout."""
    is_int = values.dtype.kind == "i"
    deltas = np.diff(steps)
    stride = int(deltas[0]) if len(deltas) and (deltas == deltas[0]).all() else int(len(deltas) == 0)
    if not deflate:
        plain = [_HEADER.pack(_INT * is_int | _PLAIN, len(steps), int(steps[0]), stride)]
        if not stride:
            plain.append(deltas.astype("<i8").tobytes())
        plain.append(values.astype("<i8" if is_int else "<f8").tobytes())
        return b"".join(plain)
    parts = [_HEADER.pack(_INT * is_int, len(steps), int(steps[0]), stride)]
    if not stride:
        parts.append(_stream(deltas.astype("<i8").tobytes(), deflate))
    planes = np.ascontiguousarray(values.astype("<i8" if is_int else "<f8").view(np.uint8).reshape(-1, 8).T)
    parts += [_stream(plane.tobytes(), deflate) for plane in planes]
    return b"".join(parts)


def _decode_into(data: bytes | memoryview, steps: np.ndarray, raw: np.ndarray) -> bool:
    """Write a block's steps into `steps` and its values' bytes into the (count, 8) `raw`; is it int64?"""
    data = memoryview(data)
    kind, count, first, stride = _HEADER.unpack_from(data)
    pos = _HEADER.size
    if stride:
        steps[:] = np.arange(count, dtype=np.int64) * stride + first
    elif kind & _PLAIN:
        steps[0] = first
        np.cumsum(np.frombuffer(data, "<i8", count - 1, pos), out=steps[1:])
        steps[1:] += first
        pos += 8 * (count - 1)
    else:
        deltas, pos = _unstream(data, pos, 8 * (count - 1))
        steps[0] = first
        np.cumsum(deltas.view("<i8"), out=steps[1:])
        steps[1:] += first
    if kind & _PLAIN:
        raw[:] = np.frombuffer(data, np.uint8, 8 * count, pos).reshape(count, 8)
    else:
        for k in range(8):
            raw[:, k], pos = _unstream(data, pos, count)
    return bool(kind & _INT)


def _decode(data: bytes | memoryview) -> tuple[np.ndarray, np.ndarray]:
    count = _HEADER.unpack_from(data)[1]
    steps, raw = np.empty(count, np.int64), np.empty((count, 8), np.uint8)
    return steps, raw.view("<i8" if _decode_into(data, steps, raw) else "<f8").reshape(-1)


def _block_row(steps: np.ndarray, values: np.ndarray) -> dict[str, object]:
    real = values if values.dtype.kind == "i" else values[~np.isnan(values)]
    return {
        "first_step": int(steps[0]),
        "last_step": int(steps[-1]),
        "count": len(steps),
        "min": float(real.min()) if len(real) else None,  # NaN ignored; only-NaN block → NULL
        "max": float(real.max()) if len(real) else None,
        "data": _encode(steps, values, deflate=len(steps) == BLOCK_SIZE),  # the open block: rewritten soon
    }


def _as_values(values: Sequence[float | int] | np.ndarray) -> np.ndarray:
    """int64 when every value is an int that fits, else float64."""
    array = np.asarray(values)
    if array.dtype.kind in "iu" and (array.dtype.kind == "i" or not len(array) or array.max() < 2**63):
        return array.astype(np.int64)
    return array.astype(np.float64)  # floats, and ints beyond int64 (object / uint64 arrays)


# --- numeric series ------------------------------------------------------------------------------


def append(conn: Connection, run_pk: int, segment: int, columns: Columns) -> None:
    """Append points of several keys; points at already stored steps replace the stored ones.

    The usual case (new steps after the stored ones, a few at a time) costs one query and one
    multi-row insert per call whatever the number of keys: the points become a small block of their
    own at the end of the series. Once a series ends with enough small blocks, or they hold a block's
    worth of points or a little more (``_merge_limits``), they are merged (into full, compressed
    blocks with pre-aggregates and one small block for the rest), so each point is rewritten a
    bounded number of times."""
    arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for key, (steps, values) in columns.items():
        s, v = np.asarray(steps, dtype=np.int64).reshape(-1), _as_values(values).reshape(-1)
        if len(s) != len(v):
            raise ValueError(f"{key!r}: {len(s)} steps but {len(v)} values")
        if len(s) > 1 and not (np.diff(s) > 0).all():
            raise ValueError(f"{key!r}: steps must be strictly increasing within a call")
        if len(s):
            arrays[key] = (s, v)
    if not arrays:
        return
    ids = _ensure_keys(conn, run_pk, {key: v.dtype.kind == "i" for key, (_, v) in arrays.items()})
    ends = _series_ends(conn, run_pk, segment, list(ids.values()))

    merged: dict[int, int] = {}  # key_id → first block_no that is read back and rewritten
    for key, (steps, _) in arrays.items():
        end = ends.get(ids[key])  # only a series' last blocks are small
        if end is not None and steps[0] <= end.last_step:  # a re-send reaching back (rare)
            merged[ids[key]] = _first_block_from(conn, run_pk, segment, ids[key], int(steps[0]))
        elif end is not None and end.small:
            most_blocks, most_points = _merge_limits(run_pk, ids[key])
            if end.small >= most_blocks or end.points + len(steps) >= most_points:
                merged[ids[key]] = end.first_small
    stored = _points_from(conn, run_pk, segment, merged)
    if merged:
        sb, ss = series_blocks.c, series_summaries.c
        cut = [{"k": key_id, "n": block_no} for key_id, block_no in merged.items()]
        for table, c in ((series_blocks, sb), (series_summaries, ss)):
            conn.execute(delete(table).where(c.run_pk == run_pk, c.segment == segment, c.key_id == bindparam("k"),
                                             c.block_no >= bindparam("n")), cut)

    new_rows: list[dict[str, object]] = []
    summaries: list[dict[str, object]] = []
    for key, (steps, values) in arrays.items():
        key_id = ids[key]
        if key_id in merged:  # stored points merged with the new ones, re-chunked
            old_s, old_v = stored.get(key_id, (_EMPTY_STEPS, values[:0]))
            keep = ~np.isin(old_s, steps, assume_unique=True)  # the same step: the new value wins
            steps, values = np.concatenate([old_s[keep], steps]), np.concatenate([old_v[keep], values])
            order = np.argsort(steps, kind="stable")  # ~linear when already sorted (the usual case)
            steps, values = steps[order], values[order]
            start_no = merged[key_id]
        else:
            end = ends.get(key_id)
            start_no = end.top + 1 if end is not None else 0
        for i, lo in enumerate(range(0, len(steps), BLOCK_SIZE)):
            block_steps, block_values = steps[lo : lo + BLOCK_SIZE], values[lo : lo + BLOCK_SIZE]
            where = {"run_pk": run_pk, "key_id": key_id, "segment": segment, "block_no": start_no + i}
            new_rows.append(where | _block_row(block_steps, block_values))
            if len(block_steps) == BLOCK_SIZE:  # small blocks are merged soon: charts decode them
                summaries += preaggregates.summary_rows(where, block_steps, block_values)
    conn.execute(insert(series_blocks), new_rows)
    if summaries:
        conn.execute(insert(series_summaries), summaries)


def _merge_limits(run_pk: int, key_id: int) -> tuple[int, int]:
    """When a series' small blocks are merged: once there are this many (half to all of
    ``TAIL_BLOCKS``), or they hold this many points (one to one and a half blocks' worth). Varied by
    run and key, so that the runs of a sweep started together, and the keys of one run, do not all
    compact in the same request (a burst every other writer would wait behind)."""
    spread = (run_pk * 2_654_435_761 + key_id * 40_503) % 1024 / 1024
    return TAIL_BLOCKS // 2 + int(spread * (TAIL_BLOCKS // 2)), BLOCK_SIZE + int(spread * (BLOCK_SIZE // 2))


def _ends_queries() -> tuple[Any, Any]:
    """The two queries of :func:`_series_ends`, built once: building them per batch cost more than running them."""
    sk, sb, other = series_keys.c, series_blocks.c, series_blocks.alias().c
    run_pk, segment = bindparam("run_pk", type_=Integer), bindparam("segment", type_=Integer)
    key_ids = bindparam("key_ids", type_=Integer, expanding=True)
    last_no = select(func.max(other.block_no)).where(  # one index seek per key
        other.run_pk == run_pk, other.key_id == sk.key_id, other.segment == segment).scalar_subquery()
    tops = select(last_no).where(sk.run_pk == run_pk, sk.key_id.in_(key_ids))
    small = sb.count < bindparam("block_size")
    ends = (
        select(sb.key_id, func.max(sb.block_no).label("top"), func.max(sb.last_step).label("last_step"),
               func.sum(case((small, 1), else_=0)).label("small"), func.sum(case((small, sb.count), else_=0)).label("points"),
               func.min(case((small, sb.block_no))).label("first_small"))
        .where(sb.run_pk == run_pk, sb.key_id.in_(key_ids), sb.segment == segment, sb.block_no >= bindparam("from_no"))
        .group_by(sb.key_id)
    )  # fmt: skip
    return tops, ends


_TOPS, _ENDS = _ends_queries()


def _series_ends(conn: Connection, run_pk: int, segment: int, key_ids: list[int]) -> dict[int, Any]:
    """key_id → how its series ends in this segment: its last block_no (``top``) and step
    (``last_step``), and its small blocks: how many (``small``), their points (``points``) and the
    first one's block_no (``first_small``, None if there are none)."""
    where = {"run_pk": run_pk, "segment": segment, "key_ids": key_ids}
    tops = [top for top in conn.execute(_TOPS, where).scalars() if top is not None]
    if not tops:
        return {}
    # small blocks are only a series' last TAIL_BLOCKS or fewer: look no further back than that
    window = {"from_no": min(tops) - TAIL_BLOCKS, "block_size": BLOCK_SIZE}
    return {row.key_id: row for row in conn.execute(_ENDS, where | window)}


def _first_block_from(conn: Connection, run_pk: int, segment: int, key_id: int, step: int) -> int:
    """The first block of a series that holds a step at or after ``step``."""
    sb = series_blocks.c
    return int(conn.execute(select(func.min(sb.block_no)).where(
        sb.run_pk == run_pk, sb.segment == segment, sb.key_id == key_id, sb.last_step >= step)).scalar_one())


def _points_from(conn: Connection, run_pk: int, segment: int,
                 first_block: dict[int, int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """key_id → the points of its blocks from ``first_block[key_id]`` on, in one query."""
    if not first_block:
        return {}
    sb = series_blocks.c
    parts: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    rows = conn.execute(
        select(sb.key_id, sb.block_no, sb.data)
        .where(sb.run_pk == run_pk, sb.segment == segment, sb.key_id.in_(list(first_block)),
               sb.block_no >= min(first_block.values()))
        .order_by(sb.key_id, sb.block_no)
    )
    for key_id, block_no, data in rows:
        if block_no >= first_block[key_id]:
            parts.setdefault(key_id, []).append(_decode(data))
    return {key_id: (np.concatenate([s for s, _ in p]), np.concatenate([v for _, v in p])) for key_id, p in parts.items()}


def _ensure_keys(conn: Connection, run_pk: int, integer: dict[str, bool]) -> dict[str, int]:
    """key → key_id, creating missing keys and clearing `integer` of keys that got a float."""
    sk = series_keys.c
    known = {row.key: row for row in conn.execute(select(sk.key, sk.key_id, sk.integer).where(sk.run_pk == run_pk))}
    next_id = max((row.key_id for row in known.values()), default=-1) + 1
    ids = {key: row.key_id for key, row in known.items()}
    fresh = [key for key in integer if key not in known]
    ids.update((key, next_id + i) for i, key in enumerate(fresh))
    if fresh:
        rows = [{"run_pk": run_pk, "key_id": ids[key], "key": key, "integer": integer[key]} for key in fresh]
        conn.execute(insert(series_keys), rows)
    cleared = [ids[key] for key in integer if key in known and known[key].integer and not integer[key]]
    if cleared:
        conn.execute(update(series_keys).where(sk.run_pk == run_pk, sk.key_id.in_(cleared)).values(integer=False))
    return {key: ids[key] for key in integer}


def keys(conn: Connection, run_pk: int) -> list[str]:
    """The run's numeric keys in first-seen order."""
    query = select(series_keys.c.key).where(series_keys.c.run_pk == run_pk).order_by(series_keys.c.key_id)
    return list(conn.execute(query).scalars())


def keys_of_runs(conn: Connection, run_pks: Sequence[int]) -> list[str]:
    """The numeric keys any of these runs logged, sorted."""
    if not run_pks:
        return []
    query = select(series_keys.c.key).where(series_keys.c.run_pk.in_(run_pks)).distinct()
    return sorted(conn.execute(query).scalars())


def media_keys_of_runs(conn: Connection, run_pks: Sequence[int]) -> dict[str, str]:
    """The media keys any of these runs logged, sorted, with their type (the last one seen wins)."""
    if not run_pks:
        return {}
    ho = history_objects.c
    query = select(ho.key, ho.media_type).where(ho.run_pk.in_(run_pks), ho.media_type.is_not(None)).distinct()
    return {key: kind for key, kind in sorted(conn.execute(query).all())}


def _upper(limit: int | None, max_step: int | None) -> int | None:
    return limit if max_step is None else max_step if limit is None else min(limit, max_step)


def _visible(
    segment: Column, first: Column, last: Column, visible_until: Visibility, min_step: int | None, max_step: int | None
) -> ColumnElement[bool]:
    """SQL condition: rows whose steps [first, last] overlap the visible part of [min_step, max_step]."""
    ranges = []
    for seg, limit in visible_until.items():
        cond = [segment == seg]
        if (hi := _upper(limit, max_step)) is not None:
            cond.append(first <= hi)
        if min_step is not None:
            cond.append(last >= min_step)
        ranges.append(and_(*cond))
    return or_(false(), *ranges)


def read(
    conn: Connection,
    run_pk: int,
    key: str,
    visible_until: Visibility,
    min_step: int | None = None,
    max_step: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Visible points of one key in [min_step, max_step], in step order, across segments."""
    sk, sb = series_keys.c, series_blocks.c
    # one query: the key's row, joined to just the blocks that overlap the visible range
    visible = _visible(sb.segment, sb.first_step, sb.last_step, visible_until, min_step, max_step)
    blocks_on = and_(sb.run_pk == sk.run_pk, sb.key_id == sk.key_id, visible)
    rows = conn.execute(
        select(sk.integer, sb.segment, sb.count.label("n"), sb.data)  # Row.count is a tuple method in 2.0
        .select_from(series_keys.outerjoin(series_blocks, blocks_on))
        .where(sk.run_pk == run_pk, sk.key == key)
        .order_by(sb.segment, sb.block_no)
    ).all()
    if not rows:
        return _EMPTY_STEPS, np.empty(0, np.float64)
    integer = rows[0].integer
    dtype = np.int64 if integer else np.float64
    rows = [row for row in rows if row.data is not None]  # no visible block: the key's row alone
    # decode straight into one output buffer: no per-block arrays to concatenate
    total = sum(row.n for row in rows)
    steps, raw = np.empty(total, np.int64), np.empty((total, 8), np.uint8)
    spans: dict[int, list[int]] = {}  # segment → its [start, end) in the buffer
    int_blocks, pos = [], 0
    for row in rows:
        end = pos + row.n
        if _decode_into(row.data, steps[pos:end], raw[pos:end]) and not integer:
            int_blocks.append((pos, end))
        spans.setdefault(row.segment, [pos, end])[1] = end
        pos = end
    values = raw.view("<i8" if integer else "<f8").reshape(-1).astype(dtype, copy=False)
    for a, b in int_blocks:  # blocks stored before the key's first float
        values[a:b] = raw[a:b].view("<i8").reshape(-1).astype(np.float64)
    pieces = []
    for seg, (a, b) in spans.items():  # cut each segment to its visible part of [min_step, max_step]
        hi = _upper(visible_until[seg], max_step)
        start = a if min_step is None else a + int(np.searchsorted(steps[a:b], min_step))
        pieces.append(slice(start, b if hi is None else a + int(np.searchsorted(steps[a:b], hi, side="right"))))
    if len(pieces) <= 1:
        return (steps[pieces[0]], values[pieces[0]]) if pieces else (_EMPTY_STEPS, np.empty(0, dtype))
    steps, values = np.concatenate([steps[p] for p in pieces]), np.concatenate([values[p] for p in pieces])
    if len(steps) > 1 and not (np.diff(steps) > 0).all():  # segments overlap: the later one wins a step
        order = np.argsort(steps, kind="stable")
        steps, values = steps[order], values[order]
        last = np.append(steps[1:] != steps[:-1], True)
        steps, values = steps[last], values[last]
    return steps, values


# --- M4 downsampling -----------------------------------------------------------------------------


def downsample(
    steps: np.ndarray,
    values: np.ndarray,
    buckets: int,
    min_step: int | None = None,
    max_step: int | None = None,
) -> dict[str, np.ndarray]:
    """First, last, min and max (each with its step) and count per non-empty equal-width step bucket.

    A bucket's min (max) is its first point equal to the least (greatest) non-NaN value, or its first
    point when all are NaN; ``charts.downsampled`` gives the same answer from the stored pre-aggregates."""
    if buckets < 1:
        raise ValueError("buckets must be at least 1")
    steps, values = np.asarray(steps, dtype=np.int64), np.asarray(values)
    if min_step is not None or max_step is not None:
        lo_bound, hi_bound = -(2**63) if min_step is None else min_step, 2**63 - 1 if max_step is None else max_step
        inside = (steps >= lo_bound) & (steps <= hi_bound)
        steps, values = steps[inside], values[inside]
    n = len(steps)
    if n <= buckets:  # no loss: every point is its own bucket
        one = np.ones(n, np.int64)
        return {"bucket_start": steps, "first_step": steps, "first": values, "last_step": steps, "last": values,
                "min_step": steps, "min": values, "max_step": steps, "max": values, "count": one}  # fmt: skip
    lo = int(steps[0]) if min_step is None else min_step
    span = (int(steps[-1]) if max_step is None else max_step) - lo + 1
    return preaggregates.m4(steps, values, buckets, lo, span)


# --- non-numeric values, and forks ---------------------------------------------------------------


def append_objects(conn: Connection, run_pk: int, segment: int, items: list[tuple[int, str, bytes]]) -> None:
    """Store (step, key, msgpack bytes); a later value for the same segment, step and key replaces it."""
    latest = {(int(step), key): value for step, key, value in items}  # within a call, the last one wins
    ho, pairs = history_objects.c, list(latest)
    for lo in range(0, len(pairs), 5000):  # upsert as delete + insert; chunks stay under parameter limits
        chunk = pairs[lo : lo + 5000]
        conn.execute(
            delete(history_objects).where(
                ho.run_pk == run_pk, ho.segment == segment, tuple_(ho.step, ho.key).in_(chunk)
            )
        )
        rows = [{"run_pk": run_pk, "segment": segment, "step": s, "key": k, "value": latest[s, k],
                 "media_type": media_type(msgpack.unpackb(latest[s, k], raw=False))} for s, k in chunk]
        conn.execute(insert(history_objects), rows)


def read_objects(
    conn: Connection,
    run_pk: int,
    visible_until: Visibility,
    min_step: int | None = None,
    max_step: int | None = None,
    keys: Sequence[str] | None = None,
) -> list[tuple[int, str, bytes]]:
    """Visible (step, key, value) in step order (then key); the latest segment wins a (step, key)."""
    ho = history_objects.c
    visible = _visible(ho.segment, ho.step, ho.step, visible_until, min_step, max_step)
    query = select(ho.step, ho.key, ho.value).where(ho.run_pk == run_pk, visible)
    if keys is not None:
        query = query.where(ho.key.in_(list(keys)))
    latest: dict[tuple[int, str], bytes] = {}
    for step, key, value in conn.execute(query.order_by(ho.step, ho.key, ho.segment)):
        latest[(step, key)] = bytes(value)
    return [(step, key, value) for (step, key), value in latest.items()]


def copy_until(
    conn: Connection,
    source_pk: int,
    source_visible_until: Visibility,
    until_step: int,
    target_pk: int,
    target_segment: int = 0,
) -> None:
    """Copy the source's visible history up to and including `until_step` into the target (a fork)."""
    columns: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for key in keys(conn, source_pk):
        steps, values = read(conn, source_pk, key, source_visible_until, max_step=until_step)
        if len(steps):
            columns[key] = (steps, values)
    append(conn, target_pk, target_segment, columns)
    objects = read_objects(conn, source_pk, source_visible_until, max_step=until_step)
    append_objects(conn, target_pk, target_segment, objects)
