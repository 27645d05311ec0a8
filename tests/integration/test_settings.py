"""Where settings come from, and which source wins.

Lowest to highest: defaults < global settings file ($TRACKLET_CONFIG_DIR/settings) < the
directory's file (<dir>/tracklet/settings) < TRACKLET_* environment < init(settings=...) <
explicit init arguments.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tracklet
from tests.conftest import only_run, run_dirs, state_of

NO_SERVER_NOTICE = "No Tracklet server configured"


def write_settings(path: Path, **values: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["[default]", *(f"{key} = {value}" for key, value in values.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def global_settings(**values: str) -> Path:
    return write_settings(Path(os.environ["TRACKLET_CONFIG_DIR"]) / "settings", **values)


def workspace_settings(root: Path, **values: str) -> Path:
    return write_settings(root / "tracklet" / "settings", **values)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracklet.cli.main", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


# -- precedence --------------------------------------------------------------------------------

LAYERS = ["global", "workspace", "env", "settings", "argument"]


@pytest.mark.parametrize(
    ("highest", "settings_kind"),
    [("global", None), ("workspace", None), ("env", None), ("settings", "dict"), ("settings", "object"),
     ("argument", "dict"), ("argument", "object")],
)
def test_each_source_beats_every_lower_one(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, highest: str, settings_kind: str | None
) -> None:
    """Every source up to ``highest`` sets project and name; the values of ``highest`` win."""
    given = LAYERS[: LAYERS.index(highest) + 1]
    kwargs: dict[str, object] = {"mode": "offline"}
    if "global" in given:
        global_settings(project="p-global", run_name="n-global")
    if "workspace" in given:
        workspace_settings(workdir, project="p-workspace", run_name="n-workspace")
    if "env" in given:
        monkeypatch.setenv("TRACKLET_PROJECT", "p-env")
        monkeypatch.setenv("TRACKLET_NAME", "n-env")
    if "settings" in given:
        values = {"project": "p-settings", "run_name": "n-settings"}
        kwargs["settings"] = values if settings_kind == "dict" else tracklet.Settings(**values)
    if "argument" in given:
        kwargs.update(project="p-argument", name="n-argument")
    with tracklet.init(**kwargs) as run:  # type: ignore[arg-type]
        assert (run.project, run.name) == (f"p-{highest}", f"n-{highest}")
    state = state_of(only_run(workdir))
    assert (state.project, state.name) == (f"p-{highest}", f"n-{highest}")


def test_defaults_apply_when_nothing_is_configured(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with tracklet.init() as run:  # mode defaults to online, which continues offline without a server
        assert run.offline
        assert run.group == "" and run.job_type == "" and run.tags == ()
    assert NO_SERVER_NOTICE in capsys.readouterr().err


def test_global_file_overrides_a_default(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    global_settings(mode="offline")
    with tracklet.init() as run:
        assert run.offline
    assert NO_SERVER_NOTICE not in capsys.readouterr().err


def test_sources_merge_key_by_key(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    global_settings(entity="from-global", project="p-global")
    workspace_settings(workdir, project="p-workspace", run_group="g-workspace")
    monkeypatch.setenv("TRACKLET_JOB_TYPE", "jt-env")
    with tracklet.init(mode="offline", settings={"run_notes": "notes-settings"}, tags=["arg"]) as run:
        assert run.entity == "from-global"
        assert run.project == "p-workspace"
        assert run.group == "g-workspace"
        assert run.job_type == "jt-env"
        assert run.notes == "notes-settings"
        assert run.tags == ("arg",)


def test_settings_object_sets_only_what_it_was_given(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Settings object's defaults do not override lower sources."""
    monkeypatch.setenv("TRACKLET_NAME", "n-env")
    monkeypatch.setenv("TRACKLET_MODE", "offline")
    global_settings(run_group="g-global")
    with tracklet.init(settings=tracklet.Settings(project="p-settings")) as run:
        assert run.project == "p-settings"
        assert run.name == "n-env"
        assert run.group == "g-global"
        assert run.offline


def test_explicit_mode_beats_environment_mode(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKLET_MODE", "disabled")
    with tracklet.init(mode="offline") as run:
        assert not run.disabled
    assert only_run(workdir).run_id == run.id


def test_environment_beats_the_workspace_file(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace_settings(workdir, mode="disabled")
    monkeypatch.setenv("TRACKLET_MODE", "offline")
    with tracklet.init() as run:
        assert run.offline
    assert only_run(workdir).run_id == run.id


def test_workspace_file_is_read_from_dir(workdir: Path) -> None:
    workspace_settings(workdir, project="p-cwd")
    workspace_settings(workdir / "elsewhere", project="p-elsewhere")
    with tracklet.init(mode="offline", dir="elsewhere") as run:
        assert run.project == "p-elsewhere"


def test_workspace_file_is_read_from_tracklet_dir_env(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace_settings(workdir / "elsewhere", project="p-elsewhere")
    monkeypatch.setenv("TRACKLET_DIR", str(workdir / "elsewhere"))
    with tracklet.init(mode="offline") as run:
        assert run.project == "p-elsewhere"
    assert only_run(workdir / "elsewhere").run_id == run.id
    assert run_dirs(workdir) == []


def test_a_settings_file_cannot_move_the_run_directory(workdir: Path, tmp_path: Path) -> None:
    global_settings(root_dir=str(tmp_path / "somewhere-else"))
    with tracklet.init(mode="offline") as run:
        pass
    assert only_run(workdir).run_id == run.id
    assert not (tmp_path / "somewhere-else").exists()


# -- Settings objects and dicts ------------------------------------------------------------------


def test_settings_object_passed_in_is_not_mutated(workdir: Path) -> None:
    settings = tracklet.Settings(project="p-settings", mode="offline")
    with tracklet.init(project="p-argument", name="n-argument", tags=["t"], settings=settings) as run:
        assert run.project == "p-argument"
    assert settings.project == "p-settings"
    assert settings.run_name is None
    assert settings.run_tags == ()
    assert settings.explicit() == {"project": "p-settings", "mode": "offline"}


def test_settings_dict_passed_in_is_not_mutated(workdir: Path) -> None:
    settings = {"project": "p-settings", "mode": "offline"}
    with tracklet.init(project="p-argument", settings=settings):
        pass
    assert settings == {"project": "p-settings", "mode": "offline"}


def test_run_settings_is_a_copy(workdir: Path) -> None:
    with tracklet.init(mode="offline", name="kept") as run:
        copy = run.settings
        copy.run_name = "changed"
        assert run.settings.run_name == "kept"
        assert run.name == "kept"


@pytest.mark.parametrize("kind", ["dict", "object"])
def test_unknown_setting_is_a_usage_error_naming_it(workdir: Path, kind: str) -> None:
    with pytest.raises(tracklet.UsageError, match="start_method"):
        settings = tracklet.Settings(start_method="fork") if kind == "object" else {"start_method": "fork"}
        tracklet.init(mode="offline", settings=settings)
    assert not (workdir / "tracklet").exists()


def test_setting_an_unknown_attribute_on_settings_raises(workdir: Path) -> None:
    settings = tracklet.Settings()
    with pytest.raises(tracklet.UsageError, match="nope"):
        settings.nope = 1


def test_settings_values_are_validated_and_coerced() -> None:
    settings = tracklet.Settings(silent="yes", init_timeout="5", mode="dryrun")
    assert settings.silent is True
    assert settings.init_timeout == 5.0
    assert settings.mode == "offline"
    with pytest.raises(tracklet.UsageError, match="init_timeout"):
        tracklet.Settings(init_timeout="soon")


# -- environment variables -------------------------------------------------------------------------


def test_environment_variables_set_the_run(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "TRACKLET_MODE": "offline", "TRACKLET_PROJECT": "p-env", "TRACKLET_ENTITY": "e-env",
        "TRACKLET_RUN_ID": "envid123", "TRACKLET_NAME": "n-env", "TRACKLET_NOTES": "notes-env",
        "TRACKLET_TAGS": "a,b", "TRACKLET_RUN_GROUP": "g-env", "TRACKLET_JOB_TYPE": "jt-env",
        "TRACKLET_DIR": str(workdir / "out"), "TRACKLET_NOT_A_SETTING": "ignored",
    }.items():
        monkeypatch.setenv(key, value)
    with tracklet.init() as run:
        assert run.offline
        assert (run.project, run.entity, run.id, run.name) == ("p-env", "e-env", "envid123", "n-env")
        assert (run.notes, run.tags, run.group, run.job_type) == ("notes-env", ("a", "b"), "g-env", "jt-env")
    state = state_of(only_run(workdir / "out"))
    assert (state.run_id, state.tags, state.group) == ("envid123", ("a", "b"), "g-env")


def test_tracklet_tags_is_split_on_commas(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKLET_TAGS", "baseline,sgd,run-1")
    with tracklet.init(mode="offline") as run:
        assert run.tags == ("baseline", "sgd", "run-1")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TRACKLET_MODE", "bogus"),
        ("TRACKLET_TAGS", "a,,b"),
        ("TRACKLET_RESUME", "true"),  # only a Python True means "auto", as in the original
        ("TRACKLET_SILENT", ""),
        ("TRACKLET_RUN_ID", "a/b"),
        ("TRACKLET_PROJECT", "a#b"),
        ("TRACKLET_STATS_SAMPLING_INTERVAL", "0.01"),
    ],
)
def test_invalid_environment_value_is_a_usage_error_naming_the_variable(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(tracklet.UsageError, match=variable):
        tracklet.init(mode="offline")
    assert not (workdir / "tracklet").exists()


@pytest.mark.parametrize(("value", "expected"), [("dryrun", "offline"), ("disabled", "disabled"), ("offline", "offline")])
def test_mode_from_the_environment(workdir: Path, monkeypatch: pytest.MonkeyPatch, value: str, expected: str) -> None:
    monkeypatch.setenv("TRACKLET_MODE", value)
    with tracklet.init() as run:
        assert run.offline == (expected == "offline")
        assert run.disabled == (expected == "disabled")
    assert (workdir / "tracklet").exists() == (expected == "offline")


# -- settings files ----------------------------------------------------------------------------------


def test_invalid_value_in_a_settings_file_names_the_file_and_the_key(workdir: Path) -> None:
    path = workspace_settings(workdir, mode="sometimes")
    with pytest.raises(tracklet.UsageError) as raised:
        tracklet.init()
    assert str(path) in str(raised.value)
    assert "mode" in str(raised.value)
    assert run_dirs(workdir) == []


def test_settings_file_that_is_not_ini_is_a_usage_error(workdir: Path) -> None:
    path = Path(os.environ["TRACKLET_CONFIG_DIR"]) / "settings"
    path.parent.mkdir(parents=True)
    path.write_text("mode = offline\n", encoding="utf-8")  # no [default] section header
    with pytest.raises(tracklet.UsageError) as raised:
        tracklet.init()
    assert str(path) in str(raised.value)
    assert not (workdir / "tracklet").exists()


def test_tags_in_a_settings_file_are_comma_separated(workdir: Path) -> None:
    workspace_settings(workdir, run_tags="x,y")
    with tracklet.init(mode="offline") as run:
        assert run.tags == ("x", "y")


# -- the `tracklet offline|online|disabled` commands ------------------------------------------------


def test_tracklet_offline_writes_the_workspace_default(workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    proc = cli("offline", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    parser = configparser.ConfigParser()
    parser.read(workdir / "tracklet" / "settings", encoding="utf-8")
    assert parser.get("default", "mode") == "offline"

    result = run_script("""
        import tracklet
        with tracklet.init() as run:
            print(run.offline)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
    assert NO_SERVER_NOTICE not in result.stderr  # the run did not start out online
    assert only_run(workdir).run_id


def test_tracklet_disabled_then_offline_keeps_other_keys(workdir: Path) -> None:
    workspace_settings(workdir, project="kept")
    assert cli("disabled", cwd=workdir).returncode == 0
    with tracklet.init() as run:
        assert run.disabled
    assert run_dirs(workdir) == []

    assert cli("offline", cwd=workdir).returncode == 0
    with tracklet.init() as run:
        assert run.offline
        assert run.project == "kept"


def test_tracklet_offline_with_dir(workdir: Path) -> None:
    proc = cli("offline", "--dir", "sub", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    parser = configparser.ConfigParser()
    parser.read(workdir / "sub" / "tracklet" / "settings", encoding="utf-8")
    assert parser.get("default", "mode") == "offline"
    assert not (workdir / "tracklet").exists()


def test_environment_beats_the_cli_default(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("disabled", cwd=workdir).returncode == 0
    monkeypatch.setenv("TRACKLET_MODE", "offline")
    with tracklet.init() as run:
        assert run.offline
    assert only_run(workdir).run_id == run.id
