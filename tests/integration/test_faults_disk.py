"""The run directory's disk fills up mid-run: training goes on, what was recorded stays intact and
readable, the run says (once) from which step nothing more is recorded, and is marked as having
lost data, locally, on the server and in ``tracklet.Api``.

The disk is a real, small filesystem (a tmpfs mounted for the test), so every ENOSPC is real.
Mounting needs root, as CI has; without it these tests fail, never skip.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ServerProcess, api, only_run
from tests.integration.test_server_faults import server_rows, sync
from tracklet.runlog import Record, RecordType, RunLogDamaged
from tracklet.sdk import local

DISK_BYTES = 3 * 1024 * 1024
BALLAST_BYTES = 512 * 1024  # taken from the disk before the run; the test frees it to make room again
PAD = 1000  # bytes of text per logged row: the disk holds a couple of thousand rows


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small-disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mount)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail("these tests need a small real filesystem for the run directory, and `mount -t tmpfs` "
                    f"failed ({result.stderr.strip() or result.returncode}): run them as root, as CI does")
    try:
        (mount / "ballast").write_bytes(b"\x01" * BALLAST_BYTES)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


SCRIPT = """
    import sys, time, tracklet
    run = tracklet.init(project="disk", id={run_id!r}, mode="offline", dir={root!r})
    pad = "p" * {pad}
    for step in range({first}):
        print(f"line {{step}}", flush=True)
        run.log({{"value": step * 2, "pad": pad}})
        if step == 0:
            time.sleep(0.5)  # the console capture records the first line before the disk can fill
    print("phase one done", flush=True)
    if {wait}:
        sys.stdin.readline()  # the test frees space on the disk meanwhile
    for step in range({first}, {total}):
        print(f"line {{step}}", flush=True)
        run.log({{"value": step * 2, "pad": pad}})
    print("done", flush=True)
    run.finish()
"""


def start(workdir: Path, disk: Path, run_id: str, first: int, total: int, wait: bool) -> subprocess.Popen[str]:
    code = SCRIPT.format(run_id=run_id, root=str(disk), pad=PAD, first=first, total=total, wait=wait)
    (workdir / "train.py").write_text(textwrap.dedent(code), encoding="utf-8")
    return subprocess.Popen([sys.executable, "train.py"], cwd=workdir, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def the_warning(stderr: str, run_dir: Path) -> int:
    """The one warning about the full disk; returns the step it names."""
    warned = [line for line in stderr.splitlines() if "WARNING" in line]
    assert len(warned) == 1, stderr
    assert str(run_dir) in warned[0] and "is full" in warned[0], warned[0]
    assert "Recording stays stopped even if space is freed" in warned[0]
    assert "Traceback" not in stderr and "Logging error" not in stderr, stderr
    found = re.search(r"data from step (\d+) on is not recorded", warned[0])
    assert found, warned[0]
    return int(found.group(1))


def check_recorded(disk: Path, stop_step: int) -> local.LocalRun:
    """The run log holds exactly the rows before ``stop_step`` and a prefix of the console lines,
    each once, then the loss mark and the exit record; reading it finds no damage."""
    run = only_run(disk)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RunLogDamaged)
        records = local.read_records(run.log_path)
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    history = [r.body for r in records if r.type is RecordType.HISTORY]
    assert [h["step"] for h in history] == list(range(stop_step))
    assert all(h["data"] == {"value": h["step"] * 2, "pad": "p" * PAD} for h in history)
    lines = [r.body["text"] for r in records if r.type is RecordType.OUTPUT and r.body["text"].startswith("line ")]
    assert lines == [f"line {i}" for i in range(len(lines))] and lines, "console lines: a prefix, each once"
    assert [r.type for r in records[-2:]] == [RecordType.LOSS, RecordType.EXIT]
    assert records[-2].body["reason"] == "disk_full" and records[-2].body["step"] == stop_step
    assert records[-1].body["exit_code"] == 0
    state = local.read_state(run.log_path)
    assert run.status == "finished" and state.data_lost
    assert [(e["reason"], e["step"]) for e in state.metadata["data_loss"]] == [("disk_full", stop_step)]
    return run


def test_disk_full_until_the_end_then_sync_uploads_what_was_recorded(
        small_disk: Path, workdir: Path, server: ServerProcess) -> None:
    proc = start(workdir, small_disk, "full0001", 6000, 6000, wait=False)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    printed = stdout.splitlines()
    assert [line for line in printed if line.startswith("line ")] == [f"line {i}" for i in range(6000)]
    assert "done" in printed  # training went on to the end, and log() never raised
    run_dir = only_run(small_disk).dir
    stop_step = the_warning(stderr, run_dir)
    assert 0 < stop_step < 6000
    run = check_recorded(small_disk, stop_step)
    assert f"nothing recorded from step {stop_step} on" in stderr  # the footer says it too

    listed = subprocess.run([sys.executable, "-m", "tracklet.cli.main", "runs", "--dir", str(small_disk), "--json"],
                            capture_output=True, text=True, timeout=60)
    row = json.loads(listed.stdout)
    assert row["state"] == "finished, data lost" and row["data_lost"][0]["step"] == stop_step

    (small_disk / "ballast").unlink()  # sync keeps its progress in the run directory: give it room
    result = sync(server, str(run.dir), cwd=workdir)
    assert result.returncode == 0, result.stderr
    rows = server_rows(server, "disk", "full0001")
    assert [r["_step"] for r in rows] == list(range(stop_step))
    assert all(r["value"] == r["_step"] * 2 for r in rows)
    records = local.read_records(run.log_path)
    recorded_lines = [r.body["text"] for r in records if r.type is RecordType.OUTPUT]
    with api(server) as client:
        info = client.get("/runs/root/disk/full0001").json()
        console = client.get("/runs/root/disk/full0001/console", params={"limit": 10000}).json()["lines"]
    assert info["state"] == "finished" and info["last_seq"] == records[-1].seq
    assert [line["text"] for line in console] == recorded_lines
    import tracklet

    with tracklet.Api() as client_api:
        loss = client_api.run("root/disk/full0001").metadata["data_loss"]
    assert [(e["reason"], e["step"]) for e in loss] == [("disk_full", stop_step)]


def test_space_freed_mid_run_recording_stays_stopped_and_says_so(small_disk: Path, workdir: Path) -> None:
    proc = start(workdir, small_disk, "free0001", 5000, 6000, wait=True)
    assert proc.stdout is not None and proc.stdin is not None
    printed = []
    for line in proc.stdout:
        printed.append(line.rstrip("\n"))
        if line == "phase one done\n":
            break
    (small_disk / "ballast").unlink()
    proc.stdin.write("go\n")
    proc.stdin.flush()
    stdout, stderr = proc.communicate(timeout=300)
    printed += stdout.splitlines()
    assert proc.returncode == 0, stderr
    assert [line for line in printed if line.startswith("line ")] == [f"line {i}" for i in range(6000)]
    stop_step = the_warning(stderr, only_run(small_disk).dir)
    assert 0 < stop_step < 5000
    check_recorded(small_disk, stop_step)  # nothing from after the space came back


def test_online_run_disk_full_the_agent_uploads_the_recorded_part_and_the_mark(
        small_disk: Path, workdir: Path, server: ServerProcess) -> None:
    code = SCRIPT.format(run_id="live0001", root=str(small_disk), pad=PAD, first=6000, total=6000, wait=False)
    (workdir / "train.py").write_text(textwrap.dedent(code.replace('mode="offline"', 'mode="online"')), encoding="utf-8")
    proc = subprocess.run([sys.executable, "train.py"], cwd=workdir, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    run = only_run(small_disk)
    stop_step = the_warning(proc.stderr, run.dir)
    check_recorded(small_disk, stop_step)
    rows = server_rows(server, "disk", "live0001")
    assert [r["_step"] for r in rows] == list(range(stop_step))
    with api(server) as client:
        info = client.get("/runs/root/disk/live0001").json()
    assert info["state"] == "finished"
    assert [(e["reason"], e["step"]) for e in info["metadata"]["data_loss"]] == [("disk_full", stop_step)]


# -- media files and artifacts on a full disk ----------------------------------------------------------

MEDIA_SCRIPT = """
    import numpy, tracklet
    run = tracklet.init(project="disk", id={run_id!r}, mode="offline", dir={root!r})
    for step in range({total}):
        pixels = numpy.random.default_rng(step).integers(0, 256, (160, 160, 3), dtype=numpy.uint8)
        run.log({{"value": step * 2, "picture": tracklet.Image(pixels)}})  # ~77 kB of PNG a step
        print(f"line {{step}}", flush=True)
    print("done", flush=True)
    run.finish()
"""


def the_file_warning(stderr: str, run_dir: Path, what: str) -> int:
    """The one warning about the full disk, naming the file that could not be written; the step it names."""
    warned = [line for line in stderr.splitlines() if "WARNING" in line]
    assert len(warned) == 1, stderr
    assert str(run_dir) in warned[0] and "is full" in warned[0] and what in warned[0], warned[0]
    assert "Traceback" not in stderr and "Logging error" not in stderr, stderr
    found = re.search(r"data from step (\d+) on is not recorded", warned[0])
    assert found, warned[0]
    return int(found.group(1))


def loss_and_exit(records: list[Record], stop_step: int) -> None:
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    assert [r.type for r in records[-2:]] == [RecordType.LOSS, RecordType.EXIT]
    assert records[-2].body["reason"] == "disk_full" and records[-2].body["step"] == stop_step
    assert records[-1].body["exit_code"] == 0


def test_media_files_on_a_full_disk(small_disk: Path, workdir: Path, server: ServerProcess) -> None:
    """Images are encoded and written off the training thread: the first that does not fit stops
    recording from the step that logged it; every file announced before is whole and decodes to
    the pixels logged, and no half-written file is left or uploaded."""
    import hashlib
    import io

    import numpy
    from PIL import Image

    total = 60
    code = MEDIA_SCRIPT.format(run_id="media001", root=str(small_disk), total=total)
    (workdir / "train.py").write_text(textwrap.dedent(code), encoding="utf-8")
    proc = subprocess.run([sys.executable, "train.py"], cwd=workdir, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert [line for line in proc.stdout.splitlines() if line.startswith("line ")] == [f"line {i}" for i in range(total)]
    run = only_run(small_disk)
    stop_step = the_file_warning(proc.stderr, run.dir, "the media file media/")
    assert 0 < stop_step < total

    with warnings.catch_warnings():
        warnings.simplefilter("error", RunLogDamaged)
        records = local.read_records(run.log_path)
    loss_and_exit(records, stop_step)
    steps = [r.body["step"] for r in records if r.type is RecordType.HISTORY]
    assert steps == list(range(len(steps))) and len(steps) >= stop_step
    announced = {f["path"]: f for r in records if r.type is RecordType.FILES for f in r.body["files"]}
    files_dir = run.dir / "files"
    for path, entry in announced.items():  # announced means whole
        data = (files_dir / path).read_bytes()
        assert len(data) == entry["size"] and hashlib.sha256(data).hexdigest() == entry["sha256"], path
    history = {r.body["step"]: r.body["data"] for r in records if r.type is RecordType.HISTORY}
    for step in range(stop_step):  # every row before the loss: its value, and its image with the pixels logged
        row = history[step]
        assert row["value"] == step * 2
        assert row["picture"]["path"] in announced, step
        logged = numpy.random.default_rng(step).integers(0, 256, (160, 160, 3), dtype=numpy.uint8)
        decoded = numpy.asarray(Image.open(io.BytesIO((files_dir / row["picture"]["path"]).read_bytes())))
        assert (decoded == logged).all(), step
    assert history[stop_step]["picture"]["path"] not in announced  # the file that did not fit
    assert not [p for p in files_dir.rglob(".*")], "no half-written file left behind"
    assert local.read_state(run.log_path).data_lost

    (small_disk / "ballast").unlink()
    result = sync(server, str(run.dir), cwd=workdir)
    assert result.returncode == 0, result.stderr
    rows = server_rows(server, "disk", "media001")
    assert [r["_step"] for r in rows] == steps
    with api(server) as client:
        stored = {f["path"]: f["size"] for f in client.get("/runs/root/disk/media001/files").json()}
        info = client.get("/runs/root/disk/media001").json()
    assert all(stored.get(path) == entry["size"] for path, entry in announced.items())
    # an encoder thread may finish a file just after another's failed (too late to be announced): whole too
    assert all(size == (files_dir / path).stat().st_size for path, size in stored.items() if path.startswith("media/"))
    assert [(e["reason"], e["step"]) for e in info["metadata"]["data_loss"]] == [("disk_full", stop_step)]


ARTIFACT_SCRIPT = """
    import tracklet
    run = tracklet.init(project="disk", id={run_id!r}, mode="offline", dir={root!r})
    for step in range(30):
        run.log({{"value": step * 2}})
        if step == 5:
            small = tracklet.Artifact("small", type="dataset")
            small.add_file("small.bin")
            run.log_artifact(small)
        if step == 20:
            large = tracklet.Artifact("large", type="dataset")
            large.add_file("large.bin")
            run.log_artifact(large)  # more than the disk holds
    print("done", flush=True)
    run.finish()
"""


def test_artifact_staging_on_a_full_disk(small_disk: Path, workdir: Path, server: ServerProcess) -> None:
    """``log_artifact`` stages on a background thread: a copy that does not fit leaves no partial blob,
    no manifest and no record, stops recording from the step it was logged at (one warning), and
    the artifact logged before stays whole; training goes on."""
    import hashlib

    (workdir / "small.bin").write_bytes(b"s" * 1000)
    (workdir / "large.bin").write_bytes(bytes(range(256)) * (4 * 1024 * 1024 // 256))  # 4 MiB > the disk
    code = ARTIFACT_SCRIPT.format(run_id="artif001", root=str(small_disk))
    (workdir / "train.py").write_text(textwrap.dedent(code), encoding="utf-8")
    proc = subprocess.run([sys.executable, "train.py"], cwd=workdir, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "done" in proc.stdout.splitlines()
    run = only_run(small_disk)
    stop_step = the_file_warning(proc.stderr, run.dir, "the artifact 'large'")
    assert stop_step == 21  # logged after the row of step 20 was committed

    records = local.read_records(run.log_path)
    loss_and_exit(records, stop_step)
    steps = [r.body["step"] for r in records if r.type is RecordType.HISTORY]
    assert steps == list(range(len(steps))) and len(steps) > stop_step  # the log itself still had room
    logged = [r.body for r in records if r.type is RecordType.ARTIFACT]
    assert [a["name"] for a in logged] == ["small"]
    blobs = run.dir / "artifacts" / "blobs"
    assert sorted(p.name for p in blobs.iterdir()) == [hashlib.sha256(b"s" * 1000).hexdigest()]
    assert (blobs / hashlib.sha256(b"s" * 1000).hexdigest()).read_bytes() == b"s" * 1000
    assert [p.name for p in (run.dir / "artifacts").glob("*.manifest.json")] == [logged[0]["manifest"].split("/")[-1]]
    assert not [p for p in (run.dir / "artifacts").rglob(".*")], "no half-staged file left behind"

    (small_disk / "ballast").unlink()
    result = sync(server, str(run.dir), cwd=workdir)
    assert result.returncode == 0, result.stderr
    with api(server) as client:
        listed = client.get("/runs/root/disk/artif001/artifacts").json()
        info = client.get("/runs/root/disk/artif001").json()
    assert [a["name"] for a in listed] == ["small"]
    assert [(e["reason"], e["step"]) for e in info["metadata"]["data_loss"]] == [("disk_full", stop_step)]
