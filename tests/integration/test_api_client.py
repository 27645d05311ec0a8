"""``tracklet.Api`` against a real server, reading runs that real SDK scripts logged."""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import tracklet
from tests.conftest import ServerProcess, api
from tracklet.api import Api, Project, Run
from tracklet.api.client import evenly_spaced
from tracklet.api.transport import ServerError

SWEEP = """
import tracklet
specs = [
    ("run00001", "adam-big", {"lr": 0.1, "opt": {"name": "adam", "beta": 0.9}}, ["baseline"], "sweep-a", "train", 0.5, 0),
    ("run00002", "adam-small", {"lr": 0.01, "opt": {"name": "adam", "beta": 0.99}}, ["baseline", "best"], "sweep-a",
     "eval", 0.1, 0),
    ("run00003", "sgd", {"lr": 0.001, "opt": {"name": "sgd"}}, [], "sweep-b", "train", 0.9, 1),
    ("run00004", "nan-run", {"lr": 0.1, "opt": {"name": "sgd"}}, ["best"], None, None, float("nan"), 0),
]
for run_id, name, config, tags, group, job_type, loss, code in specs:
    run = tracklet.init(project="sweep", id=run_id, name=name, config=config, tags=tags, group=group,
                        job_type=job_type)
    run.log({"loss": loss})
    run.finish(exit_code=code)
"""


@pytest.fixture
def sweep(server: ServerProcess, run_script) -> Iterator[Api]:  # type: ignore[no-untyped-def]
    result = run_script(SWEEP)
    assert result.returncode == 0, result.stderr
    with tracklet.Api() as api:
        yield api


def ids(runs: object) -> list[str]:
    return [run.id for run in runs]  # type: ignore[attr-defined]


def test_filters_on_config_summary_tags_state_group_and_job_type(sweep: Api) -> None:
    def found(filters: dict) -> set[str]:  # type: ignore[type-arg]
        return {run.id for run in sweep.runs("root/sweep", filters=filters)}

    assert found({"config.opt.name": "adam"}) == {"run00001", "run00002"}  # nested config
    assert found({"config.opt.beta": {"$gt": 0.95}}) == {"run00002"}
    assert found({"config.lr": {"$in": [0.1, 0.001]}}) == {"run00001", "run00003", "run00004"}
    assert found({"summary.loss": {"$lt": 0.6}}) == {"run00001", "run00002"}
    assert found({"summary.loss": {"$gte": 0.5, "$lte": 0.9}}) == {"run00001", "run00003"}
    assert found({"summary.loss": float("nan")}) == {"run00004"}
    assert found({"tags": "best"}) == {"run00002", "run00004"}
    assert found({"tags": {"$all": ["baseline", "best"]}}) == {"run00002"}
    assert found({"tags": {"$nin": ["baseline"]}}) == {"run00003", "run00004"}
    assert found({"state": "failed"}) == {"run00003"}
    assert found({"state": "finished"}) == {"run00001", "run00002", "run00004"}
    assert found({"group": "sweep-a", "job_type": "eval"}) == {"run00002"}
    assert found({"group": None}) == {"run00004"}
    assert found({"job_type": "train"}) == {"run00001", "run00003"}
    assert found({"$or": [{"config.lr": 0.001}, {"tags": "best"}]}) == {"run00002", "run00003", "run00004"}
    assert found({"name": {"$regex": "^adam-"}}) == {"run00001", "run00002"}
    assert found({"name": {"$regex": "ADAM", "$options": "i"}, "$not": {"tags": "best"}}) == {"run00001"}
    assert found({"summary.loss": {"$lt": 0}}) == set()


def test_order_by_summary_and_creation(sweep: Api) -> None:
    assert ids(sweep.runs("root/sweep")) == ["run00004", "run00003", "run00002", "run00001"]
    assert ids(sweep.runs("root/sweep", order="+created_at")) == ["run00001", "run00002", "run00003", "run00004"]
    # NaN and missing values come last in both directions.
    assert ids(sweep.runs("root/sweep", order="+summary.loss")) == ["run00002", "run00001", "run00003", "run00004"]
    assert ids(sweep.runs("root/sweep", order="-summary.loss")) == ["run00003", "run00001", "run00002", "run00004"]
    # Ties, and runs without the field, stay in creation order.
    assert ids(sweep.runs("root/sweep", order="config.opt.beta")) == ["run00001", "run00002", "run00003", "run00004"]


def test_runs_are_fetched_page_by_page(sweep: Api) -> None:
    runs = sweep.runs("root/sweep", order="+created_at", per_page=1)
    assert ids(runs) == ["run00001", "run00002", "run00003", "run00004"]
    assert len(runs) == 4 and runs[-1].id == "run00004" and [r.id for r in runs[1:3]] == ["run00002", "run00003"]
    assert ids(sweep.runs("root/sweep", filters={"tags": "best"}, per_page=1)) == ["run00004", "run00002"]


def test_a_bad_filter_is_a_clear_error(sweep: Api) -> None:
    with pytest.raises(tracklet.CommError) as caught:
        sweep.runs("root/sweep", filters={"config.lr": {"$gt": [1]}})
    assert isinstance(caught.value, ServerError) and caught.value.status == 400
    assert caught.value.detail == 'filters["config.lr"]["$gt"] needs a number or a string, got a list'
    with pytest.raises(tracklet.CommError, match="unknown field 'colour'"):
        sweep.runs("root/sweep", filters={"colour": "red"})
    with pytest.raises(tracklet.CommError, match="order: unknown field 'nothing'"):
        sweep.runs("root/sweep", order="-nothing")


def test_run_attributes(sweep: Api, server: ServerProcess) -> None:
    run = sweep.run("root/sweep/run00002")
    assert isinstance(run, Run) and repr(run) == "<Run root/sweep/run00002 (finished)>"
    assert (run.id, run.name, run.state, run.group, run.job_type) == ("run00002", "adam-small", "finished", "sweep-a",
                                                                      "eval")
    assert run.config == {"lr": 0.01, "opt": {"name": "adam", "beta": 0.99}}
    assert run.summary["loss"] == 0.1 and run.summary["_step"] == 0
    assert run.tags == ["baseline", "best"] and run.notes is None and run.exit_code == 0
    assert run.metadata["program"].endswith("train.py")
    assert run.created_at is not None and run.created_at.endswith("Z")
    assert run.url == f"{server.url}/root/sweep/runs/run00002" and run.path == ["root", "sweep", "run00002"]
    failed = sweep.run("root/sweep/runs/run00003")  # the form of a run's web address works too
    assert failed.state == "failed" and failed.exit_code == 1
    nan_run = sweep.run("sweep/run00004")
    assert math.isnan(nan_run.summary["loss"]) and nan_run.group is None and nan_run.job_type is None


HISTORY = """
import tracklet
run = tracklet.init(project="hist", id="hist0001")
for step in range(1000):
    row = {"loss": 1 / (step + 1), "nested": {"acc": step / 1000}}
    if step % 10 == 0:
        row["val_loss"] = step
    run.log(row)
run.log({"weird": float("nan"), "big": float("inf"), "small": float("-inf")})
run.finish()
"""


@pytest.fixture
def history_run(server: ServerProcess, run_script) -> Iterator[Run]:  # type: ignore[no-untyped-def]
    result = run_script(HISTORY)
    assert result.returncode == 0, result.stderr
    with tracklet.Api() as api:
        yield api.run("root/hist/hist0001")


def test_history_samples_evenly_keeping_first_and_last(history_run: Run) -> None:
    rows = history_run.history(pandas=False)
    assert isinstance(rows, list) and len(rows) == 500
    steps = [row["_step"] for row in rows]
    assert steps[0] == 0 and steps[-1] == 1000 and steps == sorted(set(steps))
    assert {"_step", "_runtime", "_timestamp", "loss", "nested.acc", "val_loss"} <= set(rows[0])
    assert rows[0]["loss"] == 1.0 and rows[0]["nested.acc"] == 0.0
    assert [row["_step"] for row in history_run.history(samples=5, pandas=False)] == [0, 250, 500, 750, 1000]
    assert [row["_step"] for row in history_run.history(samples=1, pandas=False)] == [1000]


def test_history_keys_and_step_range(history_run: Run) -> None:
    rows = history_run.history(keys=["val_loss"], samples=1000, pandas=False)
    assert rows == [{"_step": step, "val_loss": step} for step in range(0, 1000, 10)]
    rows = history_run.history(keys=["nested.acc", "loss"], samples=3, pandas=False)
    assert [(row["_step"], sorted(row)) for row in rows] == [
        (step, ["_step", "loss", "nested.acc"]) for step in (0, 500, 999)
    ]
    rows = history_run.history(keys="loss", min_step=10, max_step=19, pandas=False)
    assert [row["_step"] for row in rows] == list(range(10, 20))
    assert history_run.history(keys=["val_loss", "weird"], pandas=False) == []  # no row has both


def test_non_finite_values_come_back_as_floats(history_run: Run) -> None:
    (row,) = history_run.history(keys=["weird", "big", "small"], pandas=False)
    assert row["_step"] == 1000 and math.isnan(row["weird"]) and row["big"] == math.inf and row["small"] == -math.inf
    summary = history_run.summary
    assert math.isnan(summary["weird"]) and summary["big"] == math.inf and summary["small"] == -math.inf


def test_history_is_a_data_frame_with_pandas_and_a_list_without(history_run: Run,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas

    frame = history_run.history(keys=["loss"], samples=2)
    assert isinstance(frame, pandas.DataFrame)
    assert frame.to_dict("records") == [{"_step": 0, "loss": 1.0}, {"_step": 999, "loss": 1 / 1000}]
    assert isinstance(history_run.history(keys=["loss"], samples=2, pandas=False), list)
    monkeypatch.setitem(sys.modules, "pandas", None)  # importing it fails, as when it is not installed
    assert isinstance(history_run.history(keys=["loss"], samples=2), list)


def test_history_of_more_rows_than_one_answer_holds_is_sampled_from_the_stream(
        server: ServerProcess, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script(
        """
        import tracklet
        run = tracklet.init(project="hist", id="huge0001", settings={"finish_timeout": 120})
        for step in range(100_001):
            run.log({"v": step})
        run.finish()
        """,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    with api(server) as client:  # the server refuses to send that many rows in one answer
        assert client.get("/runs/root/hist/huge0001/history").status_code == 400
    with Api() as client:
        rows = client.run("root/hist/huge0001").history(samples=5, pandas=False)
    assert [row["_step"] for row in rows] == [0, 25_000, 50_000, 75_000, 100_000]
    assert [row["v"] for row in rows] == [0, 25_000, 50_000, 75_000, 100_000]


def test_scan_history_streams_every_row_in_order(server: ServerProcess, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script(
        """
        import tracklet
        run = tracklet.init(project="long", id="long0001")
        for i in range(5000):
            run.log({"i": i, "even": i} if i % 2 == 0 else {"i": i})
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    with tracklet.Api() as api:
        run = api.run("long/long0001")
        rows = run.scan_history()
        assert isinstance(rows, Iterator)
        assert [row["i"] for row in itertools.islice(rows, 3)] == [0, 1, 2]
        rows.close()
        everything = list(run.scan_history())
        assert [row["_step"] for row in everything] == list(range(5000))
        assert [row["i"] for row in everything] == list(range(5000))
        assert list(run.scan_history(keys=["even"])) == [{"_step": i, "even": i} for i in range(0, 5000, 2)]
        assert [row["_step"] for row in run.scan_history(min_step=4990, max_step=4995)] == list(range(4990, 4996))


def test_update_changes_name_notes_and_tags(sweep: Api) -> None:
    run = sweep.run("root/sweep/run00001")
    run.name = "renamed"
    run.notes = "the one with the big learning rate"
    run.tags += ["checked"]
    run.update()
    assert run.name == "renamed" and run.tags == ["baseline", "checked"]
    with tracklet.Api() as fresh:
        again = fresh.run("root/sweep/run00001")
        assert (again.name, again.notes, again.tags) == ("renamed", "the one with the big learning rate",
                                                         ["baseline", "checked"])
        assert ids(fresh.runs("root/sweep", filters={"tags": "checked"})) == ["run00001"]
        again.tags = []
        again.update()
    assert sweep.run("root/sweep/run00001").tags == []
    run.summary["loss"] = 0.0
    with pytest.raises(tracklet.UsageError, match="changing summary through the API is not supported"):
        run.update()
    with pytest.raises(tracklet.UsageError, match="run.tags must be a list of strings"):
        run.summary["loss"] = 0.5
        run.tags = "solo"  # type: ignore[assignment]
        run.update()


def test_delete(sweep: Api) -> None:
    run = sweep.run("root/sweep/run00003")
    run.delete()
    with pytest.raises(tracklet.CommError, match="no run root/sweep/run00003") as caught:
        sweep.run("root/sweep/run00003")
    assert isinstance(caught.value, ServerError) and caught.value.status == 404
    assert ids(sweep.runs("root/sweep")) == ["run00004", "run00002", "run00001"]


def test_projects_and_the_default_entity(sweep: Api, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script("import tracklet\ntracklet.init(project='other').finish()\n")
    assert result.returncode == 0, result.stderr
    assert sweep.default_entity == "root"
    projects = sweep.projects()
    assert [(p.entity, p.name, p.run_count) for p in projects] == [("root", "other", 1), ("root", "sweep", 4)]
    assert all(isinstance(p, Project) and p.last_activity and p.last_activity.endswith("Z") for p in projects)
    assert sweep.projects("root") == projects
    assert ids(sweep.runs("sweep", order="+created_at")) == ["run00001", "run00002", "run00003", "run00004"]
    assert sweep.run("sweep/run00001").entity == "root"
    with pytest.raises(tracklet.CommError, match="no entity 'nobody'"):
        sweep.projects("nobody")


def test_bad_arguments_are_usage_errors(sweep: Api) -> None:
    for call, message in [
        (lambda: sweep.runs("a/b/c"), "path must be 'entity/project' or 'project', got 'a/b/c'"),
        (lambda: sweep.run("a/b/c/d/e"), "path must be 'entity/project/run_id'"),
        (lambda: sweep.runs("sweep", filters="lr"), "filters must be a dict"),  # type: ignore[arg-type]
        (lambda: sweep.runs("sweep", per_page=0), "per_page must be an integer from 1 to 10000"),
        (lambda: sweep.run("sweep/run00001").history(samples=0), "samples must be a positive integer"),
        (lambda: sweep.run("sweep/run00001").history(keys=[]), "keys must be a non-empty list"),
        (lambda: sweep.run("sweep/run00001").history(min_step=1.5), "min_step must be an integer"),  # type: ignore[arg-type]
    ]:
        with pytest.raises(tracklet.UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
            call()


def test_api_without_a_login_says_how_to_log_in(workdir: Path) -> None:
    with pytest.raises(tracklet.UsageError, match="run `tracklet login --host URL`"):
        tracklet.Api()


def test_evenly_spaced_is_one_pass_and_keeps_the_ends() -> None:
    rows = [{"_step": s} for s in (0, 1, 2, 3, 50, 51, 100)]
    assert [r["_step"] for r in evenly_spaced(iter(rows), 3, 100)] == [0, 50, 100]
    assert [r["_step"] for r in evenly_spaced(iter(rows), 1000, 100)] == [0, 1, 2, 3, 50, 51, 100]
    assert evenly_spaced(iter([]), 5, 0) == []
    assert [r["_step"] for r in evenly_spaced(iter(rows), 3, 60)] == [0, 50, 100]  # a row past last_step still ends it
