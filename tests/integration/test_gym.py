"""``init(monitor_gym=True)``: videos that gymnasium's RecordVideo writes are logged as they are
written, read back from the server (online, and offline + ``tracklet sync``) and decoded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import av

import tracklet
from tests.conftest import ServerProcess, history_rows, only_run, run_dirs

QUIET = {"SDL_VIDEODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}

# Episodes 0, 2 and 3 are recorded with a different length each. RecordVideo writes a video when
# the next episode starts (episodes 0 and 2) or at env.close() (episode 3). The lengths are ones
# that moviepy encodes exactly: moviepy 2.2 drops the last frame of 11 to 13 frames at 50 fps.
CARTPOLE = """
import json
import gymnasium as gym
from gymnasium.wrappers import RecordVideo
import tracklet

run = tracklet.init(project="gym", monitor_gym=True)
env = RecordVideo(gym.make("CartPole-v1", render_mode="rgb_array"), "recordings",
                  episode_trigger=lambda episode: episode in (0, 2, 3))
lengths = {0: 5, 1: 3, 2: 7, 3: 9}
captured, appeared = [], []

def note_recording():
    if env.recording:  # what this reset/close writes, and the step the run is at
        captured.append(len(env.recorded_frames))
        appeared.append(run.step)

for episode, length in lengths.items():
    note_recording()
    env.reset(seed=episode)
    for t in range(length):
        _, _, terminated, truncated, _ = env.step(t % 2)  # alternating pushes keep the pole up
        assert not (terminated or truncated)
    run.log({"episode": episode})
note_recording()
env.close()
run.finish()
print(json.dumps({"id": run.id, "captured": captured, "appeared": appeared}))
"""


def run_user_script(workdir: Path, code: str, env: dict[str, str] | None = None) -> dict:  # type: ignore[type-arg]
    (workdir / "train.py").write_text(textwrap.dedent(code), encoding="utf-8")
    proc = subprocess.run([sys.executable, "train.py"], cwd=workdir, env={**os.environ, **QUIET, **(env or {})},
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The report is the last line: pygame and moviepy may print before it.
    return json.loads(proc.stdout.strip().splitlines()[-1])


def frames_in(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def check_cartpole_run(run_path: str, report: dict, workdir: Path, download: Path) -> None:  # type: ignore[type-arg]
    """The server has one row per written video, under "videos", at the step where it appeared;
    each file is the one RecordVideo wrote and decodes to the frames it captured."""
    assert report["captured"] == [6, 8, 10]  # a frame at reset and one per step
    assert report["appeared"] == [1, 4, 6]  # after episode 0's row, after episode 2's, after episode 3's
    with tracklet.Api() as api:
        run = api.run(run_path)
        rows = list(run.scan_history())
        assert [row["_step"] for row in rows] == list(range(7))
        video_rows = [row for row in rows if "videos" in row]
        assert [row["_step"] for row in video_rows] == report["appeared"]
        for row in video_rows:
            assert set(row) - {"_step", "_runtime", "_timestamp"} == {"videos"}  # a row of its own, as wandb.log
        assert [row["episode"] for row in rows if "episode" in row] == [0, 1, 2, 3]
        for row, episode, frames in zip(video_rows, (0, 2, 3), report["captured"]):
            reference = row["videos"]
            assert reference["_type"] == "video-file" and reference["format"] == "mp4"
            assert reference["path"].startswith("media/videos/")
            saved = Path(run.file(reference["path"]).download(str(download), exist_ok=True))
            assert saved.read_bytes() == (workdir / "recordings" / f"rl-video-episode-{episode}.mp4").read_bytes()
            assert frames_in(saved) == frames
        assert run.summary["videos"]["path"] == video_rows[-1]["videos"]["path"]


def test_recorded_episodes_are_logged_online_as_they_are_written(server: ServerProcess, workdir: Path,
                                                                  tmp_path: Path) -> None:
    report = run_user_script(workdir, CARTPOLE)
    check_cartpole_run(f"gym/{report['id']}", report, workdir, tmp_path / "download")


def test_offline_videos_are_uploaded_by_sync(server: ServerProcess, workdir: Path, tmp_path: Path) -> None:
    report = run_user_script(workdir, CARTPOLE, env={"TRACKLET_MODE": "offline"})
    local = only_run(workdir)
    assert local.dir.name.startswith("offline-run-")
    references = [row["videos"] for row in history_rows(local.log_path) if "videos" in row]
    assert [frames_in(local.dir / "files" / ref["path"]) for ref in references] == report["captured"]
    synced = subprocess.run([sys.executable, "-m", "tracklet.cli.main", "sync"], cwd=workdir, capture_output=True,
                            text=True, timeout=120)
    assert synced.returncode == 0, synced.stderr
    check_cartpole_run(f"gym/{report['id']}", report, workdir, tmp_path / "download")


def test_the_key_is_video_n_when_the_path_holds_one(workdir: Path) -> None:
    from tracklet.integration.gym import video_key

    # old gym's Monitor: openaigym.video.<monitor>.<pid>.video<episode>.mp4
    assert video_key("/runs/openaigym.video.3.1234.video000000.mp4") == "video.3"
    assert video_key("/runs/rl-video-episode-0.mp4") == "videos"
    assert video_key("video.3.mp4") == "videos"  # the original's pattern needs a character before it
    report = run_user_script(workdir, """
        import json
        import gymnasium as gym
        from gymnasium.wrappers import RecordVideo
        import tracklet

        run = tracklet.init(mode="offline", monitor_gym=True)
        env = RecordVideo(gym.make("CartPole-v1", render_mode="rgb_array"), "out", name_prefix="openaigym.video.7")
        env.reset(seed=0)
        env.step(0)
        env.close()
        run.finish()
        print(json.dumps({}))
    """)
    assert report == {}
    rows = history_rows(only_run(workdir).log_path)
    assert [sorted(set(row) - {"_runtime", "_timestamp"}) for row in rows] == [["_step", "video.7"]]


def test_the_patch_is_undone_at_finish(workdir: Path) -> None:
    report = run_user_script(workdir, """
        import json
        import gymnasium as gym
        from gymnasium.wrappers import RecordVideo
        import tracklet

        def record(folder):
            env = RecordVideo(gym.make("CartPole-v1", render_mode="rgb_array"), folder)
            env.reset(seed=0)
            env.step(0)
            env.close()

        original = RecordVideo.stop_recording
        with tracklet.init(mode="offline", monitor_gym=True) as first:
            patched = RecordVideo.stop_recording is not original
            record("first")
        with tracklet.init(mode="offline") as second:
            record("second")
        print(json.dumps({"patched": patched, "restored": RecordVideo.stop_recording is original,
                          "first": first.id, "second": second.id}))
    """)
    assert report["patched"] and report["restored"]
    runs = {run.run_id: run for run in run_dirs(workdir)}
    assert (workdir / "second" / "rl-video-episode-0.mp4").is_file()
    assert ["videos" in row for row in history_rows(runs[report["first"]].log_path)] == [True]
    assert history_rows(runs[report["second"]].log_path) == []


def test_without_gymnasium_or_gym_init_raises_the_originals_error(workdir: Path) -> None:
    report = run_user_script(workdir, """
        import json, sys
        sys.modules["gymnasium"] = sys.modules["gym"] = None  # as if neither were installed
        import tracklet

        try:
            tracklet.init(mode="offline", monitor_gym=True)
        except tracklet.Error as exc:
            print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
    """)
    assert report == {"error": "Error", "message": "monitor_gym: Couldn't import the gymnasium python package, "
                                                   "install with `pip install gymnasium`"}
    assert not (workdir / "tracklet").exists()
