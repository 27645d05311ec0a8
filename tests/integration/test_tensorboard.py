"""``init(sync_tensorboard=True)``: what real TensorBoard writers (torch.utils.tensorboard, tensorboardX)
record in a user's script becomes the run's history, compared with what TensorBoard's own reader
finds in the same files; the event files are saved with the run, online and through ``tracklet sync``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import tracklet
from tests.conftest import ServerProcess, history_rows, only_run
from tracklet.integration.tensorboard import namespace, tag_key

SPECIAL = {"_step", "_runtime", "_timestamp", "global_step"}


def run_user_script(workdir: Path, code: str) -> tuple[dict[str, Any], str]:
    (workdir / "train.py").write_text(textwrap.dedent(code), encoding="utf-8")
    proc = subprocess.run([sys.executable, "train.py"], cwd=workdir, env=dict(os.environ), capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def tensorboard_reads(logdir: Path) -> EventAccumulator:
    """TensorBoard's own reader over one log dir, keeping every value (no reservoir sampling)."""
    accumulator = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "histograms": 0, "images": 0})
    accumulator.Reload()
    return accumulator


def tensorboard_scalars(logdir: Path, prefix: str = "") -> dict[tuple[str, int], float]:
    accumulator = tensorboard_reads(logdir)
    return {(prefix + tag, event.step): event.value
            for tag in accumulator.Tags()["scalars"] for event in accumulator.Scalars(tag)}


def tracklet_scalars(rows: list[dict[str, Any]]) -> dict[tuple[str, int], float]:
    return {(key, row["_step"]): value for row in rows for key, value in row.items()
            if key not in SPECIAL and isinstance(value, (int, float))}


TORCH = """
import json
import numpy as np
import pytest
import tracklet
from torch.utils.tensorboard import SummaryWriter

run = tracklet.init(project="tb", sync_tensorboard=True)
writer = SummaryWriter("logs/torch")
rng = np.random.default_rng(7)
weights = rng.normal(size=1000)
picture = rng.integers(0, 256, (3, 16, 24), dtype=np.uint8)
np.save("weights.npy", weights)
np.save("picture.npy", picture)
for step in range(30):
    writer.add_scalar("loss", 1 / (step + 1), step)
    writer.add_scalar("acc/train", step / 30, step)
    if step % 10 == 0:
        writer.add_scalar("lr", 0.1 * 0.5 ** (step // 10), step)
    if step == 12:
        writer.add_histogram("weights", weights, step, bins=64)
        writer.add_histogram("default_bins", weights, step)   # TensorFlow's ~1,500 exponential buckets
        writer.add_image("sample", picture, step)
writer.close()
run.finish()
print(json.dumps({"id": run.id}))
"""


def test_torch_writer_scalars_histogram_and_image_match_tensorboards_reader(
        server: ServerProcess, workdir: Path, tmp_path: Path) -> None:
    report, _ = run_user_script(workdir, TORCH)
    logdir = workdir / "logs" / "torch"
    accumulator = tensorboard_reads(logdir)
    with tracklet.Api() as api:
        run = api.run(f"tb/{report['id']}")
        rows = list(run.scan_history())
        # Scalars: every (tag, step) TensorBoard finds, with the same value; the TB step is the run's step.
        assert tracklet_scalars(rows) == tensorboard_scalars(logdir)
        assert len(tracklet_scalars(rows)) == 30 + 30 + 3
        assert all(row["global_step"] == row["_step"] for row in rows)
        at_12 = next(row for row in rows if row["_step"] == 12)

        # Histograms: TensorBoard's buckets without the empty ones at the ends, from min to max; here the
        # numpy histogram that torch made them from.
        expected = accumulator.Histograms("weights")[0].histogram_value
        histogram = at_12["weights"]
        assert histogram["_type"] == "histogram"
        counts = list(expected.bucket)
        first = next(i for i, c in enumerate(counts) if c)
        last = max(i for i, c in enumerate(counts) if c)
        assert histogram["values"] == [int(c) for c in counts[first:last + 1]]
        assert histogram["bins"] == [expected.min, *expected.bucket_limit[first:last], expected.max]
        assert sum(histogram["values"]) == expected.num == 1000
        weights = np.load(workdir / "weights.npy")
        np_counts, np_edges = np.histogram(weights, bins=64)
        assert histogram["values"] == np_counts.tolist() and histogram["bins"] == np_edges.tolist()
        # TensorFlow's default buckets: more than 512 are used here, so neighbours are merged.
        default = at_12["default_bins"]
        assert len(accumulator.Histograms("default_bins")[0].histogram_value.bucket) > 512 >= len(default["values"])
        assert sum(default["values"]) == 1000
        assert default["bins"][0] == weights.min() and default["bins"][-1] == weights.max()
        assert default["bins"] == sorted(default["bins"])

        # The image: pixel-exact, downloaded from the server.
        reference = at_12["sample"]
        assert (reference["_type"], reference["width"], reference["height"]) == ("image-file", 24, 16)
        downloaded = run.file(reference["path"]).download(str(tmp_path / "download"))
        pixels = np.asarray(PILImage.open(downloaded))
        encoded = accumulator.Images("sample")[0].encoded_image_string
        assert np.array_equal(pixels, np.asarray(PILImage.open(io.BytesIO(encoded))))
        assert np.array_equal(pixels, np.load(workdir / "picture.npy").transpose(1, 2, 0))

        # The event file is saved with the run, byte for byte.
        (event_file,) = logdir.glob("events.out.tfevents.*")
        name = f"tensorboard/torch/{event_file.name}"
        assert name in {f.name for f in run.files()}
        saved = run.file(name).download(str(tmp_path / "download"))
        assert Path(saved).read_bytes() == event_file.read_bytes()


TENSORBOARDX = """
import json
import tracklet
from tensorboardX import SummaryWriter

run = tracklet.init(project="tb", sync_tensorboard=True)   # tensorboardX is imported after init
writer = SummaryWriter("runs/x")
for step in range(0, 50, 5):
    writer.add_scalar("train/loss", 10 - step / 7, step)
    writer.add_scalar("eval/score", step ** 0.5, step)
writer.add_histogram("activations", [0.5, 1.5, 1.5, 2.5, 2.5, 2.5, 3.5], 45)
writer.close()
run.finish()
print(json.dumps({"id": run.id}))
"""


def test_tensorboardx_writer_scalars_match_tensorboards_reader(server: ServerProcess, workdir: Path) -> None:
    report, _ = run_user_script(workdir, TENSORBOARDX)
    logdir = workdir / "runs" / "x"
    with tracklet.Api() as api:
        run = api.run(f"tb/{report['id']}")
        rows = list(run.scan_history())
        assert tracklet_scalars(rows) == tensorboard_scalars(logdir)
        assert {step for _, step in tracklet_scalars(rows)} == set(range(0, 50, 5))
        histogram = next(row for row in rows if row["_step"] == 45)["activations"]
        assert sum(histogram["values"]) == 7
        assert histogram["bins"][0] == 0.5 and histogram["bins"][-1] == 3.5
        assert any(f.name.startswith("tensorboard/x/events.out.tfevents.") for f in run.files())


TWO_WRITERS = """
import json
import tracklet
from torch.utils.tensorboard import SummaryWriter

run = tracklet.init(project="tb", mode="offline", sync_tensorboard=True)
train, val = SummaryWriter("logs/train"), SummaryWriter("logs/val")
for step in range(5):
    train.add_scalar("loss", 1 / (step + 1), step)
    val.add_scalar("loss", 2 / (step + 1), step)
train.add_scalars("parts", {"a": 1.0, "b": 2.0}, 4)   # sub-folders logs/train/parts_a, parts_b
train.close()
val.close()
run.finish()
print(json.dumps({"id": run.id}))
"""


def test_two_log_dirs_get_prefixed_tags_and_sync_uploads_an_offline_run(server: ServerProcess,
                                                                          workdir: Path) -> None:
    report, _ = run_user_script(workdir, TWO_WRITERS)
    local = only_run(workdir)
    rows = history_rows(local.log_path)
    expected = {**tensorboard_scalars(workdir / "logs" / "train", "train/"),
                **tensorboard_scalars(workdir / "logs" / "val", "val/"),
                ("train/parts_a", 4): 1.0, ("train/parts_b", 4): 2.0}
    assert tracklet_scalars(rows) == expected
    files = local.dir / "files"
    saved = sorted(p.relative_to(files).parent.as_posix() for p in files.glob("tensorboard/**/events.out.*"))
    assert saved == ["tensorboard/logs/train", "tensorboard/logs/train/parts_a", "tensorboard/logs/train/parts_b",
                     "tensorboard/logs/val"]

    synced = subprocess.run([sys.executable, "-m", "tracklet.cli.main", "sync"], cwd=workdir, capture_output=True,
                            text=True, timeout=120)
    assert synced.returncode == 0, synced.stderr
    with tracklet.Api() as api:
        run = api.run(f"tb/{report['id']}")
        assert tracklet_scalars(list(run.scan_history())) == expected
        on_server = {f.name for f in run.files()}
        assert {p.relative_to(files).as_posix() for p in files.glob("tensorboard/**/events.out.*")} <= on_server


TENSORS = """
import io
import json
import numpy as np
import pytest
import tracklet
from PIL import Image
from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
from tensorboard.data_compat import make_summary
from tensorboard.plugins.histogram import metadata as histograms
from tensorboard.plugins.image import metadata as images
from tensorboard.plugins.scalar import metadata as scalars
from torch.utils.tensorboard import SummaryWriter

def png(pixels):
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()

run = tracklet.init(project="tb", mode="offline", sync_tensorboard=True)
writer = SummaryWriter("logs")
for step in range(4):
    # TF2 writes a tag's plugin metadata with its first value only.
    metadata = scalars.create_summary_metadata("", "") if step == 0 else SummaryMetadata()
    value = make_summary("loss", metadata, np.float32(1.5 - step / 4))
    writer.file_writer.add_summary(Summary(value=[value]), step)
buckets = np.array([[-1.0, 0.5, 3], [0.5, 2.0, 0], [2.0, 2.25, 5]])   # [left, right, count] rows
value = make_summary("weights", histograms.create_summary_metadata("", ""), buckets)
writer.file_writer.add_summary(Summary(value=[value]), 3)
rng = np.random.default_rng(3)
pictures = [rng.integers(0, 256, (5, 7, 3), dtype=np.uint8) for _ in range(2)]
data = np.array([b"7", b"5", *(png(p) for p in pictures)], dtype=object)
value = make_summary("samples", images.create_summary_metadata("", "", converted_to_tensor=True), data)
writer.file_writer.add_summary(Summary(value=[value]), 3)
np.save("pictures.npy", np.stack(pictures))
writer.close()
run.finish()
print(json.dumps({"id": run.id}))
"""


def test_tensor_summaries_as_tensorflow_2_writes_them(workdir: Path) -> None:
    run_user_script(workdir, TENSORS)
    local = only_run(workdir)
    rows = history_rows(local.log_path)
    assert [(row["_step"], row["loss"]) for row in rows] == [(0, 1.5), (1, 1.25), (2, 1.0), (3, 0.75)]
    last = rows[-1]
    assert last["weights"] == {"_type": "histogram", "values": [3, 0, 5], "bins": [-1.0, 0.5, 2.0, 2.25]}
    assert last["samples"]["_type"] == "images" and len(last["samples"]["items"]) == 2
    for item, picture in zip(last["samples"]["items"], np.load(workdir / "pictures.npy")):
        assert np.array_equal(np.asarray(PILImage.open(local.dir / "files" / item["path"])), picture)


def test_the_prefix_rule() -> None:
    # One log dir: no prefix, unless it is called train or validation.
    assert namespace("/w/runs/exp1", []) is None
    assert namespace("/w/logs/train", []) == "train"
    # More: the path below the folder above the log dirs' common prefix, fixed when each is first seen.
    assert namespace("/w/logs/val", ["/w/logs/train"]) == "val"
    assert namespace("/w/logs/b", ["/w/logs/a"]) == "b"  # and logs/a keeps no prefix
    assert namespace("/w/logs/train2", ["/w/logs/train"]) == "train2"
    assert namespace("/w/runs/exp/loss_train", ["/w/runs/exp"]) == "exp/loss_train"
    assert tag_key("loss", None) == "loss"
    assert tag_key("loss", "val") == "val/loss"
    assert tag_key("a", "val") == "val/a"  # the original's substring test would give "val"
    assert tag_key("m/loss", "exp/m_loss_train") == "exp/m_loss_train"  # add_scalars' own sub-folder


LIVE = """
import json
import time
import tracklet
from torch.utils.tensorboard import SummaryWriter

run = tracklet.init(project="tb", mode="offline", sync_tensorboard=True)
writer = SummaryWriter("logs")
for step in range(5):
    writer.add_scalar("loss", step * 1.0, step)
writer.flush()
deadline = time.monotonic() + 30
while run.summary.get("loss") != 2.0 and time.monotonic() < deadline:
    time.sleep(0.05)
seen = {"loss": run.summary.get("loss"), "step": run.step}
for step in range(5, 8):
    writer.add_scalar("loss", step * 1.0, step)
writer.close()
run.finish()
print(json.dumps(seen))
"""


def test_events_are_logged_while_the_run_goes_on(workdir: Path) -> None:
    seen, _ = run_user_script(workdir, LIVE)
    # Read while training: steps 0-3 logged (3 still open), 4 held back as the file's last step.
    assert seen == {"loss": 2.0, "step": 3}
    rows = history_rows(only_run(workdir).log_path)
    assert [(row["_step"], row["loss"]) for row in rows] == [(step, step * 1.0) for step in range(8)]


STEP_GIVEN = """
import json
import tracklet
from torch.utils.tensorboard import SummaryWriter

run = tracklet.init(project="tb", mode="offline", sync_tensorboard=True)
run.log({"x": 1}, step=5)
run.log({"x": 2}, step=5)
writer = SummaryWriter("logs")
writer.add_scalar("loss", 0.5, 10)
writer.close()
run.finish()
print(json.dumps({"id": run.id}))
"""


def test_a_step_given_to_log_is_ignored_with_one_warning(workdir: Path) -> None:
    _, stderr = run_user_script(workdir, STEP_GIVEN)
    assert stderr.count("Step cannot be set when using tensorboard syncing") == 1, stderr
    rows = history_rows(only_run(workdir).log_path)
    assert [(row["_step"], row.get("x"), row.get("loss")) for row in rows] == [(0, 1, None), (1, 2, None),
                                                                               (10, None, 0.5)]


ALIAS_UNCLOSED = """
import json
import tracklet
from torch.utils.tensorboard import SummaryWriter

run = tracklet.init(project="tb", mode="offline", tensorboard=True)
writer = SummaryWriter("logs", max_queue=1000, flush_secs=3600)   # holds every event in memory
for step in range(3):
    writer.add_scalar("loss", step * 0.25, step)
run.finish()   # the writer is neither flushed nor closed: finish flushes it
print(json.dumps({"id": run.id}))
"""


def test_deprecated_tensorboard_argument_syncs_and_warns(workdir: Path) -> None:
    _, stderr = run_user_script(workdir, ALIAS_UNCLOSED)
    assert "`tensorboard` is deprecated" in stderr and "use `sync_tensorboard`" in stderr
    local = only_run(workdir)
    assert [(row["_step"], row["loss"]) for row in history_rows(local.log_path)] == [(0, 0.0), (1, 0.25), (2, 0.5)]
    assert len(list((local.dir / "files" / "tensorboard").glob("*/events.out.tfevents.*"))) == 1


CORRUPT = """
import json
import tracklet
from torch.utils.tensorboard import SummaryWriter

run = tracklet.init(project="tb", mode="offline", sync_tensorboard=True)
writer = SummaryWriter("logs")
writer.add_scalar("loss", 1.0, 0)
writer.file_writer.event_writer._async_writer.write(b"\\x0a\\xff\\xff")   # a framed record that is no Event
writer.add_scalar("loss", 2.0, 1)
writer.close()
run.log({"after": True})   # most likely before the sync thread has read the file: its steps are late
run.finish()
print(json.dumps({"id": run.id}))
"""


def test_an_unreadable_event_is_skipped_with_one_warning(workdir: Path) -> None:
    _, stderr = run_user_script(workdir, CORRUPT)
    assert stderr.count("sync_tensorboard: skipped an unreadable event") == 1, stderr
    rows = history_rows(only_run(workdir).log_path)
    # Both values, each in a row of its own, in order, whether they were read before the log call or after it.
    assert [(row["global_step"], row["loss"]) for row in rows if "loss" in row] == [(0, 1.0), (1, 2.0)]
    assert len({row["_step"] for row in rows if "loss" in row}) == 2
    assert any(row.get("after") is True for row in rows)


def test_patches_are_in_place_while_the_run_syncs_and_undone_at_finish(workdir: Path) -> None:
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    original, hooks = EventFileWriter.__init__, list(sys.meta_path)
    run = tracklet.init(mode="offline", sync_tensorboard=True)
    assert EventFileWriter.__init__ is not original and len(sys.meta_path) == len(hooks) + 1
    run.finish()
    assert EventFileWriter.__init__ is original and sys.meta_path == hooks
    tracklet.init(mode="disabled", sync_tensorboard=True).finish()  # a disabled run patches nothing
    assert EventFileWriter.__init__ is original


def test_tensorflow_2_writers_are_found_by_their_folder(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TensorFlow is not installed here: a stand-in for its ``gen_summary_ops`` writes the file that
    ``tf.summary.create_file_writer`` would (named by time, host and pid, in the log dir), so the
    patch of the op and the search of the folder run for real; TensorFlow itself does not."""
    import socket
    import time
    import types

    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter

    def create_summary_file_writer(writer: object, logdir: Any, max_queue: int, flush_millis: int,
                                   filename_suffix: str, name: str | None = None) -> None:
        folder = Path(logdir.numpy().decode())  # an eager tensor of the path, as TF passes it
        folder.mkdir(parents=True)
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}.0{filename_suffix}"
        with open(folder / name, "wb") as file:
            for step in range(3):
                value = summary_pb2.Summary.Value(tag="loss", simple_value=step / 2)
                event = event_pb2.Event(wall_time=time.time(), step=step, summary=summary_pb2.Summary(value=[value]))
                RecordWriter(file).write(event.SerializeToString())

    class EagerTensor:
        def numpy(self) -> bytes:
            return b"tf-logs/run1"

    ops = types.SimpleNamespace(__name__="tensorflow.python.ops.gen_summary_ops",
                                create_summary_file_writer=create_summary_file_writer)
    monkeypatch.setitem(sys.modules, ops.__name__, ops)
    run = tracklet.init(mode="offline", sync_tensorboard=True)
    # what tf.summary.create_file_writer("tf-logs/run1") calls
    ops.create_summary_file_writer(object(), logdir=EagerTensor(), max_queue=10, flush_millis=100, filename_suffix=".v2")
    run.finish()
    assert ops.create_summary_file_writer is create_summary_file_writer
    local = only_run(workdir)
    assert [(row["_step"], row["loss"]) for row in history_rows(local.log_path)] == [(0, 0.0), (1, 0.5), (2, 1.0)]
    assert len(list((local.dir / "files" / "tensorboard" / "run1").glob("events.out.tfevents.*.v2"))) == 1
