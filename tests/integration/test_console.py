"""Console capture: what a user script prints reaches output.log, the run log and the server."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.conftest import ServerProcess, api, only_run
from tracklet.runlog import RecordType
from tracklet.sdk import local

SCRIPT = """
import os, sys, time, tracklet
run = tracklet.init(project="con", mode={mode!r}, settings=tracklet.Settings(console={console!r}))
print("hello 1", flush=True)
os.write(1, b"C-level\\n")
time.sleep(0.05)  # order across stdout and stderr is kept for writes a few ms apart
sys.stderr.write("to stderr\\n"); sys.stderr.flush()
time.sleep(0.05)
for pct in (0, 25, 50, 75, 100):
    sys.stdout.write(f"\\rtraining |{{'#' * (pct // 25):<4}}| {{pct}}%"); sys.stdout.flush()
sys.stdout.write("\\n")
print("\\x1b[32mgreen\\x1b[0m", flush=True)
print("no newline at the end", end="", flush=True)
run.finish()
print("after finish", flush=True)
"""

EXPECTED = [
    ("stdout", "hello 1"),
    ("stdout", "C-level"),
    ("stderr", "to stderr"),
    ("stdout", "training |####| 100%"),
    ("stdout", "\x1b[32mgreen\x1b[0m"),
    ("stdout", "no newline at the end"),
]
SILENT = {"TRACKLET_SILENT": "1"}


def output_records(run: local.LocalRun) -> list[dict]:
    return [r.body for r in local.read_records(run.log_path) if r.type is RecordType.OUTPUT]


def output_log(run: local.LocalRun) -> list[str]:
    path = run.dir / "files" / "output.log"
    return path.read_text(encoding="utf-8").split("\n")[:-1] if path.exists() else []


def settings_supported() -> bool:
    import tracklet

    return hasattr(tracklet, "Settings")


@pytest.mark.parametrize("console", ["auto", "redirect"])
def test_script_output_is_recorded_in_order(run_script, workdir: Path, console: str) -> None:
    result = run_script(SCRIPT.format(mode="offline", console=console), env=SILENT)
    assert result.returncode == 0, result.stderr
    run = only_run(workdir)
    records = output_records(run)
    assert [(r["stream"], r["text"]) for r in records] == EXPECTED
    assert all(isinstance(r["timestamp"], float) for r in records)
    assert [r["timestamp"] for r in records] == sorted(r["timestamp"] for r in records)
    assert output_log(run) == [text for _, text in EXPECTED]
    # the user still sees everything, unchanged, on the real stdout and stderr
    # (run_script reads in text mode, which turns each "\r" into "\n")
    assert result.stdout.startswith("hello 1\nC-level\n\ntraining |    | 0%\ntraining |#   | 25%")
    assert "training |####| 100%\n\x1b[32mgreen\x1b[0m\nno newline at the end" in result.stdout
    assert result.stdout.endswith("after finish\n")
    assert result.stderr == "to stderr\n"


def test_wrap_catches_python_writes_only(run_script, workdir: Path) -> None:
    result = run_script(SCRIPT.format(mode="offline", console="wrap"), env=SILENT)
    assert result.returncode == 0, result.stderr
    run = only_run(workdir)
    expected = [line for line in EXPECTED if line[1] != "C-level"]
    assert [(r["stream"], r["text"]) for r in output_records(run)] == expected
    assert output_log(run) == [text for _, text in expected]
    assert "C-level\n" in result.stdout and result.stdout.endswith("after finish\n")


def test_console_off_records_nothing(run_script, workdir: Path) -> None:
    result = run_script(SCRIPT.format(mode="offline", console="off"), env=SILENT)
    assert result.returncode == 0, result.stderr
    run = only_run(workdir)
    assert output_records(run) == [] and output_log(run) == []
    assert "hello 1\nC-level\n" in result.stdout


def test_environment_variable_chooses_the_mode(run_script, workdir: Path) -> None:
    code = """
    import os, tracklet
    run = tracklet.init(project="con", mode="offline")
    print("py", flush=True); os.write(1, b"fd\\n")
    run.finish()
    """
    assert run_script(code, env={**SILENT, "TRACKLET_CONSOLE": "wrap"}).returncode == 0
    assert [r["text"] for r in output_records(only_run(workdir))] == ["py"]


def test_long_line_and_flood(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import os, sys, time, tracklet
        run = tracklet.init(project="con", mode="offline")
        print("x" * 1_000_000)
        for i in range(100_000):
            print(f"line {i}")
        sys.stdout.flush(); time.sleep(0.05)
        sys.stderr.write("done\\n")
        run.finish()
        """,
        env=SILENT, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "x" * 1_000_000 + "\n" + "".join(f"line {i}\n" for i in range(100_000))
    run = only_run(workdir)
    texts = [r["text"] for r in output_records(run)]
    pieces = [("x" * 1_000_000)[i:i + 65536] for i in range(0, 1_000_000, 65536)]
    assert len(pieces) == 16
    assert texts == pieces + [f"line {i}" for i in range(100_000)] + ["done"]
    assert output_log(run) == texts


def test_forked_child_output_is_recorded_by_the_parent(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import os, tracklet
        run = tracklet.init(project="con", mode="offline", settings=tracklet.Settings(console="redirect"))
        print("parent", flush=True)
        pid = os.fork()
        if pid == 0:
            print("child", flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
        print("parent again", flush=True)
        run.finish()
        """,
        env=SILENT,
    )
    assert result.returncode == 0, result.stderr
    assert [r["text"] for r in output_records(only_run(workdir))] == ["parent", "child", "parent again"]
    assert result.stdout == "parent\nchild\nparent again\n"


def test_a_failing_script_records_its_traceback(run_script, workdir: Path) -> None:
    result = run_script(
        """
        import tracklet
        run = tracklet.init(project="con", mode="offline")
        print("before", flush=True)
        raise RuntimeError("boom")
        """,
        env=SILENT,
    )
    assert result.returncode == 1 and "RuntimeError: boom" in result.stderr
    lines = output_log(only_run(workdir))
    assert lines[0] == "before" and lines[-1] == "RuntimeError: boom"


def test_online_run_streams_console_lines_to_the_server(server: ServerProcess, run_script, workdir: Path) -> None:
    result = run_script(SCRIPT.format(mode="online", console="auto") + "print(run.id)\n", env=SILENT)
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.strip().split("\n")[-1]
    with api(server) as client:
        deadline = time.monotonic() + 30
        while True:
            response = client.get(f"/runs/root/con/{run_id}/console")
            lines = response.json()["lines"] if response.status_code == 200 else []
            if len(lines) >= len(EXPECTED) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert [(line["stream"], line["text"]) for line in lines] == EXPECTED
        assert [line["line_no"] for line in lines] == list(range(len(EXPECTED)))
        tail = client.get(f"/runs/root/con/{run_id}/console", params={"after": 3, "limit": 1}).json()["lines"]
        assert [line["text"] for line in tail] == ["\x1b[32mgreen\x1b[0m"]
    assert output_log(only_run(workdir)) == [text for _, text in EXPECTED]


def test_capture_survives_a_failing_emit(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from tracklet.sdk.console import ConsoleCapture

    def broken(kind, body):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    capture = ConsoleCapture("redirect", broken, tmp_path / "output.log")
    capture.start()
    try:
        os.write(1, b"still shown\n")  # pytest's capfd points sys.stdout past fd 1
    finally:
        capture.stop()
    assert capfd.readouterr().out == "still shown\n"
    assert (tmp_path / "output.log").read_text() == "still shown\n"


def test_wrap_keeps_the_stream_behaviour(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    from tracklet.sdk.console import ConsoleCapture

    seen: list[dict] = []
    original = sys.stdout.write
    capture = ConsoleCapture("wrap", lambda kind, body: seen.append(body), tmp_path / "output.log")
    capture.start()
    try:
        assert sys.stdout.write("abc\n") == 4
        sys.stdout.flush()
        assert sys.stdout.isatty() is False
    finally:
        capture.stop()
    assert sys.stdout.write == original
    assert capsys.readouterr().out == "abc\n"
    assert [body["text"] for body in seen] == ["abc"]
