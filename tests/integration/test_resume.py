"""resume, resume_from (rewind) and fork_from against the runs of this directory."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import history_rows, run_dirs, state_of

FIRST = """
import tracklet
run = tracklet.init(mode="offline", id="base1234", config={"lr": 0.1, "layers": 2}, tags=["a"], notes="first")
run.define_metric("loss", summary="min")
for step in range(10):
    run.log({"loss": 10 - step})
run.finish()
"""


def test_resume_allow_continues_steps_config_summary_and_runtime(run_script, workdir: Path) -> None:
    assert run_script(FIRST).returncode == 0
    result = run_script(
        """
        import tracklet
        run = tracklet.init(mode="offline", id="base1234", resume="allow", config={"lr": 0.2, "extra": 1})
        print(run.resumed, run.starting_step, run.step, dict(run.config.items()), run.tags, run.notes)
        print(run.summary["loss"])
        run.log({"loss": 0.5})
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    first_line, second_line = result.stdout.strip().splitlines()
    assert first_line == "True 10 10 {'lr': 0.2, 'layers': 2, 'extra': 1} ('a',) first"
    assert second_line == "{'min': 1}"
    segments = run_dirs(workdir)
    assert len(segments) == 2 and {s.run_id for s in segments} == {"base1234"}
    resumed = state_of(segments[1])
    assert resumed.summary["loss"] == {"min": 0.5}
    assert resumed.summary["_step"] == 10
    assert resumed.runtime >= state_of(segments[0]).runtime
    assert history_rows(segments[1].log_path) == [{"_step": 10, "loss": 0.5}]
    # sequence numbers continue, so a server can deduplicate (run, seq) across segments
    assert resumed.last_seq > state_of(segments[0]).last_seq
    first_seq_of_new = min(r.seq for r in __import__("tracklet.sdk.local", fromlist=["x"]).read_records(segments[1].log_path))
    assert first_seq_of_new == state_of(segments[0]).last_seq + 1


def test_resume_allow_with_unknown_id_starts_a_new_run(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import tracklet
        run = tracklet.init(mode="offline", id="newrun01", resume="allow")
        print(run.resumed, run.starting_step)
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False 0"


def test_resume_must_without_the_run_raises_and_writes_nothing(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import tracklet
        try:
            tracklet.init(mode="offline", id="missing1", resume="must")
        except tracklet.UsageError as e:
            print(e)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "The value 'must' is not a valid option for resuming the run (missing1) that has not been initialized" in result.stdout
    assert run_dirs(workdir) == []


def test_resume_never_with_an_existing_run_raises(run_script, workdir: Path) -> None:
    assert run_script(FIRST).returncode == 0
    result = run_script(
        """
        import tracklet
        try:
            tracklet.init(mode="offline", id="base1234", resume="never")
        except tracklet.UsageError as e:
            print(e)
        """
    )
    assert "The value 'never' is not a valid option for resuming a run (base1234) that already exists" in result.stdout
    assert len(run_dirs(workdir)) == 1


def test_resume_auto_after_a_clean_finish_starts_fresh(run_script, workdir: Path) -> None:
    code = """
        import tracklet
        run = tracklet.init(mode="offline", resume="auto")
        print(run.id, run.resumed)
        run.log({"x": 1})
        """
    first = run_script(code).stdout.split()
    second = run_script(code).stdout.split()
    assert first[1] == "False" and second[1] == "False"
    assert first[0] != second[0]


def test_resume_auto_after_a_failure_continues_the_same_run(run_script, workdir: Path) -> None:
    failing = run_script(
        """
        import tracklet
        run = tracklet.init(mode="offline", resume="auto")
        print(run.id)
        run.log({"x": 1})
        exit(3)
        """
    )
    assert failing.returncode == 3
    again = run_script(
        """
        import tracklet
        run = tracklet.init(mode="offline", resume="auto")
        print(run.id, run.resumed, run.step)
        """
    )
    assert again.stdout.split() == [failing.stdout.strip(), "True", "1"]


def test_resume_from_rewinds_history_and_continues_after_the_step(run_script, workdir: Path) -> None:
    assert run_script(FIRST).returncode == 0
    result = run_script(
        """
        import tracklet
        run = tracklet.init(mode="offline", resume_from="base1234?_step=4")
        print(run.id, run.starting_step, run.summary["loss"], run.branch_point)
        run.log({"loss": 100})
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "base1234 5 {'min': 6} {'kind': 'rewind', 'run_id': 'base1234', 'step': 4}"
    rewound = run_dirs(workdir)[-1]
    assert history_rows(rewound.log_path) == [{"_step": 5, "loss": 100}]
    assert state_of(rewound).summary["loss"] == {"min": 6}


def test_fork_from_makes_a_new_run_that_records_its_parent(run_script, workdir: Path) -> None:
    assert run_script(FIRST).returncode == 0
    result = run_script(
        """
        import tracklet
        run = tracklet.init(mode="offline", fork_from="base1234?_step=3")
        print(run.id != "base1234", run.starting_step, run.config["lr"], run.branch_point)
        run.log({"loss": 0.1})
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True 4 0.1 {'kind': 'fork', 'run_id': 'base1234', 'step': 3}"
    fork = run_dirs(workdir)[-1]
    assert history_rows(fork.log_path) == [{"_step": 4, "loss": 0.1}]
    assert state_of(fork).branch == {"kind": "fork", "run_id": "base1234", "step": 3}


def test_fork_and_rewind_check_the_source_run_and_step(run_script, workdir: Path) -> None:
    assert run_script(FIRST).returncode == 0
    result = run_script(
        """
        import tracklet
        for kwargs in ({"fork_from": "nothere1?_step=1"}, {"fork_from": "base1234?_step=50"},
                       {"resume_from": "base1234?_step=-1"}, {"fork_from": "base1234"}):
            try:
                tracklet.init(mode="offline", **kwargs)
            except tracklet.UsageError as e:
                print(e)
        """
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("fork_from: there is no run 'nothere1'")
    assert lines[1].startswith("fork_from: step 50 is not in run 'base1234', whose steps go from 0 to 9")
    assert lines[2].startswith("resume_from: step -1 is not in run 'base1234'")
    assert lines[3].startswith("fork_from: could not parse run moment 'base1234'")
    assert len(run_dirs(workdir)) == 1


def test_same_id_while_the_first_run_is_live_is_refused(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import tracklet
        first = tracklet.init(mode="offline", id="dup12345")
        try:
            tracklet.init(mode="offline", id="dup12345", reinit="create_new")
        except tracklet.UsageError as e:
            print(e)
        first.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    assert "run ID 'dup12345' is in use" in result.stdout
