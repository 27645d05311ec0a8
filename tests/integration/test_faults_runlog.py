"""A damaged run log: a bit flipped in the middle, a corrupt frame length, a record from a newer
format version, and a torn tail. Every intact record before and after the damage is read and
uploaded (each once), and the reader, ``tracklet sync`` and ``tracklet runlog dump`` say what they
skipped, where, and how much."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import msgpack
import pytest

from tests.conftest import ServerProcess, api, only_run
from tests.integration.test_server_faults import server_rows, sync
from tracklet.runlog import RecordType, RunLogDamaged, RunLogReader, RunLogWriter, decode
from tracklet.runlog.framing import FRAME_HEAD
from tracklet.sdk import local

STEPS = 300
FLIPPED_STEP = 100  # a bit of this row's payload is flipped
BAD_LENGTH_STEP = 200  # this row's frame length is overwritten
NEWER_AFTER_STEP = 150  # a record of run log format version 2 follows this row

SCRIPT = f"""
import tracklet
run = tracklet.init(project="damage", id="dmg00001", mode="offline")
for step in range({STEPS}):
    print(f"line {{step}}", flush=True)
    run.log({{"value": step * 2, "label": f"s{{step}}"}})
run.finish()
"""


def reframe_with_newer_record(log: Path) -> None:
    """Rewrite the log with a record of format version 2 inserted after step ``NEWER_AFTER_STEP``
    (sequence numbers renumbered, as a newer writer would have written them)."""
    frames = RunLogReader(log).frames()
    payloads: list[bytes] = []
    for frame in frames:
        payloads.append(frame.payload)
        record = decode(frame.seq, frame.payload)
        if record.type is RecordType.HISTORY and record.body["step"] == NEWER_AFTER_STEP:
            payloads.append(msgpack.packb([14, {"from": "the future"}, 2]))
    log.unlink()
    writer = RunLogWriter(log, first_seq=frames[0].seq)
    for payload in payloads:
        writer.append(payload)
    writer.close()


def offset_of_step(log: Path, step: int) -> tuple[int, int]:
    """The byte offset and sequence number of the history frame at ``step``."""
    for frame in RunLogReader(log).frames():
        record = decode(frame.seq, frame.payload)
        if record.type is RecordType.HISTORY and record.body["step"] == step:
            return frame.offset, frame.seq
    raise AssertionError(f"no row at step {step}")


def test_damaged_log_is_read_and_synced_around_the_damage(server: ServerProcess, run_script, workdir: Path) -> None:
    result = run_script(SCRIPT)
    assert result.returncode == 0, result.stderr
    run = only_run(workdir)
    log = run.log_path
    original = local.read_records(log)
    lines_before = [r.body["text"] for r in original if r.type is RecordType.OUTPUT]
    assert [t for t in lines_before if t.startswith("line ")] == [f"line {i}" for i in range(STEPS)]

    reframe_with_newer_record(log)
    flipped, flipped_seq = offset_of_step(log, FLIPPED_STEP)
    bad_length, bad_length_seq = offset_of_step(log, BAD_LENGTH_STEP)
    data = bytearray(log.read_bytes())
    data[flipped + FRAME_HEAD.size + 4] ^= 0x08
    data[bad_length : bad_length + 4] = (0x00FFFFFF).to_bytes(4, "little")
    torn_at = len(data) - 3  # the exit record, cut short: the process died writing it
    log.write_bytes(bytes(data[:torn_at]))

    # the project's reader: everything intact, each damage named with its offset and size
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = local.read_records(log)
    messages = [str(w.message) for w in caught if issubclass(w.category, RunLogDamaged)]
    assert any(f"at byte {flipped} (checksum mismatch); 1 record lost" in m for m in messages), messages
    assert any(f"at byte {bad_length} (corrupt frame length 16777215); 1 record lost" in m for m in messages), messages
    assert any("skipped: it is from run log format version 2" in m for m in messages), messages
    assert any("stopped at damage (torn frame" in m for m in messages), messages
    steps = [r.body["step"] for r in records if r.type is RecordType.HISTORY]
    expected_steps = [s for s in range(STEPS) if s not in (FLIPPED_STEP, BAD_LENGTH_STEP)]
    assert steps == expected_steps
    assert [r.seq for r in records] == list(range(1, len(records) + 1))  # lost ones stand in as loss records
    assert [r.seq for r in records if r.type is RecordType.LOSS] == [flipped_seq, bad_length_seq]
    with pytest.warns(RunLogDamaged):
        state = local.read_state(log)
    assert [e["offset"] for e in state.metadata["data_loss"]] == [flipped, bad_length]
    assert [t for t in (r.body["text"] for r in records if r.type is RecordType.OUTPUT)] == lines_before

    dump = subprocess.run([sys.executable, "-m", "tracklet.cli.main", "runlog", "dump", str(run.dir)],
                          capture_output=True, text=True, timeout=60)
    assert dump.returncode == 1
    assert "skipped" in dump.stderr and f"at byte {flipped}" in dump.stderr and f"at byte {bad_length}" in dump.stderr
    dumped = [json.loads(line) for line in dump.stdout.splitlines()]
    assert [d["format_version"] for d in dumped if d["type"] == "newer"] == [2]

    listed = subprocess.run([sys.executable, "-m", "tracklet.cli.main", "runs", "--json"], cwd=workdir,
                            capture_output=True, text=True, timeout=60)
    assert json.loads(listed.stdout)["state"] == "crashed, data lost"

    # sync: every intact record on the server, once; what was skipped is printed
    synced = sync(server, str(run.dir), cwd=workdir)
    assert synced.returncode == 0, synced.stderr
    for expected in (f"at byte {flipped} (checksum mismatch); 1 record lost",
                     f"at byte {bad_length} (corrupt frame length 16777215); 1 record lost",
                     "skipped: it is from run log format version 2; this Tracklet reads up to version 1",
                     "stopped at damage (torn frame"):
        assert expected in synced.stderr, synced.stderr
    rows = server_rows(server, "damage", "dmg00001")
    assert [r["_step"] for r in rows] == expected_steps
    assert all(r["value"] == r["_step"] * 2 and r["label"] == f"s{r['_step']}" for r in rows)
    with api(server) as client:
        info = client.get("/runs/root/damage/dmg00001").json()
        console = client.get("/runs/root/damage/dmg00001/console", params={"limit": 10000}).json()["lines"]
    assert info["last_seq"] == records[-1].seq
    assert info["state"] == "crashed"  # its exit record is torn
    assert [line["text"] for line in console] == lines_before
    assert [(e["reason"], e["offset"], e["records"]) for e in info["metadata"]["data_loss"]] == [
        ("damaged", flipped, 1), ("damaged", bad_length, 1)]
    again = sync(server, str(run.dir), cwd=workdir)
    assert again.returncode == 0 and "already uploaded" in again.stdout
    assert len(server_rows(server, "damage", "dmg00001")) == len(expected_steps)


@pytest.mark.parametrize("cut", [1, FRAME_HEAD.size + 1])
def test_a_torn_tail_alone_loses_only_the_torn_record(server: ServerProcess, run_script, workdir: Path, cut: int) -> None:
    assert run_script(SCRIPT).returncode == 0
    run = only_run(workdir)
    frames = RunLogReader(run.log_path).frames()
    data = run.log_path.read_bytes()
    run.log_path.write_bytes(data[: frames[-1].offset + cut])  # the exit record is torn
    synced = sync(server, str(run.dir), cwd=workdir)
    assert synced.returncode == 0, synced.stderr
    assert "stopped at damage (torn frame" in synced.stderr
    assert [r["_step"] for r in server_rows(server, "damage", "dmg00001")] == list(range(STEPS))
    with api(server) as client:
        info = client.get("/runs/root/damage/dmg00001").json()
    assert info["last_seq"] == frames[-2].seq and "data_loss" not in info["metadata"]
