"""The ``Run`` object that ``tracklet.init`` returns."""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol

from tracklet.errors import Error, UsageError
from tracklet.runlog import Record, RecordingStopped, RecordType, RunLogWriter, RunState, encode, encode_history
from tracklet.runlog.metrics import SUMMARY_OPS, Path as MetricPath
from tracklet.sdk.artifact_writer import ArtifactWriter
from tracklet.sdk.config import Config
from tracklet.sdk.files import RunFiles, FileKeeper, close_logger
from tracklet.sdk.lifecycle import exit_code_for
from tracklet.sdk.media_writer import DiscardFiles, MediaWriter
from tracklet.sdk.printer import Printer
from tracklet.sdk.summary import Summary
from tracklet.sdk.values import prepare_row
from tracklet.settings import Settings, _tags

if TYPE_CHECKING:
    from tracklet.artifacts.artifact import Artifact


class Service(Protocol):
    """Something that runs beside the training loop for the run's lifetime."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class Metric:
    """What ``define_metric`` returns: the definition as it now stands."""

    def __init__(self, definition: dict[str, Any]) -> None:
        self.name: str = definition["name"]
        self.step_metric: str | None = definition.get("step_metric")
        self.step_sync: bool | None = definition.get("step_sync")
        self.hidden: bool | None = definition.get("hidden")
        self.summary: tuple[str, ...] | None = tuple(definition["summary"]) if definition.get("summary") else None

    def __repr__(self) -> str:
        return f"Metric(name={self.name!r}, step_metric={self.step_metric!r}, summary={self.summary!r})"


class Run:
    """A single run: the unit of tracking. Made by :func:`tracklet.init`.

    Log with :meth:`log`, describe it with :attr:`config` and :attr:`summary`,
    end it with :meth:`finish` (or a ``with`` block, or by letting the script exit).
    """

    def __init__(
        self,
        *,
        settings: Settings,
        state: RunState,
        writer: RunLogWriter | None,
        run_dir: Path | None,
        files: RunFiles | None,
        printer: Printer,
        allow_val_change: bool,
        on_finish: Callable[[Run], None],
        url: str | None = None,
    ) -> None:
        self._url = url
        self._settings = settings
        self._state = state
        self._writer = writer
        self._run_dir = run_dir
        self._files = files
        self._printer = printer
        self._on_finish = on_finish
        self._finished = False
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._last_step_value: dict[str, Any] = {}
        self._step_metric_keys = self._step_metrics()
        self.config = Config(self._config_changed, allow_val_change)
        self.config._items.update(state.config)
        self._media: MediaWriter | DiscardFiles = DiscardFiles()
        if files is not None:
            self._media = MediaWriter(files.files_dir, self._announce_file, printer.warn,
                                      self._disk_failed, lambda: self._state.step, lambda: self._stopped is not None)
        self.summary = Summary(lambda: self._state.summary, self._summary_changed, self._media)
        self._debug: logging.Logger | None = files.debug_logger(state.run_id or "") if files else None
        self._forked_child = False
        self._fork_warned = False
        self._services: list[Service] = []  # console capture, system monitor: stopped before the exit record
        self._keeper: FileKeeper | None = None
        self._artifacts = ArtifactWriter(printer.warn)  # stages logged artifacts; its thread starts on first use
        self._staged_files: dict[Any, str] = {}  # files this run staged: (device, inode, size, mtime) → digest
        self._steps_from: str | None = None  # an integration (TensorBoard) that sets the steps
        self._step_warned = False
        self._watcher: Any = None  # sdk/watch.py, made by the first watch()
        # Set when the run log could not be written (a full disk): nothing more is recorded.
        self._stopped: RecordingStopped | None = None
        self._stopped_step = 0
        self._stop_reported = False
        self._stopped_what = ""  # a file beside the log whose write failed first, if that stopped recording
        self._stop_lock = threading.Lock()
        if files is not None:
            assert writer is not None
            self._keeper = FileKeeper(self._write_summary_file, writer)
            self._keeper.start()

    # -- identity -------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The run's id, unique in its project."""
        return self._state.run_id or ""

    @property
    def name(self) -> str | None:
        """The run's short display name."""
        return self._state.name

    @name.setter
    def name(self, value: str) -> None:
        if not isinstance(value, str):
            raise UsageError(f"run.name must be a string, got {type(value).__name__}")
        self._update_run({"name": value}, "name")

    @property
    def notes(self) -> str | None:
        return self._state.notes

    @notes.setter
    def notes(self, value: str) -> None:
        if not isinstance(value, str):
            raise UsageError(f"run.notes must be a string, got {type(value).__name__}")
        self._update_run({"notes": value}, "notes")

    @property
    def tags(self) -> tuple[str, ...]:
        """The run's tags, a tuple. ``run.tags += ["new"]`` adds tags."""
        return _Tags(self._state.tags)

    @tags.setter
    def tags(self, value: Sequence[str]) -> None:
        self._update_run({"tags": list(_tags(value, "run.tags"))}, "tags")

    @property
    def group(self) -> str:
        return self._state.group or ""

    @group.setter
    def group(self, value: str) -> None:
        if not isinstance(value, str):
            raise UsageError(f"run.group must be a string, got {type(value).__name__}")
        self._update_run({"group": value}, "group")

    @property
    def job_type(self) -> str:
        return self._state.job_type or ""

    @job_type.setter
    def job_type(self, value: str) -> None:
        if not isinstance(value, str):
            raise UsageError(f"run.job_type must be a string, got {type(value).__name__}")
        self._update_run({"job_type": value}, "job_type")

    @property
    def project(self) -> str:
        return self._state.project

    @property
    def entity(self) -> str:
        return self._state.entity or ""

    @property
    def path(self) -> str:
        """``entity/project/id``, leaving out what is empty."""
        return "/".join(part for part in (self.entity, self.project, self.id) if part)

    @property
    def dir(self) -> str:
        """The folder for files saved with the run (``<run directory>/files``)."""
        if self._run_dir is None:
            import tempfile

            return os.path.join(tempfile.gettempdir(), "tracklet", f"disabled-run-{self.id}", "files")
        return str(self._run_dir / "files")

    @property
    def sync_dir(self) -> str | None:
        """The run directory holding the run log."""
        return None if self._run_dir is None else str(self._run_dir)

    @property
    def url(self) -> str | None:
        """The run's page on the server; None for offline runs."""
        return self._url

    @property
    def settings(self) -> Settings:
        """A copy of the settings this run was started with."""
        return self._settings.copy()

    @property
    def offline(self) -> bool:
        return self._settings.mode == "offline"

    @property
    def disabled(self) -> bool:
        return self._settings.mode == "disabled"

    @property
    def resumed(self) -> bool:
        return self._state.resumed

    @property
    def starting_step(self) -> int:
        return self._state.starting_step

    @property
    def step(self) -> int:
        """The step that the next ``log`` without ``step=`` writes to."""
        return self._state.step

    @property
    def start_time(self) -> float:
        return self._state.start_time

    @property
    def branch_point(self) -> dict[str, Any] | None:
        """Where this run was forked or rewound from: ``{"kind", "run_id", "step"}``, else None."""
        return self._state.branch

    # -- logging --------------------------------------------------------------------

    def log(self, data: dict[str, Any], step: int | None = None, commit: bool | None = None) -> None:
        """Log a dict of values at a step.

        Without ``step``, values go to the current step and the step then advances
        (``commit`` defaults to True). With ``step``, ``commit`` defaults to False:
        values accumulate at that step until a later step or a commit. A step
        smaller than the current one is dropped with a warning (or raises with
        the ``strict_steps`` setting).

        Args:
            data: metric names to values: numbers, strings, lists, nested dicts,
                numpy arrays or tensors (arrays of more than 32 values become histograms),
                and media: :class:`tracklet.Image`, ``Histogram``, ``Table``, ``Audio``,
                ``Video``, ``Html`` (see docs/media.md).
            step: the step to log at; an integer not below ``run.step``.
            commit: whether this call completes the step.
        """
        if self._finished:
            raise self._finished_error("log")
        if self._forked_child:
            self._warn_forked_child()
        if step is not None and self._steps_from is not None:
            if not self._step_warned:
                self._step_warned = True
                self._printer.warn(f"Step cannot be set when using {self._steps_from} syncing: the step comes from "
                                   f"{self._steps_from}, so step={step!r} is ignored. Use run.define_metric(...) to "
                                   "plot against a metric of your own.")
            step = None
        self._log(prepare_row(data, self._media), step, commit)

    def _log_at(self, data: dict[str, Any], step: int) -> None:
        """For integrations that own the step (TensorBoard): add ``data`` to ``step``, or to the
        current step if that is already past, so that nothing is dropped."""
        if not self._finished:
            self._log(prepare_row(data, self._media), step, False, at_least_current=True)

    def _log(self, row: dict[str, Any], step: int | None, commit: bool | None, at_least_current: bool = False) -> None:
        state = self._state
        if step is not None and type(step) is not int:
            step = _as_step(step)
        # One lock from choosing the step to the state update: integrations log from their own threads.
        with self._lock:
            if step is None or at_least_current and step < state.step:
                step = state.step
                if commit is None:
                    commit = True
            elif step < state.step:
                regression = step
                step = None
            elif commit is None:
                commit = False
            if step is not None:
                if state.rules.definitions:
                    row = self._sync_step_metrics(row)
                timestamp = time.time()
                if self._writer is not None:
                    self._append(encode_history(step, timestamp, bool(commit), row), step)
                state.history(step, timestamp, bool(commit), row)
        if self._stopped is not None:
            self._report_stop()
        if step is None:
            self._step_regression(regression)
        elif self._keeper is not None:
            self._keeper.dirty = True

    def _warn_forked_child(self) -> None:
        if not self._fork_warned:
            self._fork_warned = True
            self._printer.warn(
                f"run {self.id} was started in process {self._pid}; what this forked child process logs is not "
                "recorded (log from the main process, or start a run in the child with reinit='create_new')"
            )

    def _step_regression(self, step: int) -> None:
        message = (
            f"Tried to log to step {step} that is less than the current step {self._state.step}. "
            "Steps must be monotonically increasing, so this data will be ignored."
        )
        if self._settings.strict_steps:
            raise UsageError(f"log: step={step} is less than the current step {self._state.step} (strict_steps is on)")
        self._printer.warn(message)
        if self._debug:
            self._debug.warning(message)

    def _sync_step_metrics(self, row: dict[str, Any]) -> dict[str, Any]:
        """Fill in the step metric of metrics defined with ``step_sync`` (its last value, as the original)."""
        rules = self._state.rules
        for key in self._step_metric_keys.intersection(row):
            self._last_step_value[key] = row[key]
        pending = self._state.pending or {}
        added: dict[str, Any] = {}
        for key in row:
            rule = rules.rule_for((key,))
            if rule and rule.get("step_sync") and rule.get("step_metric"):
                step_key = rule["step_metric"]
                if step_key not in row and step_key not in pending and step_key not in added:
                    added[step_key] = self._last_step_value.get(step_key, 0)
        return {**row, **added} if added else row

    def define_metric(
        self,
        name: str,
        step_metric: str | None = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        overwrite: bool | None = None,
    ) -> Metric:
        """Say how a metric is summarised and plotted.

        Args:
            name: the metric; ``.`` addresses nested keys (``\\.`` is a literal dot);
                a trailing ``*`` matches every metric with that prefix.
            step_metric: another metric to use as this one's x-axis.
            step_sync: fill in ``step_metric``'s last value in rows that lack it
                (default True when ``step_metric`` is given).
            hidden: hide the metric from automatic charts.
            summary: comma-separated ops among ``min, max, mean, first, last, none``.
            overwrite: replace the previous definition instead of merging with it.
        """
        if self._finished:
            raise self._finished_error("define_metric")
        if not isinstance(name, str) or not name:
            raise Error("define_metric() requires non-empty name argument")
        if "*" in name[:-1]:
            raise Error(f"Unhandled define_metric() arg: name (glob suffixes only): {name}")
        for arg, value, kind in (("step_metric", step_metric, str), ("step_sync", step_sync, bool),
                                 ("hidden", hidden, bool), ("summary", summary, str), ("overwrite", overwrite, bool)):
            if value is not None and not isinstance(value, kind):
                raise Error(f"Unhandled define_metric() arg: {arg} type: {type(value).__name__}")
        definition: dict[str, Any] = {} if overwrite else dict(self._state.rules.definitions.get(name, {}))
        definition["name"] = name
        if step_metric is not None:
            definition["step_metric"] = step_metric
            if step_sync is None and "step_sync" not in definition:
                definition["step_sync"] = True
        if step_sync is not None:
            definition["step_sync"] = step_sync or bool(definition.get("step_sync"))
        if hidden is not None:
            definition["hidden"] = hidden or bool(definition.get("hidden"))
        if summary is not None:
            ops = [op.strip().lower() for op in summary.split(",") if op.strip()]
            ops = ["last" if op == "copy" else op for op in ops]
            for op in ops:
                if op not in SUMMARY_OPS:
                    raise Error(f"Unhandled define_metric() arg: summary op: {op} (allowed: {', '.join(SUMMARY_OPS)})")
            definition["summary"] = ops
        self._record(RecordType.METRIC, definition)
        self._step_metric_keys = self._step_metrics()
        return Metric(definition)

    def _step_metrics(self) -> set[str]:
        return {d["step_metric"] for d in self._state.rules.definitions.values() if d.get("step_metric")}

    # -- artifacts (docs/artifacts.md) -------------------------------------------------

    def log_artifact(self, artifact_or_path: Artifact | str | os.PathLike[str], name: str | None = None,
                     type: str | None = None, aliases: Sequence[str] | None = None) -> Artifact:
        """Log an artifact as an output of this run.

        Returns at once: the files are hashed and staged in the run directory on a background
        thread (``finish()`` waits for it), then uploaded by the agent. Logging contents identical
        to an existing version of the same name makes no new version.

        Args:
            artifact_or_path: a :class:`tracklet.Artifact`, or the path of a file or folder
                (or a ``file://``, ``s3://``, ``http(s)://`` URI) to log as one.
            name: for a path: the artifact's name (default ``run-<run id>-<file name>``).
            type: for a path: the artifact's type (default ``"unspecified"``).
            aliases: names for this version besides ``latest``, e.g. ``["best"]``.

        Returns:
            The :class:`tracklet.Artifact`; ``artifact.wait()`` returns once the server has it.
        """
        if self._finished:
            raise self._finished_error("log_artifact")
        from tracklet.sdk.run_artifacts import log_artifact

        return log_artifact(self, artifact_or_path, name, type, aliases)

    def use_artifact(self, artifact_or_name: Artifact | str, type: str | None = None,
                     aliases: Sequence[str] | None = None) -> Artifact:
        """Declare that this run uses an artifact version, and get it.

        Online, the server is asked for the version (``CommError`` when it cannot be reached);
        offline, the versions logged by the runs of the same ``tracklet/`` folder are searched
        (``latest`` or an alias).

        Args:
            artifact_or_name: ``"name:latest"``, ``"name:v3"``, ``"name:<alias>"``,
                ``"project/name:v3"`` or ``"entity/project/name:v3"`` (no version: ``latest``), or a
                logged :class:`tracklet.Artifact`.
            type: the type the artifact must have.
            aliases: aliases to give the version on the server.

        Returns:
            The :class:`tracklet.Artifact`, read-only; ``download()`` fetches its files.
        """
        if self._finished:
            raise self._finished_error("use_artifact")
        from tracklet.sdk.run_artifacts import use_artifact

        return use_artifact(self, artifact_or_name, type, aliases)

    def watch(self, models: Any, criterion: Any = None, log: str | None = "gradients", log_freq: int = 1000,
              idx: int | None = None, log_graph: bool = False) -> None:
        """Log histograms of torch models' gradients and/or parameters every ``log_freq`` passes
        (``log``: ``"gradients"``, ``"parameters"``, ``"all"`` or None); see docs/sdk.md."""
        if self._finished:
            raise self._finished_error("watch")
        from tracklet.sdk.watch import Watcher

        if self._watcher is None:
            self._watcher = Watcher(self)
            self._add_service(self._watcher)  # finish() removes the hooks
        self._watcher.watch(models, log, log_freq, idx, log_graph)

    def unwatch(self, models: Any = None) -> None:
        """Remove the hooks :meth:`watch` put on ``models`` (default: on every model)."""
        if self._watcher is not None:
            self._watcher.unwatch(models)

    # -- config, summary, run attributes -----------------------------------------------

    def _config_changed(self, changes: dict[str, Any]) -> None:
        if self._finished:
            raise self._finished_error("config update")
        self._record(RecordType.CONFIG, {"set": changes})
        if self._files is not None and self._stopped is None:
            try:
                self._files.write_config({k: v for k, v in self._state.config.items()})
            except OSError as exc:  # the disk is full: config.yaml is a copy; the run log holds the record
                self._printer.warn(f"could not write {self._files.files_dir / 'config.yaml'}: {exc}")

    def _summary_changed(self, sets: list[tuple[MetricPath, Any]], removes: list[MetricPath]) -> None:
        if self._finished:
            raise self._finished_error("summary update")
        self._record(RecordType.SUMMARY, {"set": [[list(p), v] for p, v in sets], "remove": [list(p) for p in removes]})
        if self._keeper is not None:
            self._keeper.dirty = True

    def _update_run(self, changes: dict[str, Any], what: str) -> None:
        if self._finished:
            raise self._finished_error(what)
        self._record(RecordType.RUN, changes)

    def _record(self, kind: RecordType, body: dict[str, Any], closing: bool = False) -> bool:
        """Append a record and apply it; False if the run log could not take it."""
        seq: int | None = 0
        if self._writer is not None:
            seq = self._append(encode(kind, body), None, closing)
        with self._lock:
            self._state.apply(Record(seq or 0, kind, body))
        if self._stopped is not None and not closing:
            self._report_stop()
        return seq is not None

    # -- when the run log cannot be written ---------------------------------------------

    def _append(self, payload: bytes, step: int | None, closing: bool = False) -> int | None:
        """Append a frame to the run log; None if it could not be written. The first failure
        stops recording for good (see :meth:`_report_stop`): training goes on."""
        writer = self._writer
        assert writer is not None
        try:
            return writer.append_closing(payload) if closing else writer.append(payload)
        except RecordingStopped as stopped:
            if closing:
                return None
            with self._stop_lock:
                if self._stopped is None:
                    self._stopped_step = self._state.step if step is None else step
                    self._stopped = stopped
            return None

    def _disk_failed(self, cause: OSError, what: str, step: int | None = None) -> bool:
        """A file of the run beside the log (``what``: a media file, an artifact's copy; logged at
        ``step``, default the current one) could not be written. A full disk stops recording as a
        failed write of the log does (one warning, a ``loss`` record from that step on), and True
        is returned: the caller says nothing more. Other errors: False."""
        if cause.errno not in (errno.ENOSPC, errno.EDQUOT) or self._writer is None:
            return False
        self._writer.stop(cause)
        step = self._state.step if step is None else step
        with self._stop_lock:
            if self._stopped is None:
                self._stopped_step = step
                self._stopped = RecordingStopped(cause)
                self._stopped_what = what
        self._report_stop()
        return True

    def _report_stop(self) -> None:
        """Once, outside the run's lock: record that data is lost from here on (in the room the
        writer kept for it), say so, and stop writing the files beside the log."""
        with self._stop_lock:
            if self._stop_reported or self._stopped is None:
                return
            self._stop_reported = True
        if isinstance(self._media, MediaWriter):  # encoders may hold files of earlier steps
            unannounced = self._media.settle()
            if unannounced is not None and unannounced < self._stopped_step:
                self._stopped_step = unannounced  # their rows lack a file: data is lost from there
        cause, step = self._stopped.cause, self._stopped_step
        if self._stopped_what:
            problem = f"The disk holding {self._run_dir} is full ({cause.strerror}; {self._stopped_what} was not written)"
        elif cause.errno in (errno.ENOSPC, errno.EDQUOT):
            problem = f"The disk holding {self._run_dir} is full ({cause.strerror})"
        else:
            problem = f"The run log in {self._run_dir} could not be written ({cause})"
        recorded = self._record(RecordType.LOSS, {
            "reason": "disk_full" if cause.errno in (errno.ENOSPC, errno.EDQUOT) else "write_failed",
            "timestamp": time.time(), "step": step,
            "detail": f"{cause} ({self._stopped_what} was not written)" if self._stopped_what else str(cause),
        }, closing=True)
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.stop()  # its summary file writes would only fail, or take the space the exit record needs
        if self._debug is not None:
            debug, self._debug = self._debug, None
            try:
                close_logger(debug)
            except OSError:
                pass
        marked = ("the run is marked as having lost data from that step" if recorded else
                  "the run could not even be marked as having lost data")
        self._printer.warn(f"{problem}: data from step {step} on is not recorded; training continues. "
                           f"Records before it are intact and {marked}. Recording stays stopped even if "
                           "space is freed.")

    def _add_service(self, service: Service) -> None:
        self._services.append(service)
        service.start()

    def _detach_after_fork(self) -> None:
        """In a forked child: keep working in memory, write nothing, say so once if used."""
        self._writer = None
        self._files = None
        self._keeper = None
        self._media = self.summary._files = DiscardFiles()
        self._services = []
        self._artifacts = ArtifactWriter(self._printer.warn)  # the parent's thread is not in the child
        self._forked_child = True

    def _emit(self, kind: RecordType, body: dict[str, Any]) -> None:
        """Record what a capture thread observed (console lines, system metrics samples)."""
        if not self._finished:
            self._record(kind, body)
            if kind is RecordType.METADATA and self._files is not None and self._stopped is None:
                try:
                    self._files.write_metadata(self._state.metadata)
                except OSError:  # a copy of what the run log holds; a full disk is reported by the log
                    pass

    def _announce_file(self, body: dict[str, Any]) -> bool:
        """Record that a media file is written (an encoder thread); False if the run log did not take it."""
        return not self._finished and self._record(RecordType.FILES, body)

    def _finished_error(self, call: str) -> UsageError:
        return UsageError(
            f"Run ({self.id}) is finished. The call to `{call}` will be ignored. "
            "Please make sure that you are using an active run."
        )

    def _write_summary_file(self) -> None:
        if self._files is not None:
            with self._lock:
                summary = _copy_tree(self._state.summary)
            self._files.write_summary(summary)

    # -- ending -----------------------------------------------------------------------

    def finish(self, exit_code: int | None = None) -> None:
        """End the run: record its exit, make the run log durable (fsync), print where it is.

        Calling it again does nothing.

        Args:
            exit_code: 0 for success (the default); anything else marks the run failed.
        """
        if self._finished:
            return
        if exit_code is not None and (isinstance(exit_code, bool) or not isinstance(exit_code, int)):
            raise TypeError(f"finish: exit_code must be an int, got {type(exit_code).__name__}")
        code = 0 if exit_code is None else exit_code
        for service in reversed(self._services):
            service.stop()
        if isinstance(self._media, MediaWriter):
            self._media.close()  # its files records come before the exit record
        self._artifacts.close()  # so do the artifact records
        timestamp = time.time()
        runtime = self._state.runtime_at(timestamp)
        exit_body = {"exit_code": code, "timestamp": timestamp, "runtime": runtime}
        seq: int | None = 0
        if self._writer is not None:
            payload = encode(RecordType.EXIT, exit_body)
            seq = self._append(payload, None) if self._stopped is None else None
            if seq is None:  # recording stopped (now, or earlier): the exit record uses the reserve
                self._report_stop()
                seq = self._append(payload, None, closing=True)
        with self._lock:
            self._state.apply(Record(seq or 0, RecordType.EXIT, exit_body))
        exit_recorded = seq is not None
        self._finished = True
        if self._keeper is not None:
            self._keeper.stop()
        problems = []
        if self._writer is not None:
            try:
                self._writer.sync()
            except OSError as exc:
                problems.append(f"could not fsync the run log: {exc}")
            self._writer.close()
        if self._stopped is not None:
            problems = []  # the full disk was reported; the summary file stays as it was then
            if not exit_recorded:
                problems.append(f"the exit record did not fit either: {self._run_dir} will show as crashed here")
        elif self._files is not None:
            try:
                self._write_summary_file()
            except OSError as exc:
                problems.append(f"could not write the summary file: {exc}")
        if self._debug is not None:
            self._debug.info("finished with exit code %s after %.3f s", code, runtime)
            close_logger(self._debug)
        self._on_finish(self)
        for problem in problems:
            self._printer.warn(problem)
        self._print_footer(code)

    def _print_footer(self, code: int) -> None:
        state = self._state
        if self._run_dir is None:
            return
        outcome = "finished" if code == 0 else f"failed (exit code {code})"
        if self._stopped is not None:
            outcome += f" (nothing recorded from step {self._stopped_step} on: the disk was full)"
        self._printer.info(f"Run {state.name} ({state.run_id}) {outcome}: {state.rows} rows, step {state.step}")
        self._printer.info(f"Run data: {self._run_dir}")
        if self.offline:
            self._printer.info(f"Upload it later with: tracklet sync {self._run_dir}")

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        if exc is None:
            self.finish(0)
        else:
            if self._debug is not None:
                self._debug.error("run ended by %s", "".join(traceback.format_exception(exc_type, exc, tb)))
            self.finish(exit_code_for(exc))  # sys.exit(n) in the block: n, as the process would end
        return False

    def __repr__(self) -> str:
        return f"<Run {self.path} name={self.name!r}{' finished' if self._finished else ''}>"


class _Tags(tuple[str, ...]):
    """A tuple of tags that also accepts ``+ [list]``, so ``run.tags += ["x"]`` works."""

    def __add__(self, other: Any) -> tuple[str, ...]:
        if isinstance(other, str):
            other = [other]
        return tuple(self) + tuple(other)


def _as_step(step: Any) -> int:
    import operator

    if isinstance(step, bool):
        raise TypeError(f"log: step must be an integer, got {step!r}")
    try:
        return operator.index(step)  # int subclasses and numpy integers
    except TypeError:
        raise TypeError(f"log: step must be an integer, got {step!r} ({type(step).__name__})") from None


def _copy_tree(tree: dict[str, Any]) -> dict[str, Any]:
    return {k: _copy_tree(v) if type(v) is dict else v for k, v in tree.items()}
