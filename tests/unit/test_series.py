"""Columnar history storage (blocks, replacement, visibility, forks) and M4 downsampling."""

from __future__ import annotations

import math
import struct
from collections import Counter
from collections.abc import Iterator
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, create_engine, insert, select, update

from tracklet.runlog.metrics import join_path
from tracklet.server.store import schema, series


def new_engine() -> Engine:
    """A fresh database with the schema, one entity and one project."""
    engine = create_engine("sqlite://")
    schema.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(schema.entities).values(id=1, name="alice", kind="user", created_at=0.0))
        connection.execute(insert(schema.projects).values(id=1, entity_id=1, name="p", created_at=0.0))
    return engine


@pytest.fixture
def conn() -> Iterator[Connection]:
    engine = new_engine()
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def make_run(conn: Connection, pk: int) -> int:
    conn.execute(
        insert(schema.runs).values(
            pk=pk, project_id=1, run_id=f"run{pk}", state="running", tags=[], config={}, summary={}, meta={},
            created_at=0.0, updated_at=0.0, heartbeat_at=0.0, visible_until={},
        )
    )  # fmt: skip
    return pk


def blocks(conn: Connection, run_pk: int, key_id: int = 0, segment: int = 0) -> list:
    sb = schema.series_blocks.c
    columns = (sb.block_no, sb.first_step, sb.last_step, sb.count.label("n"), sb.min, sb.max, sb.data)
    query = select(*columns).where(sb.run_pk == run_pk, sb.key_id == key_id, sb.segment == segment)
    return conn.execute(query.order_by(sb.block_no)).all()


ALL = {0: None}


def test_round_trip_of_many_keys_in_first_seen_order(conn: Connection) -> None:
    run = make_run(conn, 1)
    rng = np.random.default_rng(1)
    data = {f"k{i}": (np.arange(0, 300, i + 1), rng.normal(size=len(range(0, 300, i + 1)))) for i in range(20)}
    float32s = rng.normal(size=9000).astype(np.float32).astype(np.float64)  # zero low bytes: planes compress
    data["irregular"] = (np.cumsum(rng.integers(1, 10**9, 9000)), float32s)
    nested = join_path(("eval", "acc.top1"))  # "eval.acc\\.top1": keys are metric paths, stored as written
    series.append(conn, run, 0, {nested: ([0, 1], [1.5, 2.5]), **{k: data[k] for k in list(data)[:10]}})
    series.append(conn, run, 0, {k: data[k] for k in list(data)[10:]})
    assert series.keys(conn, run) == [nested, *data]
    assert series.read(conn, run, "eval.acc\\.top1", ALL)[1].tolist() == [1.5, 2.5]
    for key, (steps, values) in data.items():
        got_s, got_v = series.read(conn, run, key, ALL)
        assert got_s.dtype == np.int64 and got_v.dtype == np.float64
        assert np.array_equal(got_s, steps) and np.array_equal(got_v, values)
    assert series.read(conn, run, "missing", ALL)[0].size == 0
    assert series.read(conn, run, nested, {})[0].size == 0  # no visible segment


def test_block_boundaries_counts_and_min_max(conn: Connection) -> None:
    run = make_run(conn, 1)
    values = np.arange(10_000, dtype=np.float64) % 5000 - 7
    for lo, hi in [(0, 1000), (1000, 1001), (1001, 9000), (9000, 10_000)]:
        series.append(conn, run, 0, {"x": (range(lo, hi), values[lo:hi])})
    rows = blocks(conn, run)
    # each batch is a small block of its own until the small ones hold a block's worth: then they
    # are merged into full blocks and one small block for the rest
    assert [(r.block_no, r.n, r.first_step, r.last_step) for r in rows] == [
        (0, 4096, 0, 4095), (1, 4096, 4096, 8191), (2, 808, 8192, 8999), (3, 1000, 9000, 9999)
    ]  # fmt: skip
    for r in rows:
        chunk = values[r.first_step : r.last_step + 1]
        assert (r.min, r.max) == (chunk.min(), chunk.max())
    steps, got = series.read(conn, run, "x", ALL)
    assert np.array_equal(steps, np.arange(10_000)) and np.array_equal(got, values)


def test_resent_and_overlapping_steps_replace_not_duplicate(conn: Connection) -> None:
    run = make_run(conn, 1)
    series.append(conn, run, 0, {"x": (range(100), np.zeros(100))})
    series.append(conn, run, 0, {"x": (range(90, 110), np.ones(20))})  # rows 90..99 merged across batches
    steps, values = series.read(conn, run, "x", ALL)
    assert np.array_equal(steps, np.arange(110)) and values.sum() == 20 and values[:90].sum() == 0

    before = [tuple(r) for r in blocks(conn, run)]
    series.append(conn, run, 0, {"x": (range(90, 110), np.ones(20))})  # the same batch re-sent
    assert [tuple(r) for r in blocks(conn, run)] == before

    series.append(conn, run, 0, {"x": ([5, 7, 200], [-1.0, -2.0, 3.0])})  # interleaved with stored steps
    steps, values = series.read(conn, run, "x", ALL)
    assert len(steps) == 111 and steps[-1] == 200 and values[5] == -1.0 and values[7] == -2.0


def test_runs_and_keys_started_together_compact_at_different_batches(conn: Connection) -> None:
    """Fifty runs of 22 keys logging in step (a sweep), 50 or 100 steps a request: the requests that
    merge small blocks are spread over many, not one burst in which every writer waits."""
    for size in (50, 100):
        merging: dict[tuple[int, int], int] = {}
        for run_pk in range(1, 51):
            for key_id in range(22):
                most_blocks, most_points = series._merge_limits(run_pk, key_id)
                small = points = batch = 0
                while not (small and (small >= most_blocks or points + size >= most_points)):
                    small, points, batch = small + 1, points + size, batch + 1
                merging[run_pk, key_id] = batch
        per_batch = Counter(merging.values())
        assert len(per_batch) >= 15 and max(per_batch.values()) <= len(merging) / 8, (size, per_batch)


def test_small_blocks_use_the_plain_layout_and_older_ones_still_read(conn: Connection) -> None:
    steps, values = np.array([3, 5, 9]), np.array([0.5, -0.0, np.nan])
    plain = series._encode(steps, values, deflate=False)
    assert plain[0] & series._PLAIN and len(plain) == series._HEADER.size + 2 * 8 + 3 * 8
    planes = series._HEADER.pack(0, 3, 3, 0) + b"".join(  # the layout small blocks had before
        series._stream(part, False) for part in [np.diff(steps).astype("<i8").tobytes()]
        + [p.tobytes() for p in np.ascontiguousarray(values.view(np.uint8).reshape(-1, 8).T)])
    for data in (plain, planes):
        got_steps, got = series._decode(data)
        assert np.array_equal(got_steps, steps) and got.tobytes() == values.tobytes()  # -0.0, NaN bits kept
    ints = series._encode(np.arange(4), np.array([1, -2, 2**62, 0]), deflate=False)
    assert series._decode(ints)[1].tolist() == [1, -2, 2**62, 0]


def test_resend_reaching_back_over_full_blocks_keeps_the_layout(conn: Connection) -> None:
    run = make_run(conn, 1)
    series.append(conn, run, 0, {"x": (range(10_000), np.zeros(10_000))})
    series.append(conn, run, 0, {"x": (range(4000, 5001), np.ones(1001))})
    assert [(r.block_no, r.n, r.max) for r in blocks(conn, run)] == [(0, 4096, 1.0), (1, 4096, 1.0), (2, 1808, 0.0)]
    steps, values = series.read(conn, run, "x", ALL)
    assert np.array_equal(steps, np.arange(10_000)) and values.sum() == 1001 and values[4000:5001].all()


def test_many_small_batches_are_merged_into_full_blocks(conn: Connection) -> None:
    """A run streaming a few steps per request: each request adds a small block (no rewrite of what
    is stored); the small ones are merged before there are more than TAIL_BLOCKS, and become full,
    compressed blocks with pre-aggregates once they hold a block's worth (plus up to half a block,
    varied by run and key so that runs started together do not all compact at once)."""
    run = make_run(conn, 1)
    values = np.sin(np.arange(10_000) / 50.0)
    for lo in range(0, 10_000, 3):
        series.append(conn, run, 0, {"x": (range(lo, min(lo + 3, 10_000)), values[lo : lo + 3]), "y": ([lo], [lo])})
        if lo % 300 == 0:
            small = [r.n for r in blocks(conn, run) if r.n < series.BLOCK_SIZE]
            assert len(small) <= series.TAIL_BLOCKS and sum(small) < series.BLOCK_SIZE * 3 // 2
    rows = blocks(conn, run)
    assert [r.n for r in rows][:2] == [series.BLOCK_SIZE] * 2 and sum(r.n for r in rows) == 10_000
    assert len(rows) <= 2 + series.TAIL_BLOCKS
    summarized = conn.execute(select(schema.series_summaries.c.block_no).where(
        schema.series_summaries.c.run_pk == run, schema.series_summaries.c.key_id == 0)).scalars().all()
    assert sorted(set(summarized)) == [0, 1]  # the full blocks have pre-aggregates
    steps, got = series.read(conn, run, "x", ALL)
    assert np.array_equal(steps, np.arange(10_000)) and np.array_equal(got, values)
    assert np.array_equal(series.read(conn, run, "y", ALL)[1], np.arange(0, 10_000, 3))


batches = st.lists(st.lists(st.tuples(st.integers(0, 60), st.floats(-1e6, 1e6)), max_size=25), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(batches)
def test_appending_matches_a_dict_of_latest_values_with_tiny_blocks(calls: list[list[tuple[int, float]]]) -> None:
    engine = new_engine()
    expected: dict[int, float] = {}
    with engine.begin() as conn, patch.object(series, "BLOCK_SIZE", 4):
        make_run(conn, 1)
        for call in calls:
            batch = dict(call)  # one value per step within a call, steps sorted
            steps = sorted(batch)
            series.append(conn, 1, 0, {"x": (steps, [batch[s] for s in steps])})
            expected.update(batch)
        steps, values = series.read(conn, 1, "x", ALL)
        assert steps.tolist() == sorted(expected) and values.tolist() == [expected[s] for s in sorted(expected)]
        rows = blocks(conn, 1) if expected else []
        full = len([r for r in rows if r.n == 4])  # full blocks first, then at most TAIL_BLOCKS small ones
        small = [r.n for r in rows[full:]]
        assert [r.n for r in rows[:full]] == [4] * full and all(1 <= n < 4 for n in small)
        assert len(small) <= series.TAIL_BLOCKS and sum(small) < 4 * 3 // 2  # merged by one and a half blocks
        assert [r.block_no for r in rows] == list(range(len(rows)))
        for r in rows:
            chunk = [expected[s] for s in sorted(expected) if r.first_step <= s <= r.last_step]
            assert (len(chunk), r.min, r.max) == (r.n, min(chunk), max(chunk))
    engine.dispose()


def test_integer_flag(conn: Connection) -> None:
    run = make_run(conn, 1)
    big = 2**62 + 1  # not exact as a float64
    series.append(conn, run, 0, {"epoch": ([0, 1], [1, big]), "huge": ([0], [2**70]), "f": ([0], [1.0])})
    flags = {key: flag for key, flag in conn.execute(select(schema.series_keys.c.key, schema.series_keys.c.integer))}
    assert flags == {"epoch": True, "huge": False, "f": False}
    steps, values = series.read(conn, run, "epoch", ALL)
    assert values.dtype == np.int64 and values.tolist() == [1, big]

    series.append(conn, run, 0, {"epoch": ([2], [2.5])})  # a float clears the flag for good
    series.append(conn, run, 0, {"epoch": ([3], [3])})
    steps, values = series.read(conn, run, "epoch", ALL)
    assert values.dtype == np.float64 and values.tolist() == [1.0, float(big), 2.5, 3.0]
    assert not conn.execute(select(schema.series_keys.c.integer).where(schema.series_keys.c.key == "epoch")).scalar()


def test_nan_and_inf(conn: Connection) -> None:
    run = make_run(conn, 1)
    nan_payload = struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_DEAD_BEEF))[0]
    values = [math.nan, -math.inf, 3.0, -0.0, nan_payload]
    series.append(conn, run, 0, {"x": (range(5), values), "only_nan": ([0, 1], [math.nan, math.nan])})
    (row,) = blocks(conn, run)
    assert (row.min, row.max) == (-math.inf, 3.0)  # NaN ignored, -inf is a real value
    (row,) = blocks(conn, run, key_id=1)
    assert (row.min, row.max) == (None, None)
    _, got = series.read(conn, run, "x", ALL)
    assert got.view(np.uint64).tolist() == np.array(values).view(np.uint64).tolist()  # exact bits


def test_visibility_across_segments_after_a_rewind(conn: Connection) -> None:
    run = make_run(conn, 1)
    series.append(conn, run, 0, {"x": (range(100), np.zeros(100))})
    series.append(conn, run, 1, {"x": (range(42, 60), np.ones(18))})
    visible = {0: 41, 1: None}
    steps, values = series.read(conn, run, "x", visible)
    assert np.array_equal(steps, np.arange(60)) and np.array_equal(values, (np.arange(60) >= 42).astype(float))
    steps, _ = series.read(conn, run, "x", visible, min_step=40, max_step=44)
    assert steps.tolist() == [40, 41, 42, 43, 44]
    assert series.read(conn, run, "x", {1: None})[0].tolist() == list(range(42, 60))  # segment 0 not listed


def test_read_fetches_only_blocks_overlapping_the_range(conn: Connection) -> None:
    run = make_run(conn, 1)
    series.append(conn, run, 0, {"x": (range(10_000), np.arange(10_000.0))})
    sb = schema.series_blocks.c
    conn.execute(update(schema.series_blocks).where(sb.block_no != 1).values(data=b"garbage"))
    steps, values = series.read(conn, run, "x", ALL, min_step=5000, max_step=5009)
    assert steps.tolist() == list(range(5000, 5010)) and values.tolist() == list(range(5000, 5010))


def test_bytes_per_point(conn: Connection) -> None:
    run = make_run(conn, 1)
    n = 100_000
    series.append(conn, run, 0, {"x": (range(n), np.random.default_rng(0).random(n))})
    assert sum(len(r.data) for r in blocks(conn, run)) / n <= 10


def test_copy_until_copies_visible_points_and_objects(conn: Connection) -> None:
    source, target = make_run(conn, 1), make_run(conn, 2)
    series.append(conn, source, 0, {"x": (range(100), np.arange(100.0)), "late": ([80], [1])})
    series.append(conn, source, 1, {"x": (range(42, 100), -np.arange(42.0, 100)), "n": ([42, 43], [7, 8])})
    series.append_objects(conn, source, 0, [(10, "text", b"\xa1a"), (45, "text", b"\xa1b")])
    series.append_objects(conn, source, 1, [(50, "text", b"\xa1c"), (60, "text", b"\xa1d")])
    visible = {0: 41, 1: None}
    series.copy_until(conn, source, visible, 50, target)
    assert series.keys(conn, target) == ["x", "n"]  # "late" was rewound away
    steps, values = series.read(conn, target, "x", ALL)
    assert np.array_equal(steps, np.arange(51)) and np.array_equal(values, np.where(steps < 42, steps, -steps))
    assert series.read(conn, target, "n", ALL)[1].dtype == np.int64
    assert series.read_objects(conn, target, ALL) == [(10, "text", b"\xa1a"), (50, "text", b"\xa1c")]


def test_objects_upsert_visibility_and_filters(conn: Connection) -> None:
    import msgpack

    v = {name: msgpack.packb(name) for name in ("1", "2", "3", "new", "4", "5", "6")}
    run = make_run(conn, 1)
    series.append_objects(conn, run, 0, [(1, "a", v["1"]), (1, "b", v["2"]), (2, "a", v["3"])])
    series.append_objects(conn, run, 0, [(1, "a", v["new"]), (3, "a", v["4"]), (3, "a", v["5"])])
    series.append_objects(conn, run, 1, [(3, "b", v["6"])])
    expected = [(1, "a", v["new"]), (1, "b", v["2"]), (2, "a", v["3"]), (3, "a", v["5"])]
    assert series.read_objects(conn, run, {0: None}) == expected
    assert series.read_objects(conn, run, {0: 1, 1: None}) == [(1, "a", v["new"]), (1, "b", v["2"]), (3, "b", v["6"])]
    assert series.read_objects(conn, run, {0: None}, min_step=2, keys=["a"]) == [(2, "a", v["3"]), (3, "a", v["5"])]
    assert series.read_objects(conn, run, {}) == []


def test_media_keys_are_found_by_type(conn: Connection) -> None:
    import msgpack

    run, other = make_run(conn, 1), make_run(conn, 2)
    image = msgpack.packb({"_type": "image-file", "path": "media/images/x.png"})
    series.append_objects(conn, run, 0, [(1, "img", image), (1, "note", msgpack.packb("text")),
                                         (2, "h", msgpack.packb({"_type": "histogram", "values": [1], "bins": [0, 1]})),
                                         (2, "odd", msgpack.packb({"_type": "something-else"}))])
    series.append_objects(conn, other, 0, [(5, "img", image)])
    assert series.media_keys_of_runs(conn, [run]) == {"h": "histogram", "img": "image-file"}
    assert series.media_keys_of_runs(conn, [other]) == {"img": "image-file"}
    assert series.media_keys_of_runs(conn, []) == {}


def test_append_validates_its_input(conn: Connection) -> None:
    run = make_run(conn, 1)
    with pytest.raises(ValueError, match="strictly increasing"):
        series.append(conn, run, 0, {"x": ([1, 1], [0.0, 1.0])})
    with pytest.raises(ValueError, match="values"):
        series.append(conn, run, 0, {"x": ([1, 2], [0.0])})
    series.append(conn, run, 0, {"x": ([], [])})
    assert series.keys(conn, run) == []


# --- downsampling ---------------------------------------------------------------------------------


def test_downsample_keeps_a_single_point_spike() -> None:
    steps, values = np.arange(100_000), np.zeros(100_000)
    values[12_345], values[67_891] = 1e6, -1e6
    assert values[::1000].max() == 0 == values[::1000].min()  # stride sampling loses both
    out = series.downsample(steps, values, 100)
    assert len(out["count"]) == 100 and out["count"].sum() == 100_000
    assert out["max"].max() == 1e6 and out["max_step"][out["max"].argmax()] == 12_345
    assert out["min"].min() == -1e6 and out["min_step"][out["min"].argmin()] == 67_891
    assert out["bucket_start"].tolist() == list(range(0, 100_000, 1000))


def test_downsample_over_a_narrower_range_gives_finer_buckets() -> None:
    steps = np.arange(100_000)
    wide = series.downsample(steps, np.sin(steps / 100.0), 100)
    narrow = series.downsample(steps, np.sin(steps / 100.0), 100, min_step=1000, max_step=1999)
    assert set(wide["count"].tolist()) == {1000}
    assert narrow["count"].tolist() == [10] * 100
    assert (narrow["first_step"][0], narrow["last_step"][-1]) == (1000, 1999)


def test_downsample_with_fewer_points_than_buckets_returns_every_point() -> None:
    steps, values = np.array([3, 10, 500]), np.array([1.0, math.nan, 2.0])
    out = series.downsample(steps, values, 1000)
    assert out["first_step"].tolist() == [3, 10, 500] and out["count"].tolist() == [1, 1, 1]
    assert np.array_equal(out["min"], values, equal_nan=True)
    assert series.downsample(np.array([], np.int64), np.array([]), 10)["count"].size == 0


def test_downsample_nan_never_wins_and_ints_stay_ints() -> None:
    values = np.array([math.nan, 5.0, math.nan, math.inf, math.nan, math.nan, 1.0, 2.0])
    out = series.downsample(np.arange(8), values, 4)  # buckets of two points each
    assert out["min_step"].tolist() == [1, 3, 4, 6] and out["max_step"].tolist() == [1, 3, 4, 7]
    assert np.array_equal(out["min"], [5.0, math.inf, math.nan, 1.0], equal_nan=True)  # bucket 2 is only NaN
    assert np.array_equal(out["max"], [5.0, math.inf, math.nan, 2.0], equal_nan=True)
    ints = series.downsample(np.arange(10), np.arange(10) * 3, 2)
    assert ints["max"].dtype == np.int64 and ints["max"].tolist() == [12, 27]


def reference(steps: list[int], values: list[float], buckets: int, lo: int, hi: int) -> list[tuple]:
    """Plain-Python M4 over [lo, hi]: (first, last, min, max, count) per non-empty bucket."""
    span = hi - lo + 1
    groups: dict[int, list[tuple[int, float]]] = {}
    for s, v in zip(steps, values):
        if lo <= s <= hi:
            groups.setdefault((s - lo) * buckets // span, []).append((s, v))
    if sum(len(points) for points in groups.values()) <= buckets:  # no loss: one bucket per point
        return [((s, v), (s, v), (s, v), (s, v), 1) for points in groups.values() for s, v in points]
    out = []
    for points in groups.values():
        real = [p for p in points if not math.isnan(p[1])]
        lo_p = min(real, key=lambda p: p[1]) if real else (points[0][0], math.nan)
        hi_p = max(real, key=lambda p: p[1]) if real else (points[0][0], math.nan)
        out.append((points[0], points[-1], lo_p, hi_p, len(points)))
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 50), st.one_of(st.floats(allow_nan=True), st.sampled_from([0.0, 1.0, -1.0]))),
        min_size=1,
        max_size=300,
    ),
    st.integers(1, 40),
    st.none() | st.tuples(st.integers(0, 8000), st.integers(0, 8000)).map(sorted),
)
def test_downsample_matches_a_plain_python_reference(
    points: list[tuple[int, float]], buckets: int, window: list[int] | None
) -> None:
    steps = np.cumsum([gap for gap, _ in points])
    values = [v for _, v in points]
    lo, hi = window or (int(steps[0]), int(steps[-1]))
    out = series.downsample(steps, np.array(values), buckets, *(window or (None, None)))
    expected = reference(steps.tolist(), values, buckets, lo, hi)
    got = list(
        zip(
            zip(out["first_step"].tolist(), out["first"].tolist()),
            zip(out["last_step"].tolist(), out["last"].tolist()),
            zip(out["min_step"].tolist(), out["min"].tolist()),
            zip(out["max_step"].tolist(), out["max"].tolist()),
            out["count"].tolist(),
        )
    )
    same = lambda a, b: a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))  # noqa: E731
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g[4] == e[4]
        for gp, ep in zip(g[:4], e[:4]):
            assert gp[0] == ep[0] and same(gp[1], ep[1]), (g, e)
    if out["count"].sum() > buckets:  # bucketed: each bucket starts at the least step it covers
        grid = [lo + -(-b * (hi - lo + 1) // buckets) for b in range(buckets)]
        assert set(out["bucket_start"].tolist()) <= set(grid)
