"""Showing upload progress: ``tracklet sync`` and ``finish()``'s wait for the agent.

Three ways, chosen by :func:`output_mode`:

- ``bars``: on a terminal, one rich progress bar per run and one for the total (records,
  bytes of the run log, rate). ``rich`` is imported here only then, so ``import tracklet``
  and output to logs stay cheap.
- ``lines``: anywhere else (CI logs, pipes), one plain line per run and one for the total.
- ``silent``: nothing (``TRACKLET_SILENT`` / the ``silent`` setting); errors are printed by
  the callers, not here.

The numbers are what the uploader says was acknowledged (records by sequence number, bytes
by position in the run log) against what the run log holds; nothing here talks to a server.
"""

from __future__ import annotations

import time
from typing import Any, Literal, TextIO

Mode = Literal["bars", "lines", "silent"]


def output_mode(stream: TextIO, silent: bool) -> Mode:
    """``silent`` when asked to be; ``bars`` on a terminal that can redraw; ``lines`` otherwise."""
    if silent:
        return "silent"
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        interactive = False
    return "bars" if interactive else "lines"


def format_bytes(count: float) -> str:
    """``1.2 MB``: decimal units, as the bars show them."""
    for unit in ("bytes", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def summary(records: int, size: int, seconds: float) -> str:
    """``1,234 records, 4.5 MB in 2.1 s (2.1 MB/s)``."""
    rate = f" ({format_bytes(size / seconds)}/s)" if seconds > 0.05 else ""
    return f"{records:,} records, {format_bytes(size)} in {seconds:.1f} s{rate}"


class RunProgress:
    """One run's upload: positions acknowledged so far against the run log's totals."""

    def __init__(self, display: UploadDisplay, label: str, records: tuple[int, int], size: tuple[int, int]) -> None:
        self.display = display
        self.label = label
        self.first_records, self.total_records = records  # acknowledged when we started, and all of them
        self.first_bytes, self.total_bytes = size
        self.records, self.bytes = records[0], size[0]
        self.started = time.monotonic()
        self.task: Any = None  # the rich task id, in bars mode

    def update(self, records: int, size: int) -> None:
        """Acknowledged up to record ``records`` and byte ``size`` of the run log."""
        self.records = max(self.records, min(records, self.total_records))
        self.bytes = max(self.bytes, min(size, self.total_bytes))
        self.display._changed(self)

    @property
    def sent_records(self) -> int:
        return self.records - self.first_records

    @property
    def sent_bytes(self) -> int:
        return self.bytes - self.first_bytes

    def end(self, outcome: str | None) -> None:
        """The upload is over: complete, and the line ``outcome`` (e.g. ``<run dir>: synced to e/p/id``)
        is printed with the records, bytes and rate sent; or, with None, it stopped short (the
        caller says why)."""
        text = None
        if outcome is not None:
            self.update(self.total_records, self.total_bytes)
            text = f"{outcome}: {summary(self.sent_records, self.sent_bytes, time.monotonic() - self.started)}"
        self.display._ended(self, text)


class UploadDisplay:
    """Upload progress of one or more runs, in the given ``mode``, on ``stream``.

    Use as a context manager; :meth:`run` starts a run's bar, :meth:`say` prints a line
    (above the bars, on a terminal).
    """

    def __init__(self, stream: TextIO, mode: Mode, total_bytes: int = 0, run_count: int = 1) -> None:
        self.stream = stream
        self.mode = mode
        self.total_bytes = total_bytes  # left to upload of every run: known before any run log is read
        self.run_count = run_count  # the runs to upload, for the total
        self.show_total = run_count > 1
        self.runs: list[RunProgress] = []
        self.ended = 0
        self.started = time.monotonic()
        self._progress: Any = None
        self._total_task: Any = None

    def __enter__(self) -> UploadDisplay:
        if self.mode == "bars":
            self._start_bars()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _start_bars(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TaskProgressColumn, TextColumn
        from rich.table import Column

        def whole() -> Column:  # numbers stay on one line; the label gives way on a narrow terminal
            return Column(no_wrap=True)

        console = Console(file=self.stream, highlight=False)
        self._progress = Progress(
            TextColumn("{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis", max_width=32)),
            BarColumn(bar_width=20), TaskProgressColumn(table_column=whole()),
            TextColumn("{task.fields[records]}", table_column=whole()), DownloadColumn(table_column=whole()),
            TextColumn("{task.fields[rate]}", table_column=whole()),  # the average since it started
            console=console, refresh_per_second=8,
        )
        self._progress.start()
        if self.show_total:
            self._total_task = self._progress.add_task(self._total_description(), total=max(self.total_bytes, 1),
                                                       records="0 records", rate="")

    def run(self, label: str, records: tuple[int, int], size: tuple[int, int]) -> RunProgress:
        """Start showing a run: ``records`` and ``size`` are (acknowledged already, in all)."""
        run = RunProgress(self, label, records, size)
        self.runs.append(run)
        if self._progress is not None:
            run.task = self._progress.add_task(label, total=max(size[1] - size[0], 1), records=_records_text(run), rate="")
        self._changed(run)
        return run

    def say(self, text: str) -> None:
        """A line of its own (above the bars on a terminal); nothing when silent."""
        if self.mode == "silent":
            return
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            print(text, file=self.stream, flush=True)

    def _changed(self, run: RunProgress) -> None:
        if self._progress is None:
            return
        now = time.monotonic()
        self._progress.update(run.task, completed=run.sent_bytes, records=_records_text(run),
                              rate=_rate(run.sent_bytes, now - run.started))
        if self._total_task is not None:
            records = sum(r.sent_records for r in self.runs)
            done = sum(r.sent_bytes for r in self.runs)
            self._progress.update(self._total_task, completed=done, records=f"{records:,} records",
                                  rate=_rate(done, now - self.started), description=self._total_description())

    def _total_description(self) -> str:
        return f"total ({self.ended} of {max(self.run_count, len(self.runs))} runs)"

    def _ended(self, run: RunProgress, text: str | None) -> None:
        self.ended += text is not None
        self._changed(run)
        if text is not None:
            self.say(text)

    def close(self) -> None:
        """Stop the bars, and print the total (when there was more than one run)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self.show_total and len(self.runs) > 1 and self.mode == "lines":
            records = sum(r.sent_records for r in self.runs)
            size = sum(r.sent_bytes for r in self.runs)
            self.say(f"total: {self.ended} of {max(self.run_count, len(self.runs))} runs, "
                     f"{summary(records, size, time.monotonic() - self.started)}")


def _rate(size: int, seconds: float) -> str:
    return f"{format_bytes(size / seconds)}/s" if seconds > 0.05 and size else ""


def _records_text(run: RunProgress) -> str:
    return f"{run.records:,}/{run.total_records:,} records"


__all__ = ["Mode", "RunProgress", "UploadDisplay", "format_bytes", "output_mode", "summary"]
