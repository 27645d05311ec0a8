"""Modes (offline, online without a server, disabled), reinit, ``tracklet.run``, and how runs end.

Everything about how a process ends runs a real script in a subprocess and reads the run
directory back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tracklet
from tests.conftest import history_rows, only_run, run_dirs, state_of
from tracklet.runlog import Record
from tracklet.sdk import lifecycle, local

NO_SERVER_NOTICE = "No Tracklet server configured"


def recorded(run: tracklet.Run) -> local.LocalRun:
    assert run.sync_dir is not None
    return local.LocalRun(Path(run.sync_dir), run.id)


def records(run: tracklet.Run) -> list[Record]:
    return local.read_records(recorded(run).log_path)


# -- modes ---------------------------------------------------------------------------------------


def test_offline_run(workdir: Path) -> None:
    with tracklet.init(mode="offline") as run:
        assert run.offline and not run.disabled
        assert run.url is None
        run.log({"a": 1})
    recorded_run = only_run(workdir)
    assert recorded_run.dir.name.startswith("offline-run-")
    assert history_rows(recorded_run.log_path) == [{"_step": 0, "a": 1}]


@pytest.mark.parametrize("mode_argument", ["", 'mode="online"'])
def test_online_without_a_server_continues_offline_with_one_notice(workdir: Path, run_script, mode_argument: str) -> None:  # type: ignore[no-untyped-def]
    result = run_script(f"""
        import tracklet
        run = tracklet.init({mode_argument})
        for i in range(3):
            run.log({{"loss": 1 / (i + 1)}})
        print(run.offline)
        run.finish()
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
    notices = [line for line in result.stderr.splitlines() if NO_SERVER_NOTICE in line]
    assert len(notices) == 1, result.stderr
    assert "offline" in notices[0]
    recorded_run = only_run(workdir)
    assert recorded_run.dir.name.startswith("offline-run-")
    assert len(history_rows(recorded_run.log_path)) == 3
    assert state_of(recorded_run).exit_code == 0


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_online_with_force_and_no_login_raises_authentication_error(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "environment":
        monkeypatch.setenv("TRACKLET_FORCE", "true")
    with pytest.raises(tracklet.AuthenticationError) as raised:
        tracklet.init(mode="online", **({"force": True} if how == "argument" else {}))
    assert isinstance(raised.value, tracklet.CommError)
    assert "force" in str(raised.value) and "login" in str(raised.value)
    assert not (workdir / "tracklet").exists()
    assert tracklet.run is None


def test_disabled_mode_works_in_memory_and_writes_nothing(workdir: Path) -> None:
    run = tracklet.init(mode="disabled", config={"lr": 0.1})
    assert run.disabled and not run.offline
    assert tracklet.run is run
    assert len(run.id) == 8
    run.define_metric("loss", summary="min")
    run.log({"loss": 0.5, "acc": 0.1})
    run.log({"loss": 0.3, "acc": 0.2})
    run.log({"loss": 0.4, "acc": 0.3})
    tracklet.log({"acc": 0.4})
    assert run.summary["loss"] == {"min": 0.3}
    assert run.summary["acc"] == 0.4
    assert run.step == 4
    run.summary["best_epoch"] = 2
    assert run.summary["best_epoch"] == 2
    run.config.update({"epochs": 3})
    assert run.config.as_dict() == {"lr": 0.1, "epochs": 3}
    assert tracklet.config.lr == 0.1
    run.name = "renamed"
    run.tags += ["x"]
    assert (run.name, run.tags) == ("renamed", ("x",))
    run.finish()
    assert tracklet.run is None
    assert not (workdir / "tracklet").exists()
    assert list(workdir.iterdir()) == []


def test_disabled_mode_from_the_environment_in_a_script(workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script("""
        import tracklet
        run = tracklet.init(config={"lr": 0.1})
        run.log({"loss": 0.5})
        run.summary["x"] = 1
        print(run.disabled, run.summary["loss"])
    """, env={"TRACKLET_MODE": "disabled"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "0.5"]
    assert "ERROR" not in result.stderr
    assert sorted(p.name for p in workdir.iterdir()) == ["train.py"]


# -- reinit ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("reinit", [None, "default", "return_previous", False])
def test_reinit_returning_the_previous_run(workdir: Path, reinit: Any) -> None:
    first = tracklet.init(mode="offline", project="p1")
    second = tracklet.init(mode="offline", project="p2", reinit=reinit)
    assert second is first
    assert second.project == "p1"  # the new arguments are ignored
    assert tracklet.run is first
    first.finish()
    assert len(run_dirs(workdir)) == 1


@pytest.mark.parametrize("reinit", ["finish_previous", True])
def test_reinit_finish_previous(workdir: Path, reinit: Any) -> None:
    first = tracklet.init(mode="offline")
    first.log({"a": 1})
    second = tracklet.init(mode="offline", reinit=reinit)
    assert second is not first
    assert tracklet.run is second
    assert state_of(recorded(first)).exit_code == 0
    with pytest.raises(tracklet.UsageError, match="finished"):
        first.log({"a": 2})
    second.finish()
    assert len(run_dirs(workdir)) == 2


def test_reinit_finish_previous_finishes_every_active_run(workdir: Path) -> None:
    first = tracklet.init(mode="offline")
    side = tracklet.init(mode="offline", reinit="create_new")
    third = tracklet.init(mode="offline", reinit="finish_previous")
    assert state_of(recorded(first)).exit_code == 0
    assert state_of(recorded(side)).exit_code == 0
    assert lifecycle.active() == [third]
    third.finish()


def test_reinit_create_new_leaves_tracklet_run_untouched(workdir: Path) -> None:
    first = tracklet.init(mode="offline")
    second = tracklet.init(mode="offline", reinit="create_new")
    assert second is not first
    assert tracklet.run is first
    first.log({"a": 1})
    second.log({"b": 2})
    # a later plain init returns the most recently created active run
    assert tracklet.init(mode="offline") is second
    second.finish()
    first.finish()
    assert sorted(history_rows(r.log_path)[0]["_step"] for r in run_dirs(workdir)) == [0, 0]
    assert {r.run_id for r in run_dirs(workdir)} == {first.id, second.id}


def test_first_run_created_with_create_new_is_not_current(workdir: Path) -> None:
    run = tracklet.init(mode="offline", reinit="create_new")
    assert tracklet.run is None
    with pytest.raises(tracklet.Error, match=r"tracklet\.init\(\)"):
        tracklet.log({"a": 1})
    run.log({"a": 1})
    run.finish()


# -- tracklet.run and the global functions ------------------------------------------------------------


def test_tracklet_run_is_none_before_init_and_after_finish(workdir: Path) -> None:
    assert tracklet.run is None
    run = tracklet.init(mode="offline")
    assert tracklet.run is run
    assert tracklet.config is run.config
    run.finish()
    assert tracklet.run is None


@pytest.mark.parametrize(
    "use",
    [
        lambda: tracklet.log({"a": 1}),
        lambda: tracklet.define_metric("a"),
        lambda: tracklet.config["a"],
        lambda: tracklet.config.a,
        lambda: tracklet.summary["a"],
    ],
    ids=["log", "define_metric", "config-item", "config-attribute", "summary-item"],
)
def test_globals_before_init_raise_error_mentioning_init(workdir: Path, use: Callable[[], Any]) -> None:
    with pytest.raises(tracklet.Error, match=r"tracklet\.init\(\)"):
        use()


def test_globals_after_finish_raise_error_mentioning_init(workdir: Path) -> None:
    with tracklet.init(mode="offline"):
        tracklet.log({"a": 1})
    with pytest.raises(tracklet.Error, match=r"tracklet\.init\(\)"):
        tracklet.log({"a": 2})


def test_tracklet_finish_without_a_run_does_nothing(workdir: Path) -> None:
    tracklet.finish()
    assert not (workdir / "tracklet").exists()


def test_tracklet_log_goes_to_the_current_run(workdir: Path) -> None:
    with tracklet.init(mode="offline") as run:
        tracklet.log({"a": 1})
        tracklet.summary["best"] = 3
        tracklet.finish()
        assert tracklet.run is None
    assert history_rows(recorded(run).log_path) == [{"_step": 0, "a": 1}]
    assert state_of(recorded(run)).summary["best"] == 3


# -- the with block ----------------------------------------------------------------------------------


def test_with_block_finishes_with_exit_code_zero(workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script("""
        import tracklet
        with tracklet.init(mode="offline") as run:
            run.log({"a": 1})
        print(tracklet.run is None)
        import sys
        sys.exit(5)  # after the block: the run is already finished with 0
    """, env={"TRACKLET_SILENT": "1"})
    assert result.returncode == 5, result.stderr
    assert result.stdout.strip() == "True"
    recorded_run = only_run(workdir)
    assert state_of(recorded_run).exit_code == 0
    assert recorded_run.status == "finished"


def test_with_block_exception_fails_the_run_and_propagates(workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script("""
        import tracklet
        try:
            with tracklet.init(mode="offline") as run:
                run.log({"a": 1})
                raise ValueError("boom")
            print("not reached")
        except ValueError as exc:
            print("propagated", exc, tracklet.run is None)
    """, env={"TRACKLET_SILENT": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "propagated boom True"
    recorded_run = only_run(workdir)
    assert state_of(recorded_run).exit_code == 1
    assert recorded_run.status == "failed"
    assert history_rows(recorded_run.log_path) == [{"_step": 0, "a": 1}]


def test_with_block_uncaught_exception(workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script("""
        import tracklet
        with tracklet.init(mode="offline") as run:
            raise RuntimeError("kaput")
    """, env={"TRACKLET_SILENT": "1"})
    assert result.returncode == 1
    assert "RuntimeError: kaput" in result.stderr
    assert state_of(only_run(workdir)).exit_code == 1


@pytest.mark.parametrize(("ending", "exit_code"), [("sys.exit(4)", 4), ("sys.exit()", 0), ("raise SystemExit(0)", 0),
                                                    ("sys.exit('bad input')", 1)])
def test_with_block_left_by_sys_exit_records_its_code(workdir: Path, run_script, ending: str,  # type: ignore[no-untyped-def]
                                                       exit_code: int) -> None:
    result = run_script(f"""
        import sys, tracklet
        with tracklet.init(mode="offline") as run:
            run.log({{"a": 1}})
            {ending}
    """, env={"TRACKLET_SILENT": "1"})
    assert result.returncode == exit_code, result.stderr
    recorded_run = only_run(workdir)
    assert state_of(recorded_run).exit_code == exit_code
    assert recorded_run.status == ("finished" if exit_code == 0 else "failed")


# -- exit codes at interpreter exit ------------------------------------------------------------------

ENDINGS = [
    ("normal-end", "pass", 0, 0),
    ("uncaught-exception", "raise ValueError('boom')", 1, 1),
    ("keyboard-interrupt", "raise KeyboardInterrupt", 130, -2),  # Python ends by SIGINT; a shell shows 130
    ("keyboard-interrupt-subclass", "class Stop(KeyboardInterrupt):\n    pass\nraise Stop", 1, 1),
    ("sys-exit-3", "import sys; sys.exit(3)", 3, 3),
    ("sys-exit-0", "import sys; sys.exit(0)", 0, 0),
    ("sys-exit-message", "import sys; sys.exit('bad input')", 1, 1),
    ("raise-system-exit-7", "raise SystemExit(7)", 7, 7),
    ("raise-system-exit-class", "raise SystemExit", 0, 0),
    ("system-exit-none", "raise SystemExit(None)", 0, 0),
    ("builtin-exit-5", "exit(5)", 5, 5),
    ("builtin-quit-6", "quit(6)", 6, 6),
    ("exit-from-a-function", "def main():\n    raise SystemExit(9)\nmain()", 9, 9),
    ("caught-sys-exit", "import sys\ntry:\n    sys.exit(4)\nexcept SystemExit:\n    pass", 0, 0),
    ("caught-system-exit", "try:\n    raise SystemExit(4)\nexcept SystemExit as e:\n    assert e.code == 4", 0, 0),
    ("system-exit-in-a-thread", "import threading\ndef f():\n    raise SystemExit(4)\n"
     "t = threading.Thread(target=f)\nt.start()\nt.join()", 0, 0),
    ("excepthook-replaced", "import sys\nsys.excepthook = lambda *a: print('own hook')\nraise ValueError", 1, 1),
]


@pytest.mark.parametrize(("ending", "exit_code", "returncode"), [pytest.param(*e[1:], id=e[0]) for e in ENDINGS])
def test_unfinished_run_is_finished_at_exit_with_the_process_exit_code(
    workdir: Path, run_script, ending: str, exit_code: int, returncode: int | None  # type: ignore[no-untyped-def]
) -> None:
    result = run_script(_ending_script(ending, tracked=True), env={"TRACKLET_SILENT": "1"})
    assert result.returncode == returncode, result.stderr
    recorded_run = only_run(workdir)
    state = state_of(recorded_run)
    assert state.exit_code == exit_code
    assert recorded_run.status == ("finished" if exit_code == 0 else "failed")
    assert history_rows(recorded_run.log_path) == [{"_step": 0, "loss": 0.5}, {"_step": 1, "loss": 0.25}]
    exits = [r for r in local.read_records(recorded_run.log_path) if r.type.name == "EXIT"]
    assert len(exits) == 1


def _ending_script(ending: str, tracked: bool) -> str:
    """A script that logs two points and ends by ``ending``; untracked, the same lines do nothing
    (tracebacks keep their line numbers)."""
    start = [
        "import tracklet", 'run = tracklet.init(mode="offline")', 'run.log({"loss": 0.5})', 'run.log({"loss": 0.25})',
    ]
    lines = start if tracked else ["pass"] * len(start)
    return "\n".join([*lines, ending, ""])


@pytest.mark.parametrize("ending", [pytest.param(e[1], id=e[0]) for e in ENDINGS])
def test_the_process_ends_exactly_as_without_tracklet(run_script, ending: str) -> None:  # type: ignore[no-untyped-def]
    """Exit status, stdout and stderr (the message of ``sys.exit('…')``, tracebacks) are Python's own."""
    plain = run_script(_ending_script(ending, tracked=False), env={"TRACKLET_SILENT": "1"})
    tracked = run_script(_ending_script(ending, tracked=True), env={"TRACKLET_SILENT": "1"})
    assert (tracked.returncode, tracked.stdout, tracked.stderr) == (plain.returncode, plain.stdout, plain.stderr)


def test_except_system_exit_catches_the_scripts_and_its_libraries_exits(workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    """The script's ``except SystemExit`` catches a ``sys.exit`` it imported before ``init``, and a
    library's catches the script's ``raise SystemExit``: control flow is Python's own."""
    (workdir / "guard.py").write_text(
        "def code_of(f):\n    try:\n        f()\n    except SystemExit as e:\n        return e.code\n", encoding="utf-8")
    result = run_script("""
        from sys import exit as leave
        import guard, tracklet
        run = tracklet.init(mode="offline")
        try:
            leave(3)
        except SystemExit as e:
            print("script caught", e.code)
        def stop():
            raise SystemExit(4)
        print("library caught", guard.code_of(stop), guard.code_of(lambda: leave(5)))
        raise SystemExit(6)
    """, env={"TRACKLET_SILENT": "1"})
    assert result.returncode == 6, result.stderr
    assert result.stdout.splitlines() == ["script caught 3", "library caught 4 5"]
    assert state_of(only_run(workdir)).exit_code == 6


def test_every_unfinished_run_is_finished_at_exit(workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script("""
        import sys, tracklet
        tracklet.init(mode="offline").log({"a": 1})
        tracklet.init(mode="offline", reinit="create_new").log({"b": 2})
        sys.exit(4)
    """, env={"TRACKLET_SILENT": "1"})
    assert result.returncode == 4, result.stderr
    runs = run_dirs(workdir)
    assert len(runs) == 2
    assert [state_of(r).exit_code for r in runs] == [4, 4]


def test_explicitly_finished_run_keeps_its_exit_code(workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script("""
        import tracklet
        run = tracklet.init(mode="offline")
        run.finish(exit_code=2)
        raise ValueError("after finish")
    """, env={"TRACKLET_SILENT": "1"})
    assert result.returncode == 1
    assert state_of(only_run(workdir)).exit_code == 2


def test_finished_run_footer_says_where_the_data_is(workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script("""
        import tracklet
        run = tracklet.init(mode="offline")
        run.log({"a": 1})
    """)
    assert result.returncode == 0, result.stderr
    assert str(only_run(workdir).dir) in result.stderr
    assert "ERROR" not in result.stderr


# -- using a finished run ---------------------------------------------------------------------------


def _set_tags(run: tracklet.Run) -> None:
    run.tags = ["x"]


def _add_tags(run: tracklet.Run) -> None:
    run.tags += ["x"]


def _delete_summary_key(run: tracklet.Run) -> None:
    del run.summary["a"]


FINISHED_RUN_CALLS: list[tuple[str, Callable[[tracklet.Run], Any]]] = [
    ("log", lambda r: r.log({"a": 2})),
    ("config-update", lambda r: r.config.update({"b": 2})),
    ("config-item", lambda r: r.config.__setitem__("b", 2)),
    ("config-attribute", lambda r: setattr(r.config, "b", 2)),
    ("summary-item", lambda r: r.summary.__setitem__("s", 1)),
    ("summary-update", lambda r: r.summary.update({"s": 1})),
    ("summary-delete", _delete_summary_key),
    ("name", lambda r: setattr(r, "name", "x")),
    ("notes", lambda r: setattr(r, "notes", "x")),
    ("tags", _set_tags),
    ("tags-add", _add_tags),
    ("group", lambda r: setattr(r, "group", "x")),
    ("job_type", lambda r: setattr(r, "job_type", "x")),
    ("define_metric", lambda r: r.define_metric("a", summary="max")),
]


@pytest.mark.parametrize("call", [pytest.param(c, id=i) for i, c in FINISHED_RUN_CALLS])
def test_using_a_finished_run_raises_and_records_nothing(workdir: Path, call: Callable[[tracklet.Run], Any]) -> None:
    run = tracklet.init(mode="offline", config={"lr": 0.1})
    run.log({"a": 1})
    run.finish()
    before = records(run)
    with pytest.raises(tracklet.UsageError) as raised:
        call(run)
    message = str(raised.value)
    assert "finished" in message and run.id in message
    after = records(run)
    assert len(after) == len(before)
    assert after[-1].type.name == "EXIT"


def test_finish_is_idempotent(workdir: Path) -> None:
    run = tracklet.init(mode="offline")
    run.log({"a": 1})
    run.finish(exit_code=2)
    run.finish()
    run.finish(exit_code=0)
    tracklet.finish()
    exits = [r for r in records(run) if r.type.name == "EXIT"]
    assert len(exits) == 1
    assert state_of(recorded(run)).exit_code == 2


def test_finish_rejects_a_non_integer_exit_code(workdir: Path) -> None:
    run = tracklet.init(mode="offline")
    with pytest.raises(TypeError, match="exit_code"):
        run.finish(exit_code="failed")  # type: ignore[arg-type]
    run.finish()
    assert state_of(recorded(run)).exit_code == 0


# -- run attributes: setters and tags ------------------------------------------------------------------


def test_tags_plus_equals_list_or_tuple(workdir: Path) -> None:
    with tracklet.init(mode="offline", tags=["a"]) as run:
        run.tags += ["b"]
        run.tags += ("c",)
        assert run.tags == ("a", "b", "c")
        assert isinstance(run.tags, tuple)
    assert state_of(recorded(run)).tags == ("a", "b", "c")


def test_invalid_tags_in_the_setter_raise(workdir: Path) -> None:
    with tracklet.init(mode="offline", tags=["a"]) as run:
        with pytest.raises(tracklet.UsageError, match="tags"):
            run.tags = ["ok", ""]
        assert run.tags == ("a",)


def test_setters_are_recorded_and_survive_a_replay(workdir: Path) -> None:
    with tracklet.init(mode="offline", name="before", tags=["a"]) as run:
        run.name = "after"
        run.notes = "tried a smaller lr"
        run.tags = ["b", "c"]
        run.group = "sweep-1"
        run.job_type = "eval"
        assert (run.name, run.notes, run.tags, run.group, run.job_type) == (
            "after", "tried a smaller lr", ("b", "c"), "sweep-1", "eval",
        )
    changes = [r.body for r in records(run) if r.type.name == "RUN"]
    assert changes == [
        {"name": "after"}, {"notes": "tried a smaller lr"}, {"tags": ["b", "c"]},
        {"group": "sweep-1"}, {"job_type": "eval"},
    ]
    state = state_of(recorded(run))
    assert (state.name, state.notes, state.tags, state.group, state.job_type) == (
        "after", "tried a smaller lr", ("b", "c"), "sweep-1", "eval",
    )


def test_setters_in_a_script_survive_the_process(workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script("""
        import tracklet
        run = tracklet.init(mode="offline")
        run.name = "renamed"
        run.tags += ["late"]
        raise SystemExit(0)
    """, env={"TRACKLET_SILENT": "1"})
    assert result.returncode == 0, result.stderr
    state = state_of(only_run(workdir))
    assert (state.name, state.tags, state.exit_code) == ("renamed", ("late",), 0)
