"""Console capture when the training process dies abruptly: the console tee, a process of its
own, still shows and writes to ``output.log`` every byte the process wrote before it died."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ServerProcess, api, only_run
from tests.integration.test_console import SILENT, output_log, output_records
from tests.integration.test_server_runs import wait_for

HEADER = """
import ctypes, faulthandler, os, signal, sys, tracklet
run = tracklet.init(project="con", mode="offline")
print("last words", flush=True)
"""

ENDINGS = {
    "sigkill": ("os.kill(os.getpid(), signal.SIGKILL)", -signal.SIGKILL),
    "sigabrt": ("os.abort()", -signal.SIGABRT),
    "os._exit": ("sys.stderr.write('bye\\n'); sys.stderr.flush(); os._exit(3)", 3),
}


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_a_killed_script_keeps_its_last_line(run_script, workdir: Path, ending: str) -> None:
    code, returncode = ENDINGS[ending]
    result = run_script(HEADER + code + "\n", env=SILENT)
    assert result.returncode == returncode, result.stderr
    assert result.stdout == "last words\n"
    lines = output_log(only_run(workdir))
    assert lines[0] == "last words"
    if ending == "os._exit":
        assert result.stderr == "bye\n" and lines == ["last words", "bye"]


def test_a_segfault_shows_the_faulthandler_traceback(run_script, workdir: Path) -> None:
    result = run_script(HEADER + "faulthandler.enable()\nctypes.string_at(0)\n", env=SILENT)
    assert result.returncode == -signal.SIGSEGV
    assert result.stdout == "last words\n"
    assert "Fatal Python error: Segmentation fault" in result.stderr
    lines = output_log(only_run(workdir))
    assert lines[0] == "last words"
    assert "Fatal Python error: Segmentation fault" in lines


def test_lines_written_while_alive_are_also_records(run_script, workdir: Path) -> None:
    result = run_script(HEADER + "import time; time.sleep(0.5)\nos.kill(os.getpid(), signal.SIGKILL)\n", env=SILENT)
    assert result.returncode == -signal.SIGKILL
    assert [r["text"] for r in output_records(only_run(workdir))] == ["last words"]


def run_in_a_terminal(workdir: Path, code: str) -> tuple[int, bytes]:
    """Run ``code`` as ``train.py`` with stdout and stderr a pty 123 columns wide; what it showed."""
    import fcntl
    import struct
    import termios

    (workdir / "train.py").write_text(textwrap.dedent(code), encoding="utf-8")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 123, 0, 0))
    proc = subprocess.Popen([sys.executable, "train.py"], cwd=workdir, stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=slave, env={**os.environ, **SILENT})
    os.close(slave)
    seen = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every writer is gone
            break
        if not data:
            break
        seen += data
    os.close(master)
    return proc.wait(timeout=60), seen


def test_a_terminal_stays_a_terminal(workdir: Path) -> None:
    returncode, seen = run_in_a_terminal(workdir, """
        import os, sys, tracklet
        run = tracklet.init(project="con", mode="offline")
        print("tty", sys.stdout.isatty(), os.isatty(1), os.isatty(2), os.get_terminal_size(1).columns)
        print("\\x1b[32mgreen\\x1b[0m")
        run.finish()
    """)
    assert returncode == 0
    assert b"tty True True True 123\r\n\x1b[32mgreen\x1b[0m\r\n" in seen
    assert output_log(only_run(workdir)) == ["tty True True True 123", "\x1b[32mgreen\x1b[0m"]


def test_a_killed_script_in_a_terminal_keeps_its_last_line(workdir: Path) -> None:
    returncode, seen = run_in_a_terminal(workdir, HEADER + "os.kill(os.getpid(), signal.SIGKILL)\n")
    assert returncode == -signal.SIGKILL
    assert seen == b"last words\r\n"
    assert output_log(only_run(workdir)) == ["last words"]


def test_an_online_run_killed_uploads_the_whole_output_log(server: ServerProcess, run_script, workdir: Path) -> None:
    result = run_script("""
        import os, signal, tracklet
        run = tracklet.init(project="con", id="kill0001")
        for i in range(1000):
            print(f"line {i}")
        print("last words", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """, env=SILENT)
    assert result.returncode == -signal.SIGKILL
    expected = [f"line {i}" for i in range(1000)] + ["last words"]
    assert output_log(only_run(workdir)) == expected
    with api(server) as client:
        wait_for(lambda: client.get("/runs/root/con/kill0001").json()["state"] == "crashed", timeout=30)
        wait_for(lambda: client.get("/runs/root/con/kill0001/files/output.log").status_code == 200, timeout=30)
        text = client.get("/runs/root/con/kill0001/files/output.log").text
    assert text.split("\n")[:-1] == expected


def test_without_a_tee_capture_falls_back_to_wrap(run_script, workdir: Path) -> None:
    result = run_script("""
        import sys, tracklet
        sys.executable = "/bin/false"  # the tee cannot start
        run = tracklet.init(project="con", mode="offline", settings=tracklet.Settings(console="redirect"))
        print("still shown", flush=True)
        run.finish()
    """, env=SILENT)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "still shown\n"
    assert output_log(only_run(workdir)) == ["still shown"]


def test_a_terminal_resize_reaches_the_script(workdir: Path) -> None:
    """tqdm and rich read the size of fd 1, which is the tee's pty: a resize of the user's terminal
    must change it (the script waits for the new size, so without it the test fails)."""
    import fcntl
    import struct
    import termios

    (workdir / "train.py").write_text(textwrap.dedent("""
        import os, signal, threading, time, tracklet
        resized = threading.Event()
        signal.signal(signal.SIGWINCH, lambda *_: resized.set())
        run = tracklet.init(project="con", mode="offline")
        print("before", os.get_terminal_size(1), flush=True)
        resized.wait(60)
        deadline = time.monotonic() + 30
        while os.get_terminal_size(1).columns != 77 and time.monotonic() < deadline:
            time.sleep(0.01)  # the tee copies the size on its own SIGWINCH, a moment later
        print("after", os.get_terminal_size(1), flush=True)
        run.finish()
    """), encoding="utf-8")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 123, 0, 0))

    def controlling_terminal() -> None:  # a session of its own whose terminal is the pty: SIGWINCH on resize
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen([sys.executable, "train.py"], cwd=workdir, stdin=slave, stdout=slave, stderr=slave,
                            env={**os.environ, **SILENT}, start_new_session=True, preexec_fn=controlling_terminal)
    os.close(slave)
    seen = b""
    resized = False
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every writer is gone
            break
        if not data:
            break
        seen += data
        if b"before" in seen and not resized:
            fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 25, 77, 0, 0))
            resized = True
    os.close(master)
    assert proc.wait(timeout=60) == 0
    assert b"before os.terminal_size(columns=123, lines=40)" in seen
    assert b"after os.terminal_size(columns=77, lines=25)" in seen
