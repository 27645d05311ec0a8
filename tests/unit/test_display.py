"""agent/display: which way progress is shown, and the plain lines written off a terminal."""

from __future__ import annotations

import io
import os

from tracklet.agent.display import UploadDisplay, format_bytes, output_mode


def test_bars_only_on_a_terminal_and_nothing_when_silent() -> None:
    master, slave = os.openpty()
    try:
        with open(slave, "w", closefd=False) as terminal:
            assert output_mode(terminal, silent=False) == "bars"
            assert output_mode(terminal, silent=True) == "silent"
    finally:
        os.close(master)
        os.close(slave)
    assert output_mode(io.StringIO(), silent=False) == "lines"


def test_sizes_in_decimal_units() -> None:
    assert [format_bytes(n) for n in (0, 999, 1000, 180_400, 2_500_000, 7 * 10**9)] == [
        "0 bytes", "999 bytes", "1.0 kB", "180.4 kB", "2.5 MB", "7.0 GB"]


def test_lines_mode_prints_one_line_per_run_and_a_total() -> None:
    out = io.StringIO()
    with UploadDisplay(out, "lines", total_bytes=3000, run_count=3) as display:
        first = display.run("a", (0, 10), (0, 1000))
        first.update(5, 500)
        assert out.getvalue() == ""  # nothing while it moves: logs get one line per run
        first.end("dir/a: synced to e/p/a")
        second = display.run("b", (4, 14), (400, 2400))  # partly uploaded before: only the rest counts
        second.end("dir/b: synced to e/p/b")
        display.run("c", (0, 7), (0, 600)).end(None)  # failed: its caller says so
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("dir/a: synced to e/p/a: 10 records, 1.0 kB in ")
    assert lines[1].startswith("dir/b: synced to e/p/b: 10 records, 2.0 kB in ")
    assert lines[2].startswith("total: 2 of 3 runs, 20 records, 3.0 kB in ")
    assert len(lines) == 3


def test_silent_prints_nothing() -> None:
    out = io.StringIO()
    with UploadDisplay(out, "silent", run_count=2) as display:
        display.run("a", (0, 1), (0, 10)).end("a: synced")
        display.say("anything")
    assert out.getvalue() == ""
