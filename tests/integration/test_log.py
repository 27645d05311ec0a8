"""``run.log``: the step/commit state machine, values, summary and define_metric, read back from disk."""

from __future__ import annotations

import json
import math
from pathlib import Path

from tests.conftest import history_rows, only_run, state_of


def test_worked_example_of_steps_and_commits(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import tracklet
        run = tracklet.init(mode="offline")
        run.log({"A": 1})
        run.log({"B": 2}, commit=False)
        run.log({"C": 3})
        run.log({"D": 4}, step=10)
        assert run.step == 10
        run.log({"E": 5}, step=10)
        run.log({"F": 6}, step=5)
        run.log({"G": 7})
        print(run.step)
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "11"
    assert "Tried to log to step 5 that is less than the current step 10" in result.stderr
    rows = history_rows(only_run(workdir).log_path)
    assert [{k: v for k, v in r.items()} for r in rows] == [
        {"_step": 0, "A": 1},
        {"_step": 1, "B": 2, "C": 3},
        {"_step": 10, "D": 4, "E": 5, "G": 7},
    ]


def test_strict_steps_setting_raises_instead_of_dropping(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import tracklet
        run = tracklet.init(mode="offline", settings={"strict_steps": True})
        run.log({"a": 1}, step=3)
        try:
            run.log({"a": 2}, step=1)
        except tracklet.UsageError as e:
            print("raised:", e)
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    assert "raised: log: step=1 is less than the current step 3" in result.stdout


def test_empty_commit_advances_the_step_and_writes_no_row(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import tracklet
        run = tracklet.init(mode="offline")
        run.log({})
        run.log({"x": 1})
        print(run.step)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"
    assert history_rows(only_run(workdir).log_path) == [{"_step": 1, "x": 1}]


def test_every_row_gets_runtime_and_timestamp_and_user_step_is_discarded(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import time, tracklet
        run = tracklet.init(mode="offline")
        run.log({"x": 1, "_step": 99})
        time.sleep(0.05)
        run.log({"x": 2, "_timestamp": 123.0})
        print(dict(run.summary))
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    state = state_of(only_run(workdir))
    assert state.summary["_step"] == 1
    assert state.summary["_timestamp"] == 123.0
    assert 0.05 <= state.summary["_runtime"] < 30
    assert [r["_step"] for r in history_rows(only_run(workdir).log_path)] == [0, 1]


def test_nan_and_infinities_are_kept_exactly(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import math, tracklet
        run = tracklet.init(mode="offline")
        run.log({"nan": math.nan, "inf": math.inf, "ninf": -math.inf})
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    row = history_rows(only_run(workdir).log_path)[0]
    assert math.isnan(row["nan"]) and row["inf"] == math.inf and row["ninf"] == -math.inf


def test_nested_dicts_stay_nested_and_slash_keys_stay_flat(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import tracklet
        run = tracklet.init(mode="offline")
        run.log({"acc": {"train": 0.5}, "train/loss": 1.0}, commit=False)
        run.log({"acc": {"val": 0.4}})
        print(run.summary["acc"]["val"])
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0.4"
    assert history_rows(only_run(workdir).log_path) == [
        {"_step": 0, "acc": {"train": 0.5, "val": 0.4}, "train/loss": 1.0}
    ]
    summary = json.loads((only_run(workdir).dir / "files" / "tracklet-summary.json").read_text())
    assert summary["acc"] == {"train": 0.5, "val": 0.4}
    assert summary["train/loss"] == 1.0


def test_numpy_and_array_values_are_converted(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import numpy as np, tracklet
        run = tracklet.init(mode="offline")
        run.log({
            "f32": np.float32(0.5), "i64": np.int64(7), "one": np.array([3.0]),
            "small": np.arange(4), "big": np.linspace(0, 1, 1000), "flag": np.bool_(True),
        })
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    row = history_rows(only_run(workdir).log_path)[0]
    assert row["f32"] == 0.5 and row["i64"] == 7 and row["one"] == 3.0 and row["flag"] is True
    assert row["small"] == [0, 1, 2, 3]
    assert row["big"]["_type"] == "histogram"
    assert sum(row["big"]["values"]) == 1000 and len(row["big"]["bins"]) == 33


def test_bad_log_input_raises_clearly_and_loses_nothing_already_logged(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import tracklet
        run = tracklet.init(mode="offline")
        run.log({"good": 1})
        for bad in ([1, 2], {1: 2}, {"x": object()}):
            try:
                run.log(bad)
            except (TypeError, tracklet.UsageError) as e:
                print(type(e).__name__, e)
        for bad_step in ("3", 2.5):
            try:
                run.log({"y": 1}, step=bad_step)
            except TypeError as e:
                print(type(e).__name__, e)
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("TypeError log: data must be a dict")
    assert lines[1].startswith("TypeError log: keys must be strings, got 1")
    assert lines[2].startswith("UsageError log: the value of 'x' is a builtins.object")
    assert lines[3].startswith("TypeError log: step must be an integer, got '3'")
    assert lines[4].startswith("TypeError log: step must be an integer, got 2.5")
    assert history_rows(only_run(workdir).log_path) == [{"_step": 0, "good": 1}]


def test_summary_is_last_committed_value_and_skips_none(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import tracklet
        run = tracklet.init(mode="offline")
        run.log({"loss": 3.0, "note": "a"})
        run.log({"loss": 2.0, "maybe": None})
        run.log({"loss": 1.0}, commit=False)
        print(run.summary["loss"], "maybe" in run.summary)
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2.0 False"  # the pending 1.0 is not committed yet
    state = state_of(only_run(workdir))
    assert state.summary["loss"] == 1.0  # finish commits the pending row
    assert state.summary["note"] == "a"


def test_explicit_summary_writes_are_recorded_and_reset_aggregation(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import tracklet
        run = tracklet.init(mode="offline")
        run.define_metric("loss", summary="min")
        for v in (3, 1, 2):
            run.log({"loss": v})
        print(run.summary["loss"])
        run.summary["loss"] = 7
        run.summary.update({"best": {"epoch": 3}})
        run.summary["best"]["score"] = 0.9
        run.log({"loss": 5})
        del run.summary["best"]["epoch"]
        print(run.summary["loss"], run.summary["best"])
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.strip().splitlines()
    assert first == "{'min': 1}"
    assert second == "{'min': 5} {'score': 0.9}"
    replayed = state_of(only_run(workdir))
    assert replayed.summary["loss"] == {"min": 5}
    assert replayed.summary["best"] == {"score": 0.9}


def test_define_metric_summary_ops_globs_and_nested_names(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import tracklet
        run = tracklet.init(mode="offline")
        run.define_metric("val/*", summary="max,mean,last,first")
        run.define_metric("a.b", summary="max")
        run.define_metric("quiet", summary="none")
        for v in (3, 1, 2):
            run.log({"val/acc": v, "a": {"b": v}, "quiet": v, "_hidden": v})
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    summary = state_of(only_run(workdir)).summary
    assert summary["val/acc"] == {"max": 3, "mean": 2.0, "last": 2, "first": 3}
    assert summary["a"] == {"b": {"max": 3}}
    assert "quiet" not in summary
    assert summary["_hidden"] == 2


def test_define_metric_step_metric_fills_in_its_last_value(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import tracklet
        run = tracklet.init(mode="offline")
        m = run.define_metric("val/acc", step_metric="epoch")
        print(m.step_metric, m.step_sync)
        run.log({"epoch": 1})
        run.log({"val/acc": 0.5})
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "epoch True"
    rows = history_rows(only_run(workdir).log_path)
    assert rows[1] == {"_step": 1, "val/acc": 0.5, "epoch": 1}


def test_define_metric_errors(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import tracklet
        run = tracklet.init(mode="offline")
        for kwargs in ({"name": ""}, {"name": "a*b"}, {"name": "x", "summary": "best"}, {"name": "x", "hidden": "yes"}):
            try:
                run.define_metric(**kwargs)
            except tracklet.Error as e:
                print(e)
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines() == [
        "define_metric() requires non-empty name argument",
        "Unhandled define_metric() arg: name (glob suffixes only): a*b",
        "Unhandled define_metric() arg: summary op: best (allowed: min, max, mean, first, last, none)",
        "Unhandled define_metric() arg: hidden type: str",
    ]


def test_module_level_log_and_summary_use_the_current_run(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import tracklet
        tracklet.init(mode="offline", config={"lr": 0.1})
        tracklet.log({"x": 1})
        tracklet.summary["y"] = 2
        print(tracklet.config.lr, tracklet.run.summary["x"], tracklet.summary["y"])
        tracklet.finish()
        print(tracklet.run)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines() == ["0.1 1 2", "None"]


def test_summary_and_config_files_are_kept_current_while_the_run_goes_on(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import json, time, yaml, tracklet
        run = tracklet.init(mode="offline", config={"lr": 0.1})
        run.log({"loss": 0.25})
        run.config.update({"batch": 64})
        time.sleep(1.6)
        files = run.dir + "/"
        print(json.load(open(files + "tracklet-summary.json"))["loss"])
        print(yaml.safe_load(open(files + "config.yaml")))
        """
    )
    assert result.returncode == 0, result.stderr
    summary_line, config_line = result.stdout.strip().splitlines()
    assert summary_line == "0.25"
    assert config_line == "{'lr': {'value': 0.1}, 'batch': {'value': 64}}"
