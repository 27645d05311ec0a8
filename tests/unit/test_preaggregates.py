"""Charts from per-window pre-aggregates give exactly what downsampling every point gives."""

from __future__ import annotations

import math
from unittest.mock import patch

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

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
# a call: a start step and gaps; values for each point
calls_st = st.lists(
    st.tuples(st.integers(0, 120), st.lists(st.tuples(st.integers(1, 4), values_st), min_size=1, max_size=40)),
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


@settings(max_examples=120, deadline=None)
@given(
    segments=st.lists(calls_st, min_size=1, max_size=3),
    limits=st.lists(st.none() | st.integers(0, 300), min_size=3, max_size=3),
    buckets=st.integers(1, 30),
    window=st.none() | st.tuples(st.none() | st.integers(-5, 300), st.none() | st.integers(-5, 300)),
    sizes=st.tuples(st.integers(2, 12), st.integers(1, 5)),
)
def test_charts_from_preaggregates_equal_charts_from_every_point(segments, limits, buckets, window, sizes) -> None:
    """Random series in several segments (rewinds: each visible up to a limit; resends replace steps;
    a later segment may overlap an earlier one), with NaN, ±inf, ±0, huge ints, ints then floats."""
    block, width = sizes
    engine = new_engine()
    with engine.begin() as conn, patch.object(series, "BLOCK_SIZE", block), \
            patch.object(preaggregates, "WINDOW", width):
        make_run(conn, 1)
        for segment, calls in enumerate(segments):
            for start, points in calls:
                steps = start + np.cumsum([gap for gap, _ in points])
                series.append(conn, 1, segment, {"x": (steps, [v for _, v in points])})
        visible = {segment: limits[segment] for segment in range(len(segments))}
        min_step, max_step = window or (None, None)
        got, count = charts.downsampled(conn, 1, "x", visible, buckets, min_step, max_step)
        steps, values = series.read(conn, 1, "x", visible, min_step, max_step)
        expected = series.downsample(steps, values, buckets, min_step, max_step)
        assert count == len(steps)
        assert list(got) == list(expected)
        for name in expected:
            assert same(got[name], expected[name]), (name, got[name], expected[name])
    engine.dispose()


def test_only_blocks_a_bucket_edge_crosses_are_decoded() -> None:
    """A 40-block series in 10 buckets: the 9 blocks holding an inner edge and the open block are decoded."""
    engine = new_engine()
    with engine.begin() as conn:
        make_run(conn, 1)
        steps = np.arange(40 * series.BLOCK_SIZE + 100)
        series.append(conn, 1, 0, {"x": (steps, np.sin(steps / 1000.0))})
        assert conn.execute(select(schema.series_summaries.c.block_no)).scalars().all() == list(range(40))
        decoded: list[int] = []
        real = series._decode

        def counting(data):  # type: ignore[no-untyped-def]
            decoded.append(1)
            return real(data)

        with patch.object(series, "_decode", counting):
            got, count = charts.downsampled(conn, 1, "x", {0: None}, 10)
        assert count == len(steps) and len(got["count"]) == 10
        assert len(decoded) <= 9 + 1
        expected = series.downsample(*series.read(conn, 1, "x", {0: None}), 10)
        for name in expected:
            assert same(got[name], expected[name]), name
    engine.dispose()


def test_summaries_follow_rewritten_blocks() -> None:
    """A resend reaching back into full blocks replaces their summaries too."""
    engine = new_engine()
    with engine.begin() as conn, patch.object(series, "BLOCK_SIZE", 8), patch.object(preaggregates, "WINDOW", 4):
        make_run(conn, 1)
        series.append(conn, 1, 0, {"x": (np.arange(40), np.arange(40.0))})
        series.append(conn, 1, 0, {"x": ([3, 20], [-100.0, 500.0])})
        got, _ = charts.downsampled(conn, 1, "x", {0: None}, 4)
        assert got["min"].tolist() == [-100.0, 10.0, 21.0, 30.0]  # step 20 now holds 500
        assert got["max"].tolist() == [9.0, 19.0, 500.0, 39.0] and got["max_step"].tolist()[2] == 20
    engine.dispose()
