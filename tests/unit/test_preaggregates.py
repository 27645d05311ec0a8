"""Charts from the stored per-window pre-aggregates give exactly the M4 of the points, bucketed as
``store/charts.py`` defines (whole windows of full blocks, every other point on its own)."""

from __future__ import annotations

import math
from typing import Any
from unittest.mock import patch

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, event, select

from tests.unit.test_series import make_run, new_engine
from tracklet.server.store import charts, preaggregates, schema, series

SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -1.0, 2.0**60]
values_st = st.one_of(
    st.sampled_from(SPECIAL),
    st.floats(-10, 10, allow_nan=False).map(lambda v: round(v)),  # repeats: ties for min and max
    st.integers(-3, 3),
    st.integers(-(2**62), 2**62),  # ints a float64 cannot tell apart
    st.floats(allow_nan=True, allow_infinity=True),
)
# a call: a start step and gaps (1 each: regular steps, the common case; else irregular); values
calls_st = st.lists(
    st.tuples(st.integers(0, 120), st.booleans(),
              st.lists(st.tuples(st.integers(1, 4), values_st), min_size=1, max_size=40)),
    min_size=1, max_size=5,
)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal arrays, bit for bit (NaN bits aside: NaN equals NaN; -0.0 differs from 0.0)."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind != "f":
        return bool((a == b).all())
    nan = np.isnan(a)
    return bool((nan == np.isnan(b)).all() and (a[~nan] == b[~nan]).all()
                and (np.signbit(a[~nan]) == np.signbit(b[~nan])).all())


def reference(conn: Connection, key: str, visible: dict[int, int | None], buckets: int, min_step: int | None,
              max_step: int | None, level: int) -> dict[str, np.ndarray]:
    """Plain Python: every visible block decoded; a wholly visible full block cut into windows of
    ``level`` points by position, every other point a window of its own; consecutive windows whose
    first step falls in one of ``buckets`` equal parts of [lo, hi] are a bucket, reduced point by point."""
    sk, sb = schema.series_keys.c, schema.series_blocks.c
    integer, key_id = conn.execute(select(sk.integer, sk.key_id).where(sk.run_pk == 1, sk.key == key)).one()
    windows: list[list[tuple[int, Any]]] = []
    bounds = []
    for segment, first, last, data in conn.execute(
            select(sb.segment, sb.first_step, sb.last_step, sb.data).where(sb.run_pk == 1, sb.key_id == key_id)
            .order_by(sb.segment, sb.block_no)):
        if segment not in visible:
            continue
        limits = [x for x in (visible[segment], max_step) if x is not None]
        if (min_step is not None and last < min_step) or (limits and first > min(limits)):
            continue  # not in view
        lo, hi = first if min_step is None else max(first, min_step), min([last, *limits])
        bounds.append((lo, hi))
        steps, values = series._decode(data)
        points = [(int(s), int(v) if integer else float(v)) for s, v in zip(steps, values) if lo <= s <= hi]
        if level > 1 and len(steps) == series.BLOCK_SIZE and len(points) == len(steps):
            windows += [points[j : j + level] for j in range(0, len(points), level)]
        else:
            windows += [[p] for p in points]
    overlap = any(a > b for a, b in bounds) or any(b >= a for (_, b), (a, _) in zip(bounds, bounds[1:]))
    if overlap:  # the later segment wins a step: every point of series.read, on its own
        steps, values = series.read(conn, 1, key, visible, min_step, max_step)
        windows = [[(int(s), v)] for s, v in zip(steps.tolist(), values.tolist())]
    points = [p for w in windows for p in w]
    dtype = np.int64 if integer else np.float64
    if len(points) <= buckets:  # every point its own bucket
        steps = np.array([s for s, _ in points], np.int64)
        values = np.array([v for _, v in points], dtype)
        one = np.ones(len(points), np.int64)
        return {"bucket_start": steps, "first_step": steps, "first": values, "last_step": steps, "last": values,
                "min_step": steps, "min": values, "max_step": steps, "max": values, "count": one}
    lo = windows[0][0][0] if min_step is None else min_step
    hi = windows[-1][-1][0] if max_step is None else max_step
    groups: list[list[tuple[int, Any]]] = []
    index = None
    for w in windows:
        i = (w[0][0] - lo) * buckets // (hi - lo + 1)
        if i != index:
            groups.append([])
            index = i
        groups[-1] += w
    out: dict[str, list[Any]] = {name: [] for name in ("bucket_start", "first_step", "first", "last_step", "last",
                                                       "min_step", "min", "max_step", "max", "count")}
    for g in groups:
        real = [p for p in g if not (isinstance(p[1], float) and math.isnan(p[1]))]
        low, high = (g[0], g[0]) if not real else (real[0], real[0])
        for p in real:  # the first point with the least (greatest) value
            low = p if p[1] < low[1] else low
            high = p if p[1] > high[1] else high
        for name, (s, v) in (("first", g[0]), ("last", g[-1]), ("min", low), ("max", high)):
            out[name + "_step"].append(s)
            out[name].append(v)
        out["bucket_start"].append(g[0][0])
        out["count"].append(len(g))
    return {name: np.array(column, dtype if name in ("first", "last", "min", "max") else np.int64)
            for name, column in out.items()}


@settings(max_examples=150, deadline=None)
@given(
    segments=st.lists(calls_st, min_size=1, max_size=3),
    limits=st.lists(st.none() | st.integers(0, 300), min_size=3, max_size=3),
    buckets=st.integers(1, 30),
    window=st.none() | st.tuples(st.none() | st.integers(-5, 300), st.none() | st.integers(-5, 300)),
    block=st.integers(2, 12),
    levels=st.lists(st.integers(2, 8), min_size=4, max_size=4, unique=True).map(lambda x: tuple(sorted(x)[::-1])),
    pick=st.integers(0, 4),
)
def test_charts_from_preaggregates_equal_the_m4_of_the_points(segments, limits, buckets, window, block, levels,
                                                              pick) -> None:
    """Random series in several segments (rewinds: each visible up to a limit; resends replace steps;
    a later segment may overlap an earlier one), regular and irregular steps, with NaN, ±inf, ±0,
    huge ints, ints then floats; at every level, from the summaries and from decoded blocks alike."""
    engine = new_engine()
    with engine.begin() as conn, patch.object(series, "BLOCK_SIZE", block), \
            patch.object(preaggregates, "LEVELS", levels):
        make_run(conn, 1)
        for segment, calls in enumerate(segments):
            for start, regular, points in calls:
                steps = start + np.cumsum([1 if regular else gap for gap, _ in points])
                series.append(conn, 1, segment, {"x": (steps, [v for _, v in points])})
        visible = {segment: limits[segment] for segment in range(len(segments))}
        min_step, max_step = window or (None, None)
        level = (*levels, 1)[pick]
        expected = reference(conn, "x", visible, buckets, min_step, max_step, level)
        for summaries in (True, False):
            got, count = charts.downsampled(conn, 1, "x", visible, buckets, min_step, max_step, level=level,
                                            summaries=summaries)
            assert count == int(expected["count"].sum())
            assert list(got) == list(expected)
            for name in expected:
                assert same(got[name], expected[name]), (summaries, name, got[name], expected[name])
        auto, _ = charts.downsampled(conn, 1, "x", visible, buckets, min_step, max_step)
        assert len(auto["count"]) <= max(buckets, count)  # never more buckets than asked (or points)
    engine.dispose()


def test_the_level_is_the_coarsest_with_about_as_many_windows_as_buckets() -> None:
    assert preaggregates.level_for(1_000_000, 1000) == 1024  # 976 windows
    assert preaggregates.level_for(1_000_000, 100) == 4096
    assert preaggregates.level_for(100_000, 1000) == 64  # 1,562 windows; 256 would give 390
    assert preaggregates.level_for(100_000, 250) == 256
    assert preaggregates.level_for(40_000, 1000) == 1  # too few windows even of 64: every point


def test_a_chart_of_full_blocks_reads_one_level_and_no_points() -> None:
    """40 full blocks and the open one in 100 buckets: only the open block is decoded, and only the
    1,024-point level of the summaries is read; the buckets are whole windows and keep a spike."""
    engine = new_engine()
    with engine.begin() as conn:
        make_run(conn, 1)
        steps = np.arange(40 * series.BLOCK_SIZE + 100)
        values = np.sin(steps / 1000.0)
        values[70_001] = 9.0
        series.append(conn, 1, 0, {"x": (steps, values)})
        ss = schema.series_summaries.c  # every full block has its rows of every level
        stored = conn.execute(select(ss.level, ss.block_no).order_by(ss.level, ss.block_no)).all()
        assert stored == [(size, no) for size in sorted(preaggregates.LEVELS) for no in range(40)]
        decoded: list[int] = []
        statements: list[str] = []
        real = series._decode

        def counting(data):  # type: ignore[no-untyped-def]
            decoded.append(1)
            return real(data)

        def record(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        with patch.object(series, "_decode", counting):
            got, count = charts.downsampled(conn, 1, "x", {0: None}, 100)
        event.remove(engine, "before_cursor_execute", record)
        assert count == len(steps) and len(decoded) == 1
        read = [s for s in statements if "series_summaries" in s]
        assert len(read) == 1 and "level" in read[0] and "series_blocks.data" not in read[0]
        assert 80 <= len(got["count"]) <= 100 and got["count"].sum() == len(steps)
        assert (got["bucket_start"] % 1024 == 0).all()  # windows of 1,024 steps from step 0
        assert got["max"].max() == 9.0 and 70_001 in got["max_step"]
        expected = reference(conn, "x", {0: None}, 100, None, None, 1024)
        for name in expected:
            assert same(got[name], expected[name]), name
    engine.dispose()


def test_summaries_follow_rewritten_blocks() -> None:
    """A resend reaching back into full blocks replaces their summaries too."""
    engine = new_engine()
    with engine.begin() as conn, patch.object(series, "BLOCK_SIZE", 8), \
            patch.object(preaggregates, "LEVELS", (8, 4, 2, 1)):
        make_run(conn, 1)
        series.append(conn, 1, 0, {"x": (np.arange(40), np.arange(40.0))})
        series.append(conn, 1, 0, {"x": ([3, 20], [-100.0, 500.0])})
        got, _ = charts.downsampled(conn, 1, "x", {0: None}, 4)  # five windows of 8 (whole blocks) in 4 buckets
        assert got["bucket_start"].tolist() == [0, 16, 24, 32]
        assert got["min"].tolist() == [-100.0, 16.0, 24.0, 32.0]  # step 20 now holds 500
        assert got["max"].tolist() == [15.0, 500.0, 31.0, 39.0] and got["max_step"].tolist()[1] == 20
    engine.dispose()


def test_levels_round_trip_regular_and_irregular_steps() -> None:
    """Each stored level decodes to the windows of the block's points, for int and float values."""
    rng = np.random.default_rng(1)
    for steps in (np.arange(4096) * 3 + 7, np.cumsum(rng.integers(1, 9, 4096))):
        for values in (rng.normal(size=4096), rng.integers(-(2**62), 2**62, 4096)):
            for size in preaggregates.LEVELS:
                data = preaggregates.encode_level(steps, values, size)
                got, exact = preaggregates.decode_level([data, data], np.array([steps[0]] * 2),
                                                        np.array([steps[-1]] * 2), 4096, size, values.dtype.kind == "f")
                assert exact.all()
                want = preaggregates.windows_of(steps, values, size)
                for name in preaggregates.FIELDS:
                    assert np.array_equal(got[name], np.tile(want[name], 2)), (size, name)
