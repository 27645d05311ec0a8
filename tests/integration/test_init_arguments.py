"""Every argument of ``tracklet.init``: what it records, what it refuses, and the run's identity and files.

Argument checks run ``init`` in this process (inside ``workdir``); anything that depends on
the main script (project inference, metadata, ``save_code``) runs a real script in a subprocess.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

import tracklet
from tests.conftest import history_rows, only_run, run_dirs, state_of

ID_PATTERN = re.compile(r"^[a-z0-9]{8}$")
NAME_PATTERN = re.compile(r"^[a-z]+-[a-z]+-(\d+)$")
DIR_PATTERN = re.compile(r"^offline-run-(\d{8}_\d{6})-(.+)$")


def run_python(script: Path, cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with ``cwd`` as working directory (the ``run_script`` fixture always uses the work dir)."""
    return subprocess.run(
        [sys.executable, str(script), *args], cwd=cwd, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=60,
    )


def write_script(path: Path, code: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    return path


def word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z_]){re.escape(name)}(?![A-Za-z_])")


# -- invalid arguments: the class, a message naming the argument and the rule, nothing written --

BAD_ARGUMENTS: list[tuple[str, dict[str, Any], type[BaseException], str, str]] = [
    # (test id, kwargs, exception, argument named in the message, the problem named in the message)
    ("id-slash", {"id": "a/b"}, tracklet.UsageError, "id", "cannot contain"),
    *[(f"id-char-{c!r}", {"id": f"a{c}b"}, tracklet.UsageError, "id", "cannot contain") for c in ":;,#?'"],
    ("id-empty", {"id": ""}, tracklet.UsageError, "id", "cannot be empty"),
    ("id-leading-space", {"id": " ab"}, tracklet.UsageError, "id", "whitespace"),
    ("id-trailing-space", {"id": "ab "}, tracklet.UsageError, "id", "whitespace"),
    ("id-not-str", {"id": 12345678}, tracklet.UsageError, "id", "string"),
    *[(f"project-char-{c!r}", {"project": f"a{c}b"}, tracklet.UsageError, "project", "cannot contain") for c in "/\\#?%:"],
    ("project-too-long", {"project": "p" * 129}, tracklet.UsageError, "project", "128 characters"),
    ("tag-empty", {"tags": ["ok", ""]}, tracklet.UsageError, "tags", "index 1 is empty"),
    ("tag-too-long", {"tags": ["t" * 65]}, tracklet.UsageError, "tags", "65 characters"),
    ("tag-not-str", {"tags": ["ok", 3]}, tracklet.UsageError, "tags", "string"),
    ("tags-not-a-list", {"tags": 3}, tracklet.UsageError, "tags", "list of strings"),
    ("mode", {"mode": "bogus"}, tracklet.UsageError, "mode", "'offline'"),
    ("resume", {"resume": "bogus"}, tracklet.UsageError, "resume", "'allow'"),
    ("reinit", {"reinit": "bogus"}, tracklet.UsageError, "reinit", "'create_new'"),
    ("anonymous", {"anonymous": "bogus"}, tracklet.UsageError, "anonymous", "'never'"),
    ("entity", {"entity": 5}, tracklet.UsageError, "entity", "string"),
    ("name", {"name": 5}, tracklet.UsageError, "name", "string"),
    ("notes", {"notes": 5}, tracklet.UsageError, "notes", "string"),
    ("group", {"group": 5}, tracklet.UsageError, "group", "string"),
    ("job_type", {"job_type": 5}, tracklet.UsageError, "job_type", "string"),
    ("dir", {"dir": 5}, tracklet.UsageError, "dir", "string"),
    ("force", {"force": "maybe"}, tracklet.UsageError, "force", "boolean"),
    ("allow_val_change", {"allow_val_change": "maybe"}, tracklet.UsageError, "allow_val_change", "boolean"),
    ("save_code", {"save_code": "maybe"}, tracklet.UsageError, "save_code", "boolean"),
    ("sync_tensorboard", {"sync_tensorboard": "maybe"}, tracklet.UsageError, "sync_tensorboard", "boolean"),
    ("tensorboard", {"tensorboard": "yes"}, tracklet.UsageError, "tensorboard", "boolean"),
    ("monitor_gym", {"monitor_gym": "yes"}, tracklet.UsageError, "monitor_gym", "boolean"),
    ("settings-unknown-key", {"settings": {"nope": 1}}, tracklet.UsageError, "nope", "unknown setting"),
    ("settings-object-type", {"settings": 5}, tracklet.UsageError, "settings", "dict"),
    ("settings-bad-value", {"settings": {"mode": "bogus"}}, tracklet.UsageError, "mode", "'offline'"),
    ("settings-sampling-interval", {"settings": {"stats_sampling_interval": 0.05}}, tracklet.UsageError,
     "stats_sampling_interval", "less than 0.1"),
    ("settings-api-key", {"settings": {"api_key": " k"}}, tracklet.UsageError, "api_key", "whitespace"),
    *[(f"fork_from-{text}", {"fork_from": text}, tracklet.UsageError, "fork_from", "_step")
      for text in ("abc", "abc?loss=3", "abc?_step=x")],
    ("resume_from-unparsable", {"resume_from": "abc"}, tracklet.UsageError, "resume_from", "_step"),
    ("fork_from-same-id", {"id": "abc", "fork_from": "abc?_step=3"}, tracklet.UsageError, "fork_from", "same"),
    ("resume_from-other-id", {"id": "xyz", "resume_from": "abc?_step=3"}, tracklet.UsageError, "resume_from",
     "different"),
    ("resume+resume_from", {"resume": "allow", "resume_from": "abc?_step=3"}, tracklet.UsageError, "resume_from",
     "mutually exclusive"),
    ("resume+fork_from", {"resume": "allow", "fork_from": "abc?_step=3"}, tracklet.UsageError, "fork_from",
     "mutually exclusive"),
    ("resume_from+fork_from", {"resume_from": "abc?_step=3", "fork_from": "abc?_step=3"}, tracklet.UsageError,
     "fork_from", "mutually exclusive"),
    ("resume-must-no-such-run", {"id": "ghost123", "resume": "must"}, tracklet.UsageError, "resume", "'must'"),
    ("fork_from-no-such-run", {"fork_from": "ghost123?_step=1"}, tracklet.UsageError, "fork_from", "ghost123"),
    ("resume_from-no-such-run", {"resume_from": "ghost123?_step=1"}, tracklet.UsageError, "resume_from", "ghost123"),
    ("include+exclude", {"config": {"a": 1}, "config_include_keys": ["a"], "config_exclude_keys": ["b"]},
     tracklet.UsageError, "config_include_keys", "only one of exclude or include"),
    ("config-missing-file", {"config": "nofile.yaml"}, tracklet.UsageError, "nofile.yaml", "exist"),
    ("config-int", {"config": 5}, TypeError, "config", "dict"),
    ("config-list", {"config": [1, 2]}, TypeError, "config", "dict"),
    ("config-non-str-key", {"config": {1: 2}}, TypeError, "config", "string"),
    ("config-too-big", {"config": {"big": "x" * 11_000_000}}, tracklet.UsageError, "big", "10 MB"),
]


@pytest.mark.parametrize(
    ("kwargs", "error", "argument", "problem"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_ARGUMENTS],
)
def test_bad_argument_raises_naming_argument_and_rule_and_writes_nothing(
    workdir: Path, kwargs: dict[str, Any], error: type[BaseException], argument: str, problem: str
) -> None:
    with pytest.raises(error) as raised:
        tracklet.init(**{"mode": "offline", **kwargs})
    message = str(raised.value)
    assert word(argument).search(message), f"{argument!r} not named in: {message}"
    assert problem in message, f"{problem!r} not said in: {message}"
    assert not (workdir / "tracklet").exists(), "a rejected init wrote a tracklet/ folder"
    assert tracklet.run is None


@pytest.mark.parametrize(
    "kwargs",
    [{"id": "a/b"}, {"tags": [""]}, {"config": "nofile.yaml"}, {"resume": "must"}, {"fork_from": "x?_step=1"}],
    ids=["id", "tags", "config", "resume", "fork_from"],
)
def test_bad_argument_does_not_create_the_dir_folder(workdir: Path, kwargs: dict[str, Any]) -> None:
    with pytest.raises(tracklet.UsageError):
        tracklet.init(mode="offline", dir="fresh", **kwargs)
    assert list(workdir.iterdir()) == []


def test_errors_are_tracklet_error_subclasses() -> None:
    assert issubclass(tracklet.UsageError, tracklet.Error)
    assert issubclass(tracklet.AuthenticationError, tracklet.CommError)
    assert issubclass(tracklet.CommError, tracklet.Error)


def test_unknown_keyword_raises_type_error(workdir: Path) -> None:
    with pytest.raises(TypeError, match="bogus"):
        tracklet.init(mode="offline", bogus=1)  # type: ignore[call-arg]
    assert not (workdir / "tracklet").exists()


def test_bad_environment_value_writes_nothing(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKLET_RUN_ID", "a/b")
    with pytest.raises(tracklet.UsageError, match="TRACKLET_RUN_ID"):
        tracklet.init(mode="offline")
    assert not (workdir / "tracklet").exists()


def test_resume_must_while_a_run_is_active_raises_error(workdir: Path) -> None:
    with tracklet.init(mode="offline") as first:
        with pytest.raises(tracklet.Error, match=r"Cannot resume a run while another run is active"):
            tracklet.init(mode="offline", id=first.id, resume="must")
        assert tracklet.run is first
    assert len(run_dirs(workdir)) == 1


def test_resume_never_with_an_existing_run_raises_and_writes_nothing(workdir: Path) -> None:
    with tracklet.init(mode="offline", id="taken1") as run:
        run.log({"a": 1})
    with pytest.raises(tracklet.UsageError) as raised:
        tracklet.init(mode="offline", id="taken1", resume="never")
    assert "'never'" in str(raised.value) and "taken1" in str(raised.value)
    assert len(run_dirs(workdir)) == 1


def test_create_new_with_the_id_of_a_running_run_raises(workdir: Path) -> None:
    with tracklet.init(mode="offline", id="dup") as first:
        with pytest.raises(tracklet.UsageError) as raised:
            tracklet.init(mode="offline", id="dup", reinit="create_new")
        assert "dup" in str(raised.value) and "in use" in str(raised.value)
        assert first.sync_dir is not None
    assert len(run_dirs(workdir)) == 1


@pytest.mark.parametrize("argument", ["sync_tensorboard", "tensorboard"])
def test_sync_tensorboard_without_tensorboard_installed_raises(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, argument: str
) -> None:
    for module in ("tensorboard", "tensorboardX", "torch", "tensorflow"):
        monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(tracklet.Error, match="tensorboard"):
        tracklet.init(mode="offline", **{argument: True})
    assert not (workdir / "tracklet").exists()


def test_monitor_gym_without_gym_installed_raises(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("gym", "gymnasium"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(tracklet.Error, match="gymnasium"):
        tracklet.init(mode="offline", monitor_gym=True)
    assert not (workdir / "tracklet").exists()


# -- accepted values and what they record ------------------------------------------------


@pytest.mark.parametrize("run_id", ["Run.Name-1_x", "50%", "back\\slash", "with space", "A" * 200])
def test_unusual_but_valid_ids_are_accepted(workdir: Path, run_id: str) -> None:
    with tracklet.init(mode="offline", id=run_id) as run:
        assert run.id == run_id
    recorded_run = only_run(workdir)
    assert recorded_run.run_id == run_id
    assert state_of(recorded_run).run_id == run_id


def test_identity_arguments_are_recorded(workdir: Path) -> None:
    with tracklet.init(
        mode="offline", entity="team", project="vision", name="first-try", notes="baseline with sgd",
        tags=["cnn", "baseline"], group="cv-5", job_type="train",
    ) as run:
        assert (run.entity, run.project, run.name, run.notes) == ("team", "vision", "first-try", "baseline with sgd")
        assert run.tags == ("cnn", "baseline")
        assert (run.group, run.job_type) == ("cv-5", "train")
        assert run.path == f"team/vision/{run.id}"
    state = state_of(only_run(workdir))
    assert (state.entity, state.project, state.name, state.notes) == ("team", "vision", "first-try", "baseline with sgd")
    assert state.tags == ("cnn", "baseline")
    assert (state.group, state.job_type) == ("cv-5", "train")


def test_unset_identity_arguments_have_empty_defaults(workdir: Path) -> None:
    with tracklet.init(mode="offline") as run:
        assert run.entity == ""
        assert run.notes is None
        assert run.tags == ()
        assert run.group == "" and run.job_type == ""
        assert run.path == f"uncategorized/{run.id}"


def test_tags_accept_any_sequence_and_a_bare_string_is_one_tag(workdir: Path) -> None:
    with tracklet.init(mode="offline", tags=("a", "b")) as run:
        assert run.tags == ("a", "b")
    with tracklet.init(mode="offline", tags="abc") as run:
        assert run.tags == ("abc",)
    assert [state_of(r).tags for r in run_dirs(workdir)] == [("a", "b"), ("abc",)]


def test_long_name_and_empty_project_are_accepted(workdir: Path) -> None:
    with tracklet.init(mode="offline", name="n" * 300, project="") as run:
        assert run.name == "n" * 300
        assert run.project == ""
    state = state_of(only_run(workdir))
    assert state.name == "n" * 300 and state.project == ""


@pytest.mark.parametrize("as_path", [False, True])
def test_dir_puts_the_tracklet_folder_there_and_creates_it(workdir: Path, as_path: bool) -> None:
    target = workdir / "out" / "nested"
    with tracklet.init(mode="offline", dir=target if as_path else "out/nested") as run:
        run.log({"a": 1})
    assert not (workdir / "tracklet").exists()
    recorded_run = only_run(target)
    assert recorded_run.run_id == run.id
    assert Path(run.dir).resolve() == (recorded_run.dir / "files").resolve()
    assert history_rows(recorded_run.log_path) == [{"_step": 0, "a": 1}]


@pytest.mark.parametrize("force", [True, False])
def test_force_has_no_effect_offline(workdir: Path, force: bool) -> None:
    with tracklet.init(mode="offline", force=force) as run:
        assert run.offline
    assert only_run(workdir).run_id == run.id


@pytest.mark.parametrize("anonymous", ["never", "allow", "must"])
def test_anonymous_values_are_accepted(workdir: Path, anonymous: str) -> None:
    with tracklet.init(mode="offline", anonymous=anonymous) as run:
        assert run.settings.anonymous == anonymous
    assert state_of(only_run(workdir)).exit_code == 0


@pytest.mark.parametrize(("resume", "expected"), [(True, "auto"), (False, None), ("allow", "allow"), ("never", "never")])
def test_resume_values(workdir: Path, resume: Any, expected: str | None) -> None:
    with tracklet.init(mode="offline", resume=resume) as run:
        assert run.settings.resume == expected
        assert run.resumed is False


def test_tensorboard_alias_loses_to_sync_tensorboard(workdir: Path) -> None:
    with tracklet.init(mode="offline", tensorboard=True, sync_tensorboard=False) as run:
        assert run.settings.sync_tensorboard is False
    assert only_run(workdir).run_id == run.id


def test_integrations_off_is_fine(workdir: Path) -> None:
    with tracklet.init(mode="offline", sync_tensorboard=False, tensorboard=False, monitor_gym=False, save_code=False):
        pass
    assert state_of(only_run(workdir)).exit_code == 0


@pytest.mark.parametrize("kind", ["object", "dict"])
def test_settings_argument_accepts_a_settings_object_or_a_dict(workdir: Path, kind: str) -> None:
    values = {"run_name": "from-settings", "run_tags": ("s",), "mode": "offline"}
    settings = tracklet.Settings(**values) if kind == "object" else values
    with tracklet.init(settings=settings) as run:
        assert run.name == "from-settings"
        assert run.tags == ("s",)
        assert run.offline
    assert state_of(only_run(workdir)).name == "from-settings"


# -- identity: id, name, directory layout, files --------------------------------------------


def test_run_ids_are_eight_lowercase_alphanumerics_and_names_are_numbered(workdir: Path) -> None:
    ids, names, numbers = [], [], []
    for _ in range(3):
        with tracklet.init(mode="offline") as run:
            assert ID_PATTERN.match(run.id), run.id
            match = NAME_PATTERN.match(run.name or "")
            assert match, run.name
            ids.append(run.id)
            names.append(run.name)
            numbers.append(int(match.group(1)))
    assert len(set(ids)) == 3
    assert numbers == [1, 2, 3]
    assert sorted((r.run_id, state_of(r).name) for r in run_dirs(workdir)) == sorted(zip(ids, names))


def test_run_directory_layout_and_files(workdir: Path) -> None:
    script = write_script(workdir / "train.py", """
        import tracklet
        run = tracklet.init(mode="offline", config={"lr": 0.1, "opt": {"name": "sgd"}})
        run.log({"loss": 0.5})
        run.log({"loss": 0.25})
        print(run.id, run.dir)
        run.finish()
    """)
    before = time.time()
    proc = run_python(script, workdir, "--lr", "0.1", env={"TRACKLET_SILENT": "true"})
    assert proc.returncode == 0, proc.stderr
    run_id, files_dir = proc.stdout.split()

    tracklet_dir = workdir / "tracklet"
    recorded_run = only_run(workdir)
    match = DIR_PATTERN.match(recorded_run.dir.name)
    assert match, recorded_run.dir.name
    assert match.group(2) == run_id
    state = state_of(recorded_run)
    assert match.group(1) == time.strftime("%Y%m%d_%H%M%S", time.localtime(state.start_time))
    assert recorded_run.dir.parent == tracklet_dir
    assert (recorded_run.dir / f"run-{run_id}.tracklet").is_file()
    assert Path(files_dir) == recorded_run.dir / "files"

    config_yaml = yaml.safe_load((recorded_run.dir / "files" / "config.yaml").read_text(encoding="utf-8"))
    assert config_yaml == {"lr": {"value": 0.1}, "opt": {"value": {"name": "sgd"}}}

    summary = json.loads((recorded_run.dir / "files" / "tracklet-summary.json").read_text(encoding="utf-8"))
    assert summary["loss"] == 0.25 and summary["_step"] == 1

    metadata = json.loads((recorded_run.dir / "files" / "tracklet-metadata.json").read_text(encoding="utf-8"))
    assert metadata["program"] == str(script)
    assert metadata["args"] == ["--lr", "0.1"]
    assert metadata["python"] == ".".join(str(v) for v in sys.version_info[:3])
    assert metadata["host"] and metadata["os"]
    from datetime import datetime

    started = datetime.fromisoformat(metadata["started_at"]).timestamp()
    assert before - 1 <= started <= time.time()

    debug_log = recorded_run.dir / "logs" / "debug.log"
    assert debug_log.is_file() and run_id in debug_log.read_text(encoding="utf-8")

    latest = tracklet_dir / "latest-run"
    assert latest.is_symlink()
    assert latest.resolve() == recorded_run.dir.resolve()


def test_files_exist_while_the_run_is_live(workdir: Path) -> None:
    run = tracklet.init(mode="offline", config={"lr": 0.1})
    try:
        files = Path(run.dir)
        assert yaml.safe_load((files / "config.yaml").read_text(encoding="utf-8")) == {"lr": {"value": 0.1}}
        assert json.loads((files / "tracklet-summary.json").read_text(encoding="utf-8")) == {}
        assert "program" in json.loads((files / "tracklet-metadata.json").read_text(encoding="utf-8"))
    finally:
        run.finish()


def test_latest_run_link_follows_the_newest_run(workdir: Path) -> None:
    with tracklet.init(mode="offline"):
        pass
    with tracklet.init(mode="offline") as second:
        pass
    assert (workdir / "tracklet" / "latest-run").resolve() == Path(second.sync_dir or "").resolve()


# -- project inference ------------------------------------------------------------------------

PRINT_PROJECT = """
    import tracklet
    with tracklet.init(mode="offline") as run:
        print(run.project)
"""


def test_project_without_git_is_uncategorized(workdir: Path) -> None:
    script = write_script(workdir / "train.py", PRINT_PROJECT)
    proc = run_python(script, workdir, env={"TRACKLET_SILENT": "1"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "uncategorized"
    assert state_of(only_run(workdir)).project == "uncategorized"


def test_project_from_git_root_and_script_folder(workdir: Path) -> None:
    repo = workdir / "myrepo"
    (repo / ".git").mkdir(parents=True)
    script = write_script(repo / "src" / "sub" / "train.py", PRINT_PROJECT)
    proc = run_python(script, repo, env={"TRACKLET_SILENT": "1"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "myrepo-src_sub"
    assert state_of(only_run(repo)).project == "myrepo-src_sub"


def test_project_from_git_root_with_script_at_the_root(workdir: Path) -> None:
    repo = workdir / "myrepo"
    (repo / ".git").mkdir(parents=True)
    script = write_script(repo / "train.py", PRINT_PROJECT)
    proc = run_python(script, repo, env={"TRACKLET_SILENT": "1"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "myrepo"


def test_explicit_project_beats_inference(workdir: Path) -> None:
    repo = workdir / "myrepo"
    (repo / ".git").mkdir(parents=True)
    script = write_script(repo / "src" / "train.py", """
        import tracklet
        with tracklet.init(mode="offline", project="chosen") as run:
            print(run.project)
    """)
    proc = run_python(script, repo, env={"TRACKLET_SILENT": "1"})
    assert proc.stdout.strip() == "chosen", proc.stderr


# -- save_code ------------------------------------------------------------------------------------

SAVE_CODE_SCRIPT = """
    import tracklet
    with tracklet.init(mode="offline"{args}) as run:
        run.log({{"a": 1}})
"""


def test_save_code_copies_the_main_script(workdir: Path) -> None:
    script = write_script(workdir / "train.py", SAVE_CODE_SCRIPT.format(args=", save_code=True"))
    proc = run_python(script, workdir, env={"TRACKLET_SILENT": "1"})
    assert proc.returncode == 0, proc.stderr
    saved = only_run(workdir).dir / "files" / "code" / "train.py"
    assert saved.read_text(encoding="utf-8") == script.read_text(encoding="utf-8")


def test_save_code_keeps_the_path_inside_the_git_repo(workdir: Path) -> None:
    repo = workdir / "myrepo"
    (repo / ".git").mkdir(parents=True)
    script = write_script(repo / "src" / "sub" / "train.py", SAVE_CODE_SCRIPT.format(args=", save_code=True"))
    proc = run_python(script, repo, env={"TRACKLET_SILENT": "1"})
    assert proc.returncode == 0, proc.stderr
    assert (only_run(repo).dir / "files" / "code" / "src" / "sub" / "train.py").is_file()


def test_code_is_not_saved_by_default(workdir: Path) -> None:
    script = write_script(workdir / "train.py", SAVE_CODE_SCRIPT.format(args=""))
    proc = run_python(script, workdir, env={"TRACKLET_SILENT": "1"})
    assert proc.returncode == 0, proc.stderr
    assert not (only_run(workdir).dir / "files" / "code").exists()


def test_save_code_from_the_environment(workdir: Path) -> None:
    script = write_script(workdir / "train.py", SAVE_CODE_SCRIPT.format(args=""))
    proc = run_python(script, workdir, env={"TRACKLET_SILENT": "1", "TRACKLET_SAVE_CODE": "true"})
    assert proc.returncode == 0, proc.stderr
    assert (only_run(workdir).dir / "files" / "code" / "train.py").is_file()


def test_disable_code_environment_turns_off_save_code_from_the_environment(workdir: Path) -> None:
    script = write_script(workdir / "train.py", SAVE_CODE_SCRIPT.format(args=""))
    env = {"TRACKLET_SILENT": "1", "TRACKLET_SAVE_CODE": "true", "TRACKLET_DISABLE_CODE": "true"}
    proc = run_python(script, workdir, env=env)
    assert proc.returncode == 0, proc.stderr
    assert not (only_run(workdir).dir / "files" / "code").exists()


def test_explicit_save_code_beats_disable_code_environment(workdir: Path) -> None:
    """Explicit arguments are the highest source (reference §1.3: save_code=True beats WANDB_DISABLE_CODE)."""
    script = write_script(workdir / "train.py", SAVE_CODE_SCRIPT.format(args=", save_code=True"))
    proc = run_python(script, workdir, env={"TRACKLET_SILENT": "1", "TRACKLET_DISABLE_CODE": "true"})
    assert proc.returncode == 0, proc.stderr
    assert (only_run(workdir).dir / "files" / "code" / "train.py").is_file()
