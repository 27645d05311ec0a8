"""A training process killed with SIGKILL loses nothing that ``log`` had returned from."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.conftest import history_rows, only_run, state_of

TRAIN = textwrap.dedent(
    """
    import sys, tracklet
    run = tracklet.init(mode="offline", config={"lr": 0.1})
    step = 0
    while True:
        run.log({"loss": 1.0 / (step + 1), "step_echo": step})
        if step % 100 == 0:
            run.summary["checkpoint"] = step
            run.config.update({"last_checkpoint": step}, allow_val_change=True)
        print(step, flush=True)
        step += 1
    """
)


def checkpoints_possible(last_step: int) -> tuple[int, ...]:
    """The summary's checkpoint when the last logged step is ``last_step``: the training loop sets
    it right after logging a multiple of 100, so a kill in between leaves the previous one."""
    latest = last_step // 100 * 100
    return (latest, latest - 100) if last_step == latest else (latest,)


def start_training(workdir: Path) -> subprocess.Popen[str]:
    (workdir / "train.py").write_text(TRAIN, encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "train.py"], cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )


def kill_after(proc: subprocess.Popen[str], steps: int) -> int:
    """SIGKILL the process once it has reported ``steps`` logged steps; return the last reported step."""
    assert proc.stdout is not None
    last = -1
    for line in proc.stdout:
        last = int(line)
        if last >= steps:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=30)
    proc.stdout.close()
    return last


def test_sigkill_mid_training_keeps_every_logged_step(workdir: Path) -> None:
    proc = start_training(workdir)
    last_reported = kill_after(proc, 2000)
    assert proc.returncode == -signal.SIGKILL

    run = only_run(workdir)
    rows = history_rows(run.log_path)  # warns (and the test fails) if the file were damaged
    steps = [row["_step"] for row in rows]
    assert steps == list(range(len(steps))), "steps must be complete and in order"
    assert len(steps) - 1 >= last_reported, "every step whose log() returned is on disk"
    assert all(row["step_echo"] == row["_step"] for row in rows)

    state = state_of(run)
    assert state.exit_code is None
    assert state.summary["checkpoint"] in checkpoints_possible(len(steps) - 1)
    # the config is updated right after the summary: the kill may fall between the two
    assert state.config["last_checkpoint"] in (state.summary["checkpoint"], state.summary["checkpoint"] - 100)
    assert run.status == "crashed"


def test_crashed_run_shows_as_crashed_and_a_live_one_as_running(workdir: Path) -> None:
    proc = start_training(workdir)
    assert proc.stdout is not None
    for line in proc.stdout:
        if int(line) >= 10:
            break
    listing = subprocess.run(
        [sys.executable, "-m", "tracklet.cli.main", "runs"], cwd=workdir, capture_output=True, text=True, check=True
    )
    assert " running " in listing.stdout
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    time.sleep(0.1)
    listing = subprocess.run(
        [sys.executable, "-m", "tracklet.cli.main", "runs"], cwd=workdir, capture_output=True, text=True, check=True
    )
    assert " crashed " in listing.stdout


def test_resume_auto_continues_a_killed_run(workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    (workdir / "train.py").write_text(TRAIN.replace('mode="offline"', 'mode="offline", resume="auto"'), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "train.py"], cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    kill_after(proc, 300)
    first = only_run(workdir)
    crashed_rows = len(history_rows(first.log_path))

    result = run_script(
        """
        import tracklet
        run = tracklet.init(mode="offline", resume="auto")
        print(run.id, run.resumed, run.starting_step, run.config["lr"], run.summary["checkpoint"])
        run.log({"loss": 0.0})
        run.finish()
        """,
        name="resume.py",
    )
    assert result.returncode == 0, result.stderr
    run_id, resumed, starting_step, lr, checkpoint = result.stdout.split()
    assert run_id == first.run_id and resumed == "True"
    assert int(starting_step) == crashed_rows
    assert lr == "0.1" and int(checkpoint) in checkpoints_possible(crashed_rows - 1)
    assert not (workdir / "tracklet" / "resume.json").exists(), "a clean finish ends auto-resume"


def test_a_forked_child_does_not_corrupt_the_parents_run_log(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import os, tracklet
        run = tracklet.init(mode="offline")
        run.log({"parent": 0})
        pid = os.fork()
        if pid == 0:
            run.log({"child": 1})
            os._exit(0)
        os.waitpid(pid, 0)
        for step in range(1, 5):
            run.log({"parent": step})
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    assert "forked child process" in result.stderr and "is not recorded" in result.stderr
    rows = history_rows(only_run(workdir).log_path)  # a damaged log would warn, and fail the test
    assert [row["parent"] for row in rows] == [0, 1, 2, 3, 4]
    assert state_of(only_run(workdir)).exit_code == 0
