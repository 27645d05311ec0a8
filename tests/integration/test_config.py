"""``run.config``: where it comes from, how it behaves like a dict, and what it records."""

from __future__ import annotations

import argparse
import datetime
import enum
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import tracklet
from tests.conftest import only_run, state_of
from tracklet.sdk import local


def recorded(run: tracklet.Run) -> local.LocalRun:
    assert run.sync_dir is not None
    return local.LocalRun(Path(run.sync_dir), run.id)


def config_records(run: tracklet.Run) -> list[dict[str, Any]]:
    """The ``set`` part of each CONFIG record in the run log, in order."""
    return [r.body["set"] for r in local.read_records(recorded(run).log_path) if r.type.name == "CONFIG"]


def config_yaml(run: tracklet.Run) -> dict[str, Any]:
    """files/config.yaml read back, unwrapping the ``key: {value: X}`` layout."""
    loaded = yaml.safe_load((Path(run.dir) / "config.yaml").read_text(encoding="utf-8")) or {}
    assert all(isinstance(v, dict) and set(v) == {"value"} for v in loaded.values()), loaded
    return {k: v["value"] for k, v in loaded.items()}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- where the initial config comes from -------------------------------------------------------


def test_dict_config(workdir: Path) -> None:
    with tracklet.init(mode="offline", config={"lr": 0.1, "layers": [64, 32], "opt": {"name": "adam"}}) as run:
        assert run.config.as_dict() == {"lr": 0.1, "layers": [64, 32], "opt": {"name": "adam"}}
    assert state_of(only_run(workdir)).config == {"lr": 0.1, "layers": [64, 32], "opt": {"name": "adam"}}


def test_dotted_keys_are_kept_literally(workdir: Path) -> None:
    with tracklet.init(mode="offline", config={"a.b": 1}) as run:
        assert run.config["a.b"] == 1
    assert state_of(only_run(workdir)).config == {"a.b": 1}


def test_config_of_another_run_as_config(workdir: Path) -> None:
    with tracklet.init(mode="offline", config={"lr": 0.1, "epochs": 3}) as first:
        pass
    with tracklet.init(mode="offline", config=first.config) as second:
        assert second.config.as_dict() == {"lr": 0.1, "epochs": 3}


def test_argparse_namespace_config(workdir: Path) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args(["--batch-size", "64"])
    with tracklet.init(mode="offline", config=args) as run:
        assert run.config.as_dict() == {"batch_size": 64, "lr": 0.1}
        assert run.config.batch_size == 64


def test_object_with_dict_config(workdir: Path) -> None:
    class Hyper:
        shared = "class attributes are not instance data"

        def __init__(self) -> None:
            self.lr = 0.01
            self.epochs = 3

    with tracklet.init(mode="offline", config=Hyper()) as run:
        assert run.config.as_dict() == {"lr": 0.01, "epochs": 3}


def test_dashes_are_stripped_from_keys(workdir: Path) -> None:
    with tracklet.init(mode="offline", config={"--dash-key": 1}) as run:
        assert run.config.as_dict() == {"dash-key": 1}


@pytest.mark.parametrize(
    "text",
    [
        "lr: 0.1\nepochs: 5\nopt:\n  name: adam\n",
        "lr:\n  value: 0.1\nepochs:\n  desc: how long\n  value: 5\nopt:\n  value:\n    name: adam\n",
        "wandb_version: 1\nlr:\n  value: 0.1\nepochs:\n  value: 5\nopt:\n  value:\n    name: adam\n",
    ],
    ids=["plain", "value-layout", "value-layout-with-version"],
)
def test_yaml_path_config(workdir: Path, text: str) -> None:
    write(workdir / "params.yaml", text)
    with tracklet.init(mode="offline", config="params.yaml") as run:
        assert run.config.as_dict() == {"lr": 0.1, "epochs": 5, "opt": {"name": "adam"}}


def test_yaml_path_config_as_a_path_object(workdir: Path) -> None:
    path = write(workdir / "params.yaml", "lr: 0.1\n")
    with tracklet.init(mode="offline", config=path) as run:
        assert run.config.lr == 0.1


def test_config_yaml_of_a_run_can_start_another(workdir: Path) -> None:
    config = {"lr": 0.1, "opt": {"name": "adam", "betas": [0.9, 0.99]}, "tag": "v1"}
    with tracklet.init(mode="offline", config=config) as first:
        pass
    with tracklet.init(mode="offline", config=str(Path(first.dir) / "config.yaml")) as second:
        assert second.config.as_dict() == config


@pytest.mark.parametrize(
    ("text", "problem"),
    [("lr: [0.1\n", "YAML"), ("- 1\n- 2\n", "mapping"), ("wandb_version: 7\nlr:\n  value: 1\n", "version")],
    ids=["invalid-yaml", "not-a-mapping", "unknown-version"],
)
def test_bad_yaml_config_is_a_usage_error_naming_the_file(workdir: Path, text: str, problem: str) -> None:
    write(workdir / "broken.yaml", text)
    with pytest.raises(tracklet.UsageError) as raised:
        tracklet.init(mode="offline", config="broken.yaml")
    assert "broken.yaml" in str(raised.value) and problem in str(raised.value)
    assert not (workdir / "tracklet").exists()


def test_missing_yaml_config_is_a_usage_error_naming_the_file(workdir: Path) -> None:
    with pytest.raises(tracklet.UsageError, match="missing-params.yaml"):
        tracklet.init(mode="offline", config="missing-params.yaml")
    assert not (workdir / "tracklet").exists()


@pytest.mark.parametrize("config", [5, 2.5, True, [1, 2], (1, 2)], ids=repr)
def test_config_of_the_wrong_type_is_a_type_error(workdir: Path, config: Any) -> None:
    with pytest.raises(TypeError, match="config"):
        tracklet.init(mode="offline", config=config)
    assert not (workdir / "tracklet").exists()


@pytest.mark.parametrize(
    "text",
    ["lr:\n  value: 0.7\nz:\n  value: 9\n", "lr: 0.7\nz: 9\n"],
    ids=["value-layout", "plain"],
)
def test_config_defaults_yaml_is_merged_under_init_config(workdir: Path, text: str) -> None:
    write(workdir / "config-defaults.yaml", text)
    with tracklet.init(mode="offline", config={"lr": 0.1}) as run:
        assert run.config.as_dict() == {"lr": 0.1, "z": 9}
    with tracklet.init(mode="offline") as run:
        assert run.config.as_dict() == {"lr": 0.7, "z": 9}
    assert [state_of(r).config for r in local.list_runs(workdir / "tracklet")] == [
        {"lr": 0.1, "z": 9}, {"lr": 0.7, "z": 9},
    ]


def test_include_keys(workdir: Path) -> None:
    with tracklet.init(mode="offline", config={"a": 1, "b": 2, "c": 3}, config_include_keys=["a", "c"]) as run:
        assert run.config.as_dict() == {"a": 1, "c": 3}
    assert state_of(only_run(workdir)).config == {"a": 1, "c": 3}


def test_exclude_keys(workdir: Path) -> None:
    with tracklet.init(mode="offline", config={"a": 1, "b": 2, "c": 3}, config_exclude_keys=["b"]) as run:
        assert run.config.as_dict() == {"a": 1, "c": 3}
    assert state_of(only_run(workdir)).config == {"a": 1, "c": 3}


def test_include_and_exclude_together_is_a_usage_error(workdir: Path) -> None:
    with pytest.raises(tracklet.UsageError, match="exclude or include"):
        tracklet.init(mode="offline", config={"a": 1}, config_include_keys=["a"], config_exclude_keys=["b"])


# -- reading and writing like a dict --------------------------------------------------------------


def test_item_and_attribute_access(workdir: Path) -> None:
    with tracklet.init(mode="offline", config={"lr": 0.1, "epochs": 3}) as run:
        config = run.config
        assert config["lr"] == config.lr == 0.1
        assert "lr" in config and "momentum" not in config
        assert config.get("momentum", 0.9) == 0.9
        assert len(config) == 2
        assert sorted(config) == ["epochs", "lr"]
        assert dict(config) == {"lr": 0.1, "epochs": 3}
        with pytest.raises(AttributeError, match="momentum"):
            _ = config.momentum
        with pytest.raises(KeyError):
            _ = config["momentum"]
        config.momentum = 0.9
        config["nesterov"] = True
        assert config.as_dict() == {"lr": 0.1, "epochs": 3, "momentum": 0.9, "nesterov": True}
    assert state_of(only_run(workdir)).config == {"lr": 0.1, "epochs": 3, "momentum": 0.9, "nesterov": True}


def test_update_setdefaults_as_dict(workdir: Path) -> None:
    with tracklet.init(mode="offline", config={"lr": 0.1}) as run:
        run.config.update({"epochs": 3})
        run.config.update(argparse.Namespace(batch_size=64))
        run.config.setdefaults({"lr": 0.5, "dropout": 0.2})  # lr is set: unchanged, no error
        plain = run.config.as_dict()
        assert plain == {"lr": 0.1, "epochs": 3, "batch_size": 64, "dropout": 0.2}
        plain["lr"] = 99  # a copy: changing it changes nothing
        assert run.config.lr == 0.1
    assert config_yaml(run) == {"lr": 0.1, "epochs": 3, "batch_size": 64, "dropout": 0.2}


def test_keys_starting_with_underscore_are_hidden(workdir: Path) -> None:
    with tracklet.init(mode="offline", config={"lr": 0.1}) as run:
        run.config.update({"_internal": {"x": 1}})
        assert run.config["_internal"] == {"x": 1}
        assert run.config.keys() == ["lr"]
        assert run.config.items() == [("lr", 0.1)]
        assert run.config.as_dict() == {"lr": 0.1}
        assert dict(run.config) == {"lr": 0.1}
        assert list(run.config) == ["lr"]


# -- changing values ------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["update", "item", "attribute"])
def test_changing_a_value_raises_and_records_nothing(workdir: Path, how: str) -> None:
    with tracklet.init(mode="offline", config={"lr": 0.1}) as run:
        with pytest.raises(tracklet.UsageError) as raised:
            if how == "update":
                run.config.update({"lr": 0.2})
            elif how == "item":
                run.config["lr"] = 0.2
            else:
                run.config.lr = 0.2
        message = str(raised.value)
        assert "lr" in message and "allow_val_change" in message
        assert run.config.lr == 0.1
    assert config_records(run) == [{"lr": 0.1}]
    assert config_yaml(run) == {"lr": 0.1}


def test_a_failed_update_changes_none_of_its_keys(workdir: Path) -> None:
    with tracklet.init(mode="offline", config={"lr": 0.1}) as run:
        with pytest.raises(tracklet.UsageError):
            run.config.update({"epochs": 3, "lr": 0.2})
        assert "epochs" not in run.config
    assert config_records(run) == [{"lr": 0.1}]


def test_update_with_allow_val_change(workdir: Path) -> None:
    with tracklet.init(mode="offline", config={"lr": 0.1, "opt": {"name": "sgd", "momentum": 0.9}}) as run:
        run.config.update({"lr": 0.2, "opt": {"name": "adam"}}, allow_val_change=True)
        assert run.config.lr == 0.2
        assert run.config.opt == {"name": "adam"}  # replaced whole, not merged
    assert state_of(only_run(workdir)).config == {"lr": 0.2, "opt": {"name": "adam"}}
    assert config_yaml(run) == {"lr": 0.2, "opt": {"name": "adam"}}


def test_init_allow_val_change_lets_values_change(workdir: Path) -> None:
    with tracklet.init(mode="offline", config={"lr": 0.1}, allow_val_change=True) as run:
        run.config.lr = 0.2
        run.config["lr"] = 0.3
        run.config.update({"lr": 0.4})
        assert run.config.lr == 0.4
    assert state_of(only_run(workdir)).config == {"lr": 0.4}


def test_nested_values_are_compared_whole(workdir: Path) -> None:
    with tracklet.init(mode="offline", config={"opt": {"b": 1}}) as run:
        with pytest.raises(tracklet.UsageError, match="opt"):
            run.config.update({"opt": {"c": 2}})
        assert run.config.opt == {"b": 1}


def test_setting_an_equal_value_is_fine_and_records_nothing(workdir: Path) -> None:
    with tracklet.init(mode="offline", config={"lr": 0.1, "sizes": (1, 2)}) as run:
        run.config.lr = 0.1
        run.config.update({"lr": 0.1, "sizes": [1, 2]})
        run.config["sizes"] = (1, 2)
    assert config_records(run) == [{"lr": 0.1, "sizes": [1, 2]}]


# -- values made JSON-friendly ----------------------------------------------------------------------


class Color(enum.Enum):
    RED = 1


class Level(enum.IntEnum):
    HIGH = 3


CONVERSIONS = [
    ("tuple", (1, 2), [1, 2]),
    ("nested-tuple", {"a": (1, (2, 3))}, {"a": [1, [2, 3]]}),
    ("nan", float("nan"), None),
    ("nan-in-list", [1.0, float("nan")], [1.0, None]),
    ("enum", Color.RED, "RED"),
    ("int-enum", Level.HIGH, "HIGH"),
    ("numpy-float32", np.float32(0.5), 0.5),
    ("numpy-float64", np.float64(0.25), 0.25),
    ("numpy-int64", np.int64(7), 7),
    ("numpy-bool", np.bool_(True), True),
    ("numpy-small-array", np.arange(3), [0, 1, 2]),
    ("numpy-32-array", np.zeros(32, dtype=np.int64), [0] * 32),
    ("numpy-large-array", np.arange(40), str(np.arange(40))),
    ("date", datetime.date(2024, 1, 2), "2024-01-02"),
]


@pytest.mark.parametrize(("value", "expected"), [pytest.param(v, e, id=i) for i, v, e in CONVERSIONS])
def test_values_are_made_json_friendly(workdir: Path, value: Any, expected: Any) -> None:
    with tracklet.init(mode="offline", config={"at_init": value}) as run:
        run.config.update({"later": value})
        for key in ("at_init", "later"):
            assert run.config[key] == expected
            assert type(run.config[key]) is type(expected)
    for source in (state_of(only_run(workdir)).config, config_yaml(run)):
        assert source == {"at_init": expected, "later": expected}


def test_non_string_keys_are_a_type_error(workdir: Path) -> None:
    with tracklet.init(mode="offline") as run:
        with pytest.raises(TypeError, match="string"):
            run.config.update({1: 2})
    assert config_records(run) == []


# -- size limit -------------------------------------------------------------------------------------

BIG = "x" * 11_000_000  # over 10 MB


def test_value_over_10mb_at_init_is_refused(workdir: Path) -> None:
    with pytest.raises(tracklet.UsageError) as raised:
        tracklet.init(mode="offline", config={"small": 1, "blob": BIG})
    assert "blob" in str(raised.value) and "10 MB" in str(raised.value)
    assert not (workdir / "tracklet").exists()


@pytest.mark.parametrize("how", ["update", "item"])
def test_value_over_10mb_later_is_refused_and_nothing_recorded(workdir: Path, how: str) -> None:
    with tracklet.init(mode="offline", config={"lr": 0.1}) as run:
        with pytest.raises(tracklet.UsageError) as raised:
            if how == "update":
                run.config.update({"small": 1, "blob": BIG})
            else:
                run.config["blob"] = BIG
        assert "blob" in str(raised.value) and "10 MB" in str(raised.value)
        assert "blob" not in run.config and "small" not in run.config
    assert config_records(run) == [{"lr": 0.1}]
    assert config_yaml(run) == {"lr": 0.1}
    assert state_of(only_run(workdir)).config == {"lr": 0.1}


def test_value_just_under_the_limit_is_kept(workdir: Path) -> None:
    with tracklet.init(mode="offline") as run:
        run.config.update({"blob": "x" * 9_000_000})
    assert len(state_of(only_run(workdir)).config["blob"]) == 9_000_000


# -- what gets recorded -------------------------------------------------------------------------------


def test_config_changes_land_in_the_run_log_and_config_yaml_at_once(workdir: Path) -> None:
    run = tracklet.init(mode="offline", config={"lr": 0.1})
    try:
        assert config_records(run) == [{"lr": 0.1}]
        assert config_yaml(run) == {"lr": 0.1}
        run.config.update({"epochs": 3})
        run.config.dropout = 0.2
        # recorded while the run is still going, one record per change holding only the changed keys
        assert config_records(run) == [{"lr": 0.1}, {"epochs": 3}, {"dropout": 0.2}]
        assert config_yaml(run) == {"lr": 0.1, "epochs": 3, "dropout": 0.2}
        assert state_of(recorded(run)).config == {"lr": 0.1, "epochs": 3, "dropout": 0.2}
    finally:
        run.finish()


def test_config_set_in_a_script_survives_the_process(workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script("""
        import tracklet
        run = tracklet.init(mode="offline", config={"lr": 0.1})
        run.config.update({"epochs": 3})
        tracklet.config.batch_size = 64
        raise SystemExit(0)
    """, env={"TRACKLET_SILENT": "1"})
    assert result.returncode == 0, result.stderr
    recorded_run = only_run(workdir)
    assert state_of(recorded_run).config == {"lr": 0.1, "epochs": 3, "batch_size": 64}
    loaded = yaml.safe_load((recorded_run.dir / "files" / "config.yaml").read_text(encoding="utf-8"))
    assert loaded == {"lr": {"value": 0.1}, "epochs": {"value": 3}, "batch_size": {"value": 64}}
