"""The run log file format: round trips, and reading up to damage."""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracklet.runlog import (
    RecordType,
    RunLogDamaged,
    RunLogReader,
    RunLogWriter,
    RunState,
    decode,
    encode,
    encode_damage,
    encode_history,
)
from tracklet.runlog.framing import FRAME_HEAD, HEADER, RESERVE_BYTES, Skip


def write_log(path: Path, payloads: list[bytes], first_seq: int = 1) -> list[int]:
    writer = RunLogWriter(path, first_seq=first_seq)
    seqs = [writer.append(p) for p in payloads]
    writer.close()
    return seqs


def test_frames_round_trip_with_consecutive_sequence_numbers(tmp_path: Path) -> None:
    path = tmp_path / "run.tracklet"
    payloads = [b"a", b"", b"x" * 100_000]
    assert write_log(path, payloads, first_seq=7) == [7, 8, 9]
    frames = RunLogReader(path).frames()
    assert [f.payload for f in frames] == payloads
    assert [f.seq for f in frames] == [7, 8, 9]


def test_file_starts_with_a_versioned_header(tmp_path: Path) -> None:
    path = tmp_path / "run.tracklet"
    write_log(path, [b"x"])
    assert path.read_bytes()[:4] == b"TRKL"
    assert struct.unpack_from("<H", path.read_bytes(), 4)[0] == 1


def test_writer_never_overwrites_an_existing_log(tmp_path: Path) -> None:
    path = tmp_path / "run.tracklet"
    write_log(path, [b"precious"])
    with pytest.raises(FileExistsError):
        RunLogWriter(path)
    assert RunLogReader(path).frames()[0].payload == b"precious"


def test_a_newer_format_version_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "run.tracklet"
    path.write_bytes(HEADER.pack(b"TRKL", 99, 0))
    with pytest.raises(ValueError, match="format 99"):
        RunLogReader(path).frames()


def test_a_file_that_is_not_a_run_log_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.tracklet"
    path.write_bytes(b"PK\x03\x04 not ours")
    with pytest.raises(ValueError, match="not a Tracklet run log"):
        RunLogReader(path).frames()


@pytest.mark.parametrize("cut", [1, FRAME_HEAD.size - 1, FRAME_HEAD.size + 3])
def test_torn_tail_is_cut_and_everything_before_it_is_read(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "run.tracklet"
    write_log(path, [b"one", b"two", b"three-is-long"])
    data = path.read_bytes()
    last_frame_size = FRAME_HEAD.size + len(b"three-is-long")
    path.write_bytes(data[: len(data) - last_frame_size + cut])
    with pytest.warns(RunLogDamaged, match="torn"):
        frames = RunLogReader(path).frames()
    assert [f.payload for f in frames] == [b"one", b"two"]


def test_a_bit_flip_in_the_middle_skips_that_frame_and_reads_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "run.tracklet"
    write_log(path, [b"first", b"second", b"third"])
    data = bytearray(path.read_bytes())
    second = HEADER.size + FRAME_HEAD.size + len(b"first")
    data[second + FRAME_HEAD.size + 2] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.warns(RunLogDamaged, match=rf"skipped {FRAME_HEAD.size + 6} damaged bytes at byte {second} "
                                           r"\(checksum mismatch\); 1 record lost"):
        frames = RunLogReader(path).frames()
    assert [(f.seq, f.payload) for f in frames] == [(1, b"first"), (3, b"third")]


def test_garbage_length_is_damage_not_a_huge_allocation(tmp_path: Path) -> None:
    path = tmp_path / "run.tracklet"
    write_log(path, [b"ok"])
    with open(path, "ab") as f:
        f.write(FRAME_HEAD.pack(0xFFFFFFF0, 0, 2))
    with pytest.warns(RunLogDamaged, match="impossible frame length"):
        frames = RunLogReader(path).frames()
    assert [f.payload for f in frames] == [b"ok"]


def test_follow_mode_picks_up_frames_as_they_are_written(tmp_path: Path) -> None:
    path = tmp_path / "run.tracklet"
    writer = RunLogWriter(path)
    reader = RunLogReader(path)
    assert reader.read_available() == []
    writer.append(b"a")
    assert [f.payload for f in reader.read_available()] == [b"a"]
    writer.append(b"b")
    writer.append(b"c")
    assert [f.payload for f in reader.read_available()] == [b"b", b"c"]
    assert reader.read_available() == []
    writer.close()


def test_follow_mode_waits_on_a_partial_frame_then_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "run.tracklet"
    write_log(path, [b"first", b"second"])
    whole = path.read_bytes()
    path.write_bytes(whole[:-3])  # the writer is half way through "second"
    reader = RunLogReader(path)
    assert [f.payload for f in reader.read_available()] == [b"first"]
    assert reader.damage is not None
    path.write_bytes(whole)
    assert [f.payload for f in reader.read_available()] == [b"second"]
    assert reader.damage is None


# -- records -------------------------------------------------------------------------------

json_scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text()
)
values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)


def same(a: object, b: object) -> bool:
    """Equality where NaN equals NaN with the same bits."""
    if isinstance(a, float) and isinstance(b, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    step=st.integers(min_value=0, max_value=2**62),
    timestamp=st.floats(allow_nan=False),
    commit=st.booleans(),
    data=st.dictionaries(st.text(), values, max_size=8),
)
def test_history_records_round_trip_exactly(step: int, timestamp: float, commit: bool, data: dict) -> None:
    record = decode(5, encode_history(step, timestamp, commit, data))
    assert record.type is RecordType.HISTORY
    assert record.body["step"] == step and record.body["commit"] is commit
    assert same(record.body["timestamp"], timestamp)
    assert same(record.body["data"], data)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.dictionaries(st.text(min_size=1, max_size=20), values, max_size=10), min_size=1, max_size=20))
def test_files_of_many_records_round_trip(tmp_path_factory: pytest.TempPathFactory, rows: list[dict]) -> None:
    path = tmp_path_factory.mktemp("log") / "run.tracklet"
    write_log(path, [encode_history(i, 1.5, True, row) for i, row in enumerate(rows)])
    decoded = [decode(f.seq, f.payload) for f in RunLogReader(path).frames()]
    assert len(decoded) == len(rows)
    assert all(same(r.body["data"], row) for r, row in zip(decoded, rows))


def test_nan_payloads_and_signed_infinities_survive_bit_for_bit() -> None:
    quiet_nan_with_payload = struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_DEAD_BEEF))[0]
    data = {"nan": quiet_nan_with_payload, "inf": math.inf, "-inf": -math.inf, "-0": -0.0}
    decoded = decode(1, encode_history(0, 0.0, True, data)).body["data"]
    assert struct.pack("<d", decoded["nan"]) == struct.pack("<d", quiet_nan_with_payload)
    assert decoded["inf"] == math.inf and decoded["-inf"] == -math.inf
    assert math.copysign(1, decoded["-0"]) == -1


def test_large_rows_round_trip(tmp_path: Path) -> None:
    row = {f"metric/{i}": i * 0.5 for i in range(50_000)}
    path = tmp_path / "run.tracklet"
    write_log(path, [encode_history(0, 0.0, True, row)])
    assert decode(1, RunLogReader(path).frames()[0].payload).body["data"] == row


def test_other_records_are_maps_that_round_trip() -> None:
    body = {"set": {"lr": 0.1, "layers": [1, 2], "nested": {"a": None}}}
    record = decode(3, encode(RecordType.CONFIG, body))
    assert record.type is RecordType.CONFIG and record.body == body
    assert record.to_json_dict() == {"seq": 3, "type": "config", **body}


def test_unknown_record_type_is_an_error_not_a_silent_skip() -> None:
    import msgpack

    with pytest.raises(ValueError, match="unknown type 99"):
        decode(1, msgpack.packb([99, {}]))


# -- damage in the middle, and resynchronising ---------------------------------------------


def frame_offsets(path: Path) -> list[int]:
    return [f.offset for f in RunLogReader(path).frames()]


def payloads_of(count: int) -> list[bytes]:
    return [encode_history(i, 1.0 + i, True, {"value": i * 2, "pad": "x" * (i % 7)}) for i in range(count)]


def test_a_corrupt_length_in_the_middle_is_skipped_to_the_next_intact_frame(tmp_path: Path) -> None:
    path = tmp_path / "run.tracklet"
    payloads = payloads_of(50)
    write_log(path, payloads)
    offsets = frame_offsets(path)
    data = bytearray(path.read_bytes())
    for length in (0x00FFFFFF, 0xFFFFFFF0, 3):  # longer than the file, impossible, shorter than the payload
        damaged = bytearray(data)
        damaged[offsets[20] : offsets[20] + 4] = length.to_bytes(4, "little")
        path.write_bytes(bytes(damaged))
        reader = RunLogReader(path)
        with pytest.warns(RunLogDamaged, match=f"at byte {offsets[20]}") as caught:
            frames = reader.frames()
        assert len(caught) == 1
        assert [f.seq for f in frames] == [s for s in range(1, 51) if s != 21]
        assert [f.payload for f in frames] == payloads[:20] + payloads[21:]
        assert reader.skips == [Skip(offsets[20], offsets[21] - offsets[20], reader.skips[0].reason, 21, 1)]
        assert reader.damage is None


def test_a_zeroed_block_in_the_middle_loses_only_the_frames_it_covers(tmp_path: Path) -> None:
    path = tmp_path / "run.tracklet"
    payloads = payloads_of(400)
    write_log(path, payloads)
    offsets = frame_offsets(path)
    data = bytearray(path.read_bytes())
    start, end = offsets[100] + 5, offsets[300] - 3  # from inside frame 101 to inside frame 300
    data[start:end] = bytes(end - start)
    path.write_bytes(bytes(data))
    with pytest.warns(RunLogDamaged, match="200 records lost"):
        frames = RunLogReader(path).frames()
    assert [f.seq for f in frames] == list(range(1, 101)) + list(range(301, 401))
    assert [f.payload for f in frames] == payloads[:100] + payloads[300:]


def test_bytes_inserted_between_frames_lose_no_record(tmp_path: Path) -> None:
    path = tmp_path / "run.tracklet"
    write_log(path, [b"one", b"two", b"three"])
    offsets = frame_offsets(path)
    data = path.read_bytes()
    path.write_bytes(data[: offsets[1]] + b"\xff" * 37 + data[offsets[1] :])
    reader = RunLogReader(path)
    with pytest.warns(RunLogDamaged, match="skipped 37 damaged bytes .* no record lost"):
        assert [f.payload for f in reader.frames()] == [b"one", b"two", b"three"]


def test_gap_payloads_stand_in_for_lost_records_and_mark_the_run(tmp_path: Path) -> None:
    path = tmp_path / "run.tracklet"
    payloads = [encode(RecordType.START, {"run_id": "r1", "start_time": 0.0})] + payloads_of(10)
    write_log(path, payloads)
    offsets = frame_offsets(path)
    data = bytearray(path.read_bytes())
    data[offsets[4] + FRAME_HEAD.size + 3] ^= 0xFF  # frame 5 (step 3)
    data[offsets[5] + 1] ^= 0x01  # and frame 6 (step 4): one stretch of damage
    path.write_bytes(bytes(data))
    with pytest.warns(RunLogDamaged, match="2 records lost"):
        frames = RunLogReader(path, gap_payload=encode_damage).frames()
    assert [f.seq for f in frames] == list(range(1, 12))
    records = [decode(f.seq, f.payload) for f in frames]
    assert [r.type for r in records[4:6]] == [RecordType.LOSS, RecordType.LOSS]
    state = RunState.replay(records)
    assert state.data_lost
    assert state.metadata["data_loss"] == [{"reason": "damaged", "offset": offsets[4], "bytes": offsets[6] - offsets[4],
                                            "records": 2, "detail": "checksum mismatch"}]
    assert state.rows == 8 and state.summary["value"] == 18  # steps 0-2 and 5-9


def test_damage_with_nothing_intact_after_it_is_the_end(tmp_path: Path) -> None:
    path = tmp_path / "run.tracklet"
    write_log(path, payloads_of(5))
    offsets = frame_offsets(path)
    data = bytearray(path.read_bytes())
    data[offsets[4] + FRAME_HEAD.size + 1] ^= 0x40  # the last frame
    path.write_bytes(bytes(data))
    reader = RunLogReader(path)
    with pytest.warns(RunLogDamaged, match="stopped at damage \\(checksum mismatch at byte"):
        assert len(reader.frames()) == 4
    assert reader.skips == []


def test_follow_mode_skips_damage_once_intact_frames_follow_it(tmp_path: Path) -> None:
    path = tmp_path / "run.tracklet"
    write_log(path, [b"one", b"two"])
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01  # "two" is corrupt; nothing follows yet: it may be a frame in the making
    path.write_bytes(bytes(data))
    reader = RunLogReader(path)
    assert [f.payload for f in reader.read_available()] == [b"one"]
    assert reader.damage is not None and reader.skips == []
    frame = FRAME_HEAD.pack(5, zlib.crc32(b"three", zlib.crc32(struct.pack("<Q", 3))), 3) + b"three"
    with open(path, "ab") as f:
        f.write(frame)
    assert [(f.seq, f.payload) for f in reader.read_available()] == [(3, b"three")]
    assert reader.damage is None and [s.missing for s in reader.skips] == [1]


def test_resynchronising_through_megabytes_of_zeros_is_quick(tmp_path: Path) -> None:
    """A zero-filled region (what a power cut can leave) is skipped with C-speed searches, not a
    Python step per byte: the reader gets through 64 MiB of it (if it stepped byte by byte, this
    test would run for minutes)."""
    path = tmp_path / "run.tracklet"
    write_log(path, [b"a", b"b"])
    data = path.read_bytes()
    offsets = frame_offsets(path)
    path.write_bytes(data[: offsets[1]] + bytes(64 * 1024 * 1024) + data[offsets[1] :])
    with pytest.warns(RunLogDamaged, match="no record lost"):
        assert [f.payload for f in RunLogReader(path).frames()] == [b"a", b"b"]


# -- records of a newer format -------------------------------------------------------------


def test_a_record_of_a_newer_format_version_is_skipped_naming_the_version() -> None:
    import msgpack

    record = decode(7, msgpack.packb([14, {"future": True}, 2]))
    assert record.type is RecordType.NEWER
    assert record.body["format_version"] == 2 and record.body["record_type"] == 14
    assert "record 7 skipped" in record.body["message"] and "format version 2" in record.body["message"]
    state = RunState.replay([decode(1, encode(RecordType.START, {"run_id": "r", "start_time": 0.0})), record,
                             decode(8, encode_history(0, 1.0, True, {"v": 1}))])
    assert state.rows == 1 and state.last_seq == 8


def test_a_version_1_record_is_read_as_before_with_or_without_the_version_element() -> None:
    import msgpack

    assert decode(1, msgpack.packb([2, {"set": {"a": 1}}, 1])).body == {"set": {"a": 1}}
    with pytest.raises(ValueError, match="not an integer"):
        decode(1, msgpack.packb([2, {}, "2"]))


# -- the writer's reserve ------------------------------------------------------------------


def test_the_writer_holds_a_reserve_beside_the_log_while_it_is_open(tmp_path: Path) -> None:
    path = tmp_path / "run-x.tracklet"
    writer = RunLogWriter(path)
    assert writer.reserve_path.parent == tmp_path and writer.reserve_path.name.startswith(".")
    assert writer.reserve_path.stat().st_size == RESERVE_BYTES
    writer.append_closing(b"closing")  # frees half of it first
    assert writer.reserve_path.stat().st_size == RESERVE_BYTES // 2
    writer.close()
    assert not writer.reserve_path.exists()
    assert [f.payload for f in RunLogReader(path).frames()] == [b"closing"]
