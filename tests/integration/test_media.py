"""Media logged by real scripts: files in the run directory, uploaded by the agent or `sync`, read back
with ``tracklet.Api`` and decoded as a user would (PNG pixels, WAV samples, video frames, table rows)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

import tracklet
from tests.conftest import ServerProcess, api, only_run

MEDIA_SCRIPT = """
import numpy as np, tracklet
rng = np.random.default_rng(7)
run = tracklet.init(project="media", id="media001", mode={mode!r})
for step in range(3):
    pixels = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)
    np.save(f"pixels{{step}}.npy", pixels)
    run.log({{"samples": tracklet.Image(pixels, caption=f"step {{step}}"),
              "gray": tracklet.Image(np.linspace(0, 1, 64).reshape(8, 8)),
              "pair": [tracklet.Image(pixels), tracklet.Image(pixels[:, :, 0])],
              "weights": tracklet.Histogram(rng.normal(size=1000), num_bins=20),
              "loss": 1 / (step + 1)}})
table = tracklet.Table(columns=["id", "label", "score", "ok", "missing", "thumb"])
table.add_data(1, "cat", 0.5, True, None, tracklet.Image(np.zeros((4, 4, 3), np.uint8)))
table.add_data(2, "dog", float("nan"), False, None, None)
samples = (np.sin(np.linspace(0, 200, 8000)) * 0.5).astype(np.float32)
np.save("samples.npy", samples)
frames = rng.integers(0, 256, (12, 3, 31, 45), dtype=np.uint8)
run.log({{"predictions": table, "tone": tracklet.Audio(samples, sample_rate=8000, caption="tone"),
          "clip": tracklet.Video(frames, fps=6), "clip_webm": tracklet.Video(frames, fps=6, format="webm"),
          "report": tracklet.Html("<h1>Report</h1><script>alert(1)</script>")}})
run.log({{"samples": tracklet.Image(np.load("pixels0.npy"), caption="again")}})  # same pixels: one file
run.finish()
"""


def media_run(run_script, mode: str) -> None:  # type: ignore[no-untyped-def]
    result = run_script(MEDIA_SCRIPT.format(mode=mode), timeout=120)
    assert result.returncode == 0, result.stderr


def check_media(rows: list[dict], fetch, workdir: Path) -> None:  # type: ignore[no-untyped-def]
    """Every media value decodes to what the script logged; ``fetch(path)`` returns a file's bytes."""
    from PIL import Image

    assert [r["_step"] for r in rows] == [0, 1, 2, 3, 4]
    for step in range(3):
        ref = rows[step]["samples"]
        assert ref["_type"] == "image-file" and ref["caption"] == f"step {step}"
        assert (ref["width"], ref["height"], ref["format"]) == (40, 24, "png")
        decoded = np.asarray(Image.open(io.BytesIO(fetch(ref["path"]))))
        assert np.array_equal(decoded, np.load(workdir / f"pixels{step}.npy"))  # pixel-exact
        pair = rows[step]["pair"]
        assert pair["_type"] == "images" and len(pair["items"]) == 2
        assert pair["items"][0]["path"] == ref["path"]  # same pixels, same file
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(fetch(pair["items"][1]["path"])))),
                              np.load(workdir / f"pixels{step}.npy")[:, :, 0])
        histogram = rows[step]["weights"]
        assert histogram["_type"] == "histogram" and sum(histogram["values"]) == 1000
        assert len(histogram["bins"]) == len(histogram["values"]) + 1 == 21
    gray = np.asarray(Image.open(io.BytesIO(fetch(rows[0]["gray"]["path"]))))
    assert gray.shape == (8, 8) and gray[0, 0] == 0 and gray[-1, -1] == 255
    assert rows[4]["samples"]["path"] == rows[0]["samples"]["path"]

    table_ref = rows[3]["predictions"]
    assert (table_ref["_type"], table_ref["nrows"], table_ref["ncols"]) == ("table-file", 2, 6)
    table = json.loads(fetch(table_ref["path"]))
    assert table["columns"] == ["id", "label", "score", "ok", "missing", "thumb"]
    assert table["data"][0][:5] == [1, "cat", 0.5, True, None] and table["data"][1][:5] == [2, "dog", "NaN", False, None]
    thumb = np.asarray(Image.open(io.BytesIO(fetch(table["data"][0][5]["path"]))))
    assert thumb.shape == (4, 4, 3) and not thumb.any()

    tone = rows[3]["tone"]
    assert (tone["sample_rate"], tone["duration"], tone["caption"]) == (8000, 1.0, "tone")
    with wave.open(io.BytesIO(fetch(tone["path"]))) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getnframes()) == (8000, 1, 8000)
        pcm = np.frombuffer(wav.readframes(8000), "<i2")
    assert np.abs(pcm / 32767 - np.load(workdir / "samples.npy")).max() < 1e-4

    for key, container in (("clip", "mp4"), ("clip_webm", "webm")):
        clip = rows[3][key]
        assert (clip["format"], clip["frames"], clip["width"], clip["height"], clip["fps"]) == (container, 12, 45, 31, 6)
        assert clip["path"].endswith("." + container)
        assert decoded_frames(fetch(clip["path"])) == 12

    report = rows[3]["report"]
    assert fetch(report["path"]) == b"<h1>Report</h1><script>alert(1)</script>"


def decoded_frames(data: bytes) -> int:
    import av

    with av.open(io.BytesIO(data)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_media_online_are_uploaded_and_read_back(server: ServerProcess, run_script, workdir: Path,
                                                  tmp_path: Path) -> None:
    media_run(run_script, "online")
    with tracklet.Api() as client:
        run = client.run("root/media/media001")
        rows = list(run.scan_history())

        def fetch(path: str) -> bytes:
            return Path(run.file(path).download(str(tmp_path / "downloads"), exist_ok=True)).read_bytes()

        check_media(rows, fetch, workdir)
        assert run.summary["samples"]["caption"] == "again"  # the summary keeps the last reference
        assert run.summary["predictions"]["_type"] == "table-file"
        names = {f.name for f in run.files()}
        local = only_run(workdir)
        on_disk = {p.relative_to(local.dir / "files").as_posix() for p in (local.dir / "files" / "media").rglob("*")
                   if p.is_file()}
        assert on_disk and on_disk <= names
        assert len([n for n in on_disk if n.startswith("media/images/")]) == 8  # 3 × 2 distinct + gray + thumb

    with api(server) as http:
        keys = http.get("/projects/root/media/keys").json()
        assert keys["media"] == {"clip": "video-file", "clip_webm": "video-file", "gray": "image-file",
                                 "pair": "images", "predictions": "table-file", "report": "html-file",
                                 "samples": "image-file", "tone": "audio-file", "weights": "histogram"}
        assert "loss" in keys["keys"] and "samples" not in keys["keys"]
        assert http.get("/runs/root/media/media001/history/keys").json()["media"] == keys["media"]
        media = http.get("/projects/root/media/media", params={"key": "samples", "runs": "media001,nope"}).json()
        assert [v["step"] for v in media["runs"]["media001"]] == [0, 1, 2, 4] and media["missing"] == ["nope"]
        assert media["runs"]["media001"][3]["value"]["caption"] == "again"
        only_later = http.get("/projects/root/media/media", params={"key": "samples", "runs": "media001",
                                                                     "min_step": 2}).json()
        assert [v["step"] for v in only_later["runs"]["media001"]] == [2, 4]

        image = http.get(f"/runs/root/media/media001/files/{rows[0]['samples']['path']}")
        assert image.headers["content-type"] == "image/png"
        assert image.headers["x-content-type-options"] == "nosniff"
        assert image.headers["content-security-policy"] == "sandbox"
        assert "content-disposition" not in image.headers
        page = http.get(f"/runs/root/media/media001/files/{rows[3]['report']['path']}")
        assert page.headers["content-disposition"] == "attachment"  # never a page of the UI's origin
        assert page.headers["content-security-policy"] == "sandbox"
        video = http.get(f"/runs/root/media/media001/files/{rows[3]['clip']['path']}")
        assert video.headers["content-type"] == "video/mp4"


def test_offline_media_stay_in_the_run_directory_and_sync_uploads_them(server: ServerProcess, run_script,
                                                                        workdir: Path) -> None:
    media_run(run_script, "offline")
    local = only_run(workdir)
    rows = [dict(r) for r in local_rows(local.dir)]
    check_media(rows, lambda path: (local.dir / "files" / path).read_bytes(), workdir)
    with tracklet.Api() as client:
        assert not [r.id for r in client.runs("root/media")]
    synced = subprocess.run([sys.executable, "-m", "tracklet.cli.main", "sync", str(local.dir)], cwd=workdir,
                            capture_output=True, text=True, timeout=120)
    assert synced.returncode == 0, synced.stderr
    with tracklet.Api() as client:
        run = client.run("root/media/media001")
        assert [f.name for f in run.files() if f.name.startswith("media/")] == sorted(
            p.relative_to(local.dir / "files").as_posix() for p in (local.dir / "files" / "media").rglob("*")
            if p.is_file())
        rows = list(run.scan_history())
        assert rows[0]["samples"]["path"].startswith("media/images/")


def local_rows(run_dir: Path) -> list[dict]:
    from tests.conftest import history_rows

    return history_rows(next(run_dir.glob("run-*.tracklet")))


def test_bad_media_raise_usage_errors_and_lose_nothing(run_script, workdir: Path) -> None:
    result = run_script("""
        import numpy as np, tracklet
        run = tracklet.init(project="media", mode="offline")
        run.log({"img": tracklet.Image(np.zeros((4, 4), np.uint8)), "loss": 1.0})
        cases = [
            lambda: tracklet.Image(np.zeros((2, 4, 4, 3))),
            lambda: tracklet.Image(np.full((4, 4), 1.5)),
            lambda: tracklet.Image(np.zeros((4, 4, 3)), masks={"m": 1}),
            lambda: tracklet.Table(columns=["a", "b"], data=[[1, 2, 3]]),
            lambda: tracklet.Table(columns=["a"], data=[[object()]]),
            lambda: tracklet.Video(np.zeros((4, 4), np.uint8)),
            lambda: tracklet.Video(np.zeros((2, 3, 4, 4), np.float32)),
            lambda: tracklet.Histogram(list(range(10)), num_bins=513),
            lambda: tracklet.Audio(np.zeros(10)),
            lambda: tracklet.Audio(np.full(10, 2.0), sample_rate=8000),
            lambda: run.log({"x": object()}),
        ]
        for case in cases:
            try:
                case()
            except tracklet.UsageError as exc:
                print("UsageError:", exc)
            else:
                print("no error")
        run.log({"loss": 0.5})
        run.finish()
    """)
    assert result.returncode == 0, result.stderr
    messages = [line for line in result.stdout.splitlines() if line.startswith(("UsageError", "no error"))]
    expected = ["Image: the array must be 2-D (HW) or 3-D (HWC or CHW), got 4-D",
                "Image: float pixels must be in [0, 1], got values from 1.5 to 1.5",
                "Image: masks and boxes are not supported yet",
                "Table: row 0 has 3 values for 2 columns",
                "Table: the cell in column 'a', row 0 is a object",
                "Video: frames must be a 4-D array, T×C×H×W or T×H×W×C, got 2-D",
                "Video: frames must be uint8 (0-255), got dtype float32",
                "Histogram: num_bins must be an integer from 1 to 512, got 513",
                "Audio: sample_rate must be a positive integer for an array of samples, got None",
                "Audio: float samples must be finite and in [-1, 1]",
                "log: the value of 'x' is a builtins.object, which cannot be logged"]
    assert len(messages) == len(expected)
    for message, start in zip(messages, expected):
        assert message.startswith("UsageError: " + start), message
    rows = local_rows(only_run(workdir).dir)
    assert [r["loss"] for r in rows] == [1.0, 0.5] and rows[0]["img"]["_type"] == "image-file"


def test_a_missing_encoder_names_the_pip_install(run_script) -> None:
    result = run_script("""
        import sys
        sys.modules["av"] = None  # as if PyAV were not installed
        import numpy as np, tracklet
        try:
            tracklet.Video(np.zeros((2, 3, 4, 4), np.uint8))
        except tracklet.UsageError as exc:
            print(exc)
    """)
    assert "Video needs the av package: pip install av" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("layout", ["HWC", "CHW", "torch"])
def test_image_layouts_and_sources(run_script, workdir: Path, layout: str) -> None:
    result = run_script(f"""
        import numpy as np, tracklet
        from PIL import Image
        pixels = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
        layout = {layout!r}
        if layout == "HWC":
            value = pixels
        elif layout == "CHW":
            value = pixels.transpose(2, 0, 1).astype(np.float64) / 255
        else:
            import torch
            value = torch.from_numpy(pixels.transpose(2, 0, 1).copy())
        Image.fromarray(pixels).save("from_file.png")
        with tracklet.init(project="media", mode="offline") as run:
            run.log({{"a": tracklet.Image(value), "pil": tracklet.Image(Image.fromarray(pixels)),
                      "file": tracklet.Image("from_file.png")}})
    """)
    assert result.returncode == 0, result.stderr
    from PIL import Image

    run_dir = only_run(workdir).dir
    row = local_rows(run_dir)[0]
    expected = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    for key in ("a", "pil", "file"):
        assert (row[key]["width"], row[key]["height"]) == (7, 5)
        assert np.array_equal(np.asarray(Image.open(run_dir / "files" / row[key]["path"])), expected), key


def test_media_reach_the_server_while_the_run_goes_on(server: ServerProcess, workdir: Path) -> None:
    import time

    from tests.conftest import start_script

    script = start_script(workdir, """
        import sys, numpy as np, tracklet
        run = tracklet.init(project="media", id="live0001")
        run.log({"frame": tracklet.Image(np.full((6, 6, 3), 200, np.uint8))})
        print("logged", flush=True)
        sys.stdin.readline()
        run.finish()
    """, stdin=True)
    try:
        assert script.stdout is not None and script.stdout.readline().strip() == "logged"
        deadline, found = time.monotonic() + 30, []
        with api(server) as http:
            while time.monotonic() < deadline and not found:
                media = http.get("/projects/root/media/media", params={"key": "frame", "runs": "live0001"}).json()
                found = media["runs"].get("live0001", [])
                time.sleep(0.2)
            assert found, "the image's reference did not reach the server while the run was going on"
            image = http.get(f"/runs/root/media/live0001/files/{found[0]['value']['path']}")
            assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"
            assert http.get("/runs/root/media/live0001").json()["state"] == "running"
    finally:
        assert script.stdin is not None
        script.stdin.write("\n")
        script.stdin.close()
        assert script.wait(timeout=60) == 0
        assert script.stdout is not None
        script.stdout.close()
