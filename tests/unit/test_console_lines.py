"""The line assembler of console capture: newlines, carriage returns, long lines."""

from __future__ import annotations

from tracklet.sdk.console import LineAssembler


def assemble(*chunks: str, max_line: int = 64 * 1024, flush: bool = False) -> list[str]:
    lines: list[str] = []
    assembler = LineAssembler("stdout", lambda stream, text: lines.append(text), max_line=max_line)
    for chunk in chunks:
        assembler.feed(chunk)
    if flush:
        assembler.flush()
    return lines


def test_lines_split_on_newline_across_chunks() -> None:
    assert assemble("a\nb", "c\n", "\n", "d") == ["a", "bc", ""]
    assert assemble("a\nb", "c\n", "d", flush=True) == ["a", "bc", "d"]


def test_crlf_is_a_newline() -> None:
    assert assemble("a\r\nb\r\n") == ["a", "b"]
    assert assemble("a\r", "\nb\r", "\n") == ["a", "b"]


def test_carriage_return_collapses_a_progress_bar() -> None:
    assert assemble("\r 10%", "\r 50%", "\r100%", "\n") == ["100%"]
    assert assemble("epoch 1 \r 10%\r 20%\n") == [" 20%"]
    assert assemble("abc\r", "de\n") == ["de"]
    assert assemble("\r 10%|###", "       |\r", flush=True) == [" 10%|###       |"]  # nothing replaced it yet


def test_partial_line_is_held_until_flushed() -> None:
    lines: list[str] = []
    assembler = LineAssembler("stderr", lambda stream, text: lines.append(f"{stream}:{text}"))
    assembler.feed("loading", now=5.0)
    assert lines == [] and assembler.pending and assembler.pending_since == 5.0 and assembler.last_data == 5.0
    assembler.flush()
    assert lines == ["stderr:loading"] and not assembler.pending
    assembler.flush()
    assert lines == ["stderr:loading"]


def test_long_lines_are_split() -> None:
    assert assemble("x" * 25 + "\n", max_line=10) == ["x" * 10, "x" * 10, "x" * 5]
    assert assemble("y" * 30 + "\n", max_line=10) == ["y" * 10] * 3
    # without a newline, whole pieces go out as they fill, the rest waits
    lines = assemble("z" * 23, max_line=10)
    assert lines == ["z" * 10, "z" * 10]
    assert assemble(*(["q" * 7] * 5), "\n", max_line=10) == ["q" * 10, "q" * 10, "q" * 10, "q" * 5]


def test_ansi_escape_codes_are_kept() -> None:
    assert assemble("\x1b[31mred\x1b[0m\n") == ["\x1b[31mred\x1b[0m"]


def test_empty_feed_does_nothing() -> None:
    assert assemble("", "", flush=True) == []


def test_the_tee_knows_the_sdk_prefix_and_imports_no_tracklet() -> None:
    import subprocess
    import sys
    from pathlib import Path

    from tracklet.sdk import console_lines
    from tracklet.sdk.printer import PREFIX

    assert console_lines.SDK_PREFIX == PREFIX + " "
    tee = Path(console_lines.__file__).with_name("console_tee.py")
    code = (f"import sys; sys.path.insert(0, {str(tee.parent)!r}); import console_tee; "
            "print(sorted(m for m in sys.modules if m.startswith('tracklet')))")  # as console.py starts it
    out = subprocess.run([sys.executable, "-E", "-s", "-S", "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
