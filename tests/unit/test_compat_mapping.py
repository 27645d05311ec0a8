"""The WANDB_* variables that the wandb compatibility mode maps to settings (tracklet.compat.mapping)."""

from __future__ import annotations

import os

import pytest

from tracklet import settings
from tracklet.compat.finder import WandbFinder
from tracklet.compat.mapping import WANDB_VARIABLES, settings_from_wandb_variables


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("WANDB_", "TRACKLET_")):
            monkeypatch.delenv(key)


def test_each_variable_maps_to_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"WANDB_PROJECT": "p", "WANDB_ENTITY": "e", "WANDB_MODE": "dryrun", "WANDB_RUN_ID": "abc",
                       "WANDB_RESUME": "allow", "WANDB_DIR": "/tmp/x", "WANDB_NAME": "n", "WANDB_NOTES": "notes",
                       "WANDB_TAGS": "a, b,", "WANDB_RUN_GROUP": "g", "WANDB_JOB_TYPE": "j", "WANDB_SILENT": "true",
                       "WANDB_API_KEY": "secret", "WANDB_LOG_MODEL": "end"}.items():
        monkeypatch.setenv(key, value)
    mapped = settings_from_wandb_variables()
    assert mapped == {"project": "p", "entity": "e", "mode": "dryrun", "run_id": "abc", "resume": "allow",
                      "root_dir": "/tmp/x", "run_name": "n", "run_notes": "notes", "run_tags": ["a", "b"],
                      "run_group": "g", "run_job_type": "j", "silent": "true"}
    resolved = settings.resolve({}, mapped)  # every value is one the settings accept
    assert resolved.mode == "offline" and resolved.run_tags == ("a", "b") and resolved.silent is True
    assert set(WANDB_VARIABLES.values()) <= set(settings.Settings.fields())


def test_tracklet_variables_win_and_disabled_beats_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_PROJECT", "from-wandb")
    monkeypatch.setenv("TRACKLET_PROJECT", "from-tracklet")
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setenv("WANDB_DISABLED", "true")
    monkeypatch.setenv("WANDB_RESUME", "true")
    assert settings_from_wandb_variables() == {"mode": "disabled", "resume": "auto"}
    monkeypatch.setenv("WANDB_DISABLED", "false")
    assert settings_from_wandb_variables() == {"mode": "online", "resume": "auto"}


@pytest.mark.parametrize(("value", "enabled"), [("1", True), ("true", True), ("ON", True), ("0", False), ("", False)])
def test_the_switch(monkeypatch: pytest.MonkeyPatch, value: str, enabled: bool) -> None:
    monkeypatch.setenv("TRACKLET_WANDB", value)
    assert settings.wandb_compat_enabled() is enabled


def test_the_finder_answers_only_wandb() -> None:
    finder = WandbFinder()
    assert finder.find_spec("numpy") is None and finder.find_spec("wandbx") is None
    spec = finder.find_spec("wandb")
    assert spec is not None and spec.name == "wandb" and spec.submodule_search_locations
    assert finder.find_spec("wandb.sdk.wandb_run") is not None and finder.find_spec("wandb.plot") is None
    [dist] = list(finder.find_distributions(type("Context", (), {"name": "wandb"})()))
    assert dist.version == "0.31.0" and dist.metadata["Name"] == "wandb"
    assert list(finder.find_distributions(type("Context", (), {"name": "numpy"})())) == []
