"""The state of a run, rebuilt by replaying its records in order.

The SDK applies each record it writes to a live :class:`RunState`, and every
reader (``tracklet runs``, resume, the agent, the server) replays the file into
one, so "what the run's summary is" has exactly one definition.

Steps follow the original SDK: values logged at the current step accumulate in a
pending row; the row is committed (enters the summary, counts as a row) when a
record commits it, when a later step arrives, or when the run exits.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tracklet.runlog.metrics import Aggregate, MetricRules, Path
from tracklet.runlog.records import Record, RecordType


def _is_leaf(value: Any) -> bool:
    return type(value) is not dict or "_type" in value


def merge_row(into: dict[str, Any], data: dict[str, Any]) -> None:
    """Merge ``data`` into ``into``; nested dicts merge key by key, other values replace."""
    for key, value in data.items():
        if type(value) is dict and "_type" not in value and type(into.get(key)) is dict:
            merge_row(into[key], value)
        else:
            into[key] = value


def set_path(tree: dict[str, Any], path: Path, value: Any) -> None:
    node = tree
    for part in path[:-1]:
        child = node.get(part)
        if type(child) is not dict:
            child = node[part] = {}
        node = child
    node[path[-1]] = value


def remove_path(tree: dict[str, Any], path: Path) -> None:
    node: Any = tree
    for part in path[:-1]:
        node = node.get(part)
        if type(node) is not dict:
            return
    node.pop(path[-1], None)


class RunState:
    """Everything about a run that its records determine."""

    def __init__(self, max_step: int | None = None) -> None:
        #: Replay filter: history after this step is ignored (used to rewind or fork at a step).
        self.max_step = max_step
        self.run_id: str | None = None
        self.project = ""
        self.entity = ""
        self.name: str | None = None
        self.notes: str | None = None
        self.tags: tuple[str, ...] = ()
        self.group = ""
        self.job_type = ""
        self.mode = ""
        self.start_time = 0.0
        self.runtime_offset = 0.0
        self.starting_step = 0
        self.resumed = False
        self.branch: dict[str, Any] | None = None
        self.metadata: dict[str, Any] = {}
        self.config: dict[str, Any] = {}
        self.summary: dict[str, Any] = {}
        self.rules = MetricRules()
        self.aggregates: dict[Path, Aggregate] = {}
        self.step = 0  # the step the next log without an explicit step uses
        self.pending: dict[str, Any] | None = None
        self.pending_step = 0
        self.pending_timestamp = 0.0
        self.last_timestamp: float | None = None
        self.rows = 0
        self.last_seq = 0
        self.exit_code: int | None = None
        self.exit_runtime: float | None = None

    # -- replay -----------------------------------------------------------------

    @classmethod
    def replay(cls, records: Iterable[Record], max_step: int | None = None) -> RunState:
        state = cls(max_step)
        for record in records:
            state.apply(record)
        return state

    def apply(self, record: Record) -> None:
        body = record.body
        kind = record.type
        if kind is RecordType.HISTORY:
            self.history(body["step"], body["timestamp"], body["commit"], body["data"])
        elif kind is RecordType.CONFIG:
            self.config.update(body.get("set", {}))
        elif kind is RecordType.SUMMARY:
            self.change_summary([(tuple(p), v) for p, v in body.get("set", [])],
                                [tuple(p) for p in body.get("remove", [])])
        elif kind is RecordType.METRIC:
            self.rules.define(body)
        elif kind is RecordType.RUN:
            self.update_run(body)
        elif kind is RecordType.START:
            self.start(body)
        elif kind is RecordType.METADATA:
            self.metadata.update(body)
        elif kind is RecordType.EXIT:
            self.finish(body["exit_code"], body.get("timestamp"), body.get("runtime"))
        elif kind is RecordType.LOSS:
            self.lost(body)
        self.last_seq = record.seq

    # -- transitions --------------------------------------------------------------

    def start(self, body: dict[str, Any]) -> None:
        self.run_id = body["run_id"]
        self.project = body.get("project", "")
        self.entity = body.get("entity", "")
        self.mode = body.get("mode", "")
        self.start_time = body["start_time"]
        self.runtime_offset = body.get("runtime_offset", 0.0)
        self.starting_step = self.step = body.get("starting_step", 0)
        self.resumed = body.get("resumed", False)
        self.branch = body.get("branch")
        self.update_run(body)
        restore = body.get("restore")
        if restore:
            self.config = dict(restore.get("config", {}))
            self.summary = restore.get("summary", {})
            for definition in restore.get("metrics", []):
                self.rules.define(definition)
            self.aggregates = {tuple(p): Aggregate.from_state(s) for p, s in restore.get("aggregates", [])}

    def update_run(self, changes: dict[str, Any]) -> None:
        for key in ("name", "notes", "group", "job_type"):
            if key in changes:
                setattr(self, key, changes[key])
        if "tags" in changes:
            self.tags = tuple(changes["tags"])

    def history(self, step: int, timestamp: float, commit: bool, data: dict[str, Any]) -> None:
        if self.max_step is not None and step > self.max_step:
            return
        if self.pending is not None and step > self.pending_step:
            self.commit()
        if step > self.step:
            self.step = step
        self.pending_timestamp = self.last_timestamp = timestamp
        if self.pending is None:
            self.pending_step = step
            if commit:  # the common case, one call per row: nothing to merge into
                self.pending = data
                self.commit()
                self.step = step + 1
                return
            self.pending = {}
        merge_row(self.pending, data)
        if commit:
            self.commit()
            self.step = step + 1

    def commit(self) -> None:
        """Commit the pending row: it becomes a row and enters the summary."""
        row, self.pending = self.pending, None
        if not row:
            return
        self.rows += 1
        self._summarize(row, ())
        summary = self.summary
        summary["_step"] = self.pending_step
        summary["_runtime"] = self.runtime_at(self.pending_timestamp)
        summary["_timestamp"] = row.get("_timestamp", self.pending_timestamp)

    def _summarize(self, row: dict[str, Any], prefix: Path) -> None:
        has_rules = bool(self.rules.definitions)
        if not has_rules and not prefix:  # the common case, once per logged row: last values, kept fast
            summary = self.summary
            for key, value in row.items():
                if type(value) is dict and "_type" not in value:
                    self._summarize(value, (key,))
                elif value is not None:
                    summary[key] = value
            return
        for key, value in row.items():
            if value is None:
                continue
            if not _is_leaf(value):
                self._summarize(value, prefix + (key,))
                continue
            rule = self.rules.rule_for(prefix + (key,)) if has_rules else None
            ops = rule.get("summary") if rule else None
            if not ops:
                if prefix:
                    set_path(self.summary, prefix + (key,), value)
                else:
                    self.summary[key] = value
                continue
            path = prefix + (key,)
            if "none" in ops:
                remove_path(self.summary, path)
                continue
            aggregate = self.aggregates.get(path)
            if aggregate is None:
                aggregate = self.aggregates[path] = Aggregate(tuple(ops))
            aggregate.add(value)
            set_path(self.summary, path, aggregate.value())

    def change_summary(self, sets: list[tuple[Path, Any]], removes: list[Path]) -> None:
        """Explicit summary writes; each one restarts the aggregation of its path."""
        for path, value in sets:
            set_path(self.summary, path, value)
            self._forget_aggregates(path)
        for path in removes:
            remove_path(self.summary, path)
            self._forget_aggregates(path)

    def _forget_aggregates(self, path: Path) -> None:
        for key in [k for k in self.aggregates if k[: len(path)] == path]:
            del self.aggregates[key]

    def lost(self, body: dict[str, Any]) -> None:
        """Data of the run was lost: say so in its metadata (``data_loss``, a list), where the
        server, ``Api`` and ``tracklet runs`` show it. Records that one stretch of damage
        swallowed (one ``LOSS`` record each) count as one entry."""
        losses = self.metadata.setdefault("data_loss", [])
        last = losses[-1] if losses else None
        if body.get("reason") == "damaged" and last and last.get("reason") == "damaged" and last.get("offset") == body.get("offset"):
            return
        losses.append(dict(body))

    @property
    def data_lost(self) -> bool:
        """True if the run is known to have lost data (a full disk, a damaged log)."""
        return bool(self.metadata.get("data_loss"))

    def finish(self, exit_code: int, timestamp: float | None = None, runtime: float | None = None) -> None:
        self.commit()
        self.exit_code = exit_code
        if timestamp is not None:
            self.last_timestamp = timestamp
        self.exit_runtime = runtime

    # -- derived --------------------------------------------------------------------

    def runtime_at(self, timestamp: float) -> float:
        return self.runtime_offset + max(0.0, timestamp - self.start_time)

    @property
    def runtime(self) -> float:
        if self.exit_runtime is not None:
            return self.exit_runtime
        if self.last_timestamp is None:
            return self.runtime_offset
        return self.runtime_at(self.last_timestamp)

    @property
    def finished(self) -> bool:
        return self.exit_code is not None

    def restore_snapshot(self) -> dict[str, Any]:
        """What a resumed, rewound or forked segment needs to continue from this state."""
        return {
            "config": self.config,
            "summary": self.summary,
            "metrics": list(self.rules.definitions.values()),
            "aggregates": [[list(p), a.to_state()] for p, a in self.aggregates.items()],
        }


def history_rows(records: Iterable[Record]) -> list[dict[str, Any]]:
    """The rows of a log, one per step that holds data, each with its ``_step``.

    Several history records at one step (``commit=False``, or explicit steps)
    make one row, merged in order.
    """
    rows: dict[int, dict[str, Any]] = {}
    for record in records:
        if record.type is RecordType.HISTORY and record.body["data"]:
            step = record.body["step"]
            merge_row(rows.setdefault(step, {"_step": step}), record.body["data"])
    return [rows[step] for step in sorted(rows)]


_PERSISTED_FIELDS = (
    "run_id", "project", "entity", "name", "notes", "group", "job_type", "mode", "start_time",
    "runtime_offset", "starting_step", "resumed", "branch", "metadata", "config", "summary", "step",
    "pending", "pending_step", "pending_timestamp", "last_timestamp", "rows", "last_seq", "exit_code",
    "exit_runtime",
)


def persist(state: RunState) -> dict[str, Any]:
    """Everything needed to continue replaying later (the server keeps this between batches)."""
    data = {name: getattr(state, name) for name in _PERSISTED_FIELDS}
    data["tags"] = list(state.tags)
    data["metrics"] = list(state.rules.definitions.values())
    data["aggregates"] = [[list(p), a.to_state()] for p, a in state.aggregates.items()]
    return data


def restore(data: dict[str, Any]) -> RunState:
    state = RunState()
    for name in _PERSISTED_FIELDS:
        if name in data:
            setattr(state, name, data[name])
    state.tags = tuple(data.get("tags", ()))
    for definition in data.get("metrics", []):
        state.rules.define(definition)
    state.aggregates = {tuple(p): Aggregate.from_state(s) for p, s in data.get("aggregates", [])}
    return state
