"""Runs on the server: the init handshake (create, resume, rewind, fork), record ingest, edits.

Ingest is idempotent: a run stores every record up to ``last_seq``; a batch may repeat
records already stored (they are skipped) but may not leave a gap.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgpack
from sqlalchemy import Column, Connection, Integer, Row, any_, delete, func, insert, literal, null, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY

from tracklet.protocol import RecordBatch, RunHandshake, RunUpdate, json_safe
from tracklet.runlog import RecordType, decode
from tracklet.runlog.metrics import Aggregate, join_path, split_name
from tracklet.runlog.state import RunState, persist, restore, set_path
from tracklet.server.errors import BadRequest, Conflict, NotFound
from tracklet.server.store import context, filters, series
from tracklet.server.store.accounts import User, _new_id
from tracklet.server.store.schema import entities, projects, runs
from tracklet.settings import RunMoment

# A running run whose agent has not been heard from for this long is reported as crashed.
CRASH_AFTER_SECONDS = filters.CRASH_AFTER_SECONDS


@dataclass(frozen=True)
class RunRef:
    entity_id: int
    entity: str
    project: str


# A run's row as the store reads it: without the copies only filters read (schema.runs).
FILTER_COPIES = {"config": "filter_config", "summary": "filter_summary", "tags": "filter_tags"}
_STORED = [c for c in runs.c if c.name not in FILTER_COPIES.values()]


def with_filter_copies(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` to write to a run's row, with the filter copy of any config, summary or tags among them:
    every write of those columns goes through here, so filters see what listings show. On SQLite,
    whose filters read the JSON text itself, a copy is kept only for a value holding U+0000 (SQLite's
    JSON functions end text there); otherwise it is NULL: the same text again would only slow reads."""
    postgresql = conn.dialect.name == "postgresql"
    for name, copy in FILTER_COPIES.items():
        if name in values:
            clean = without_nul(values[name])
            values[copy] = clean if postgresql or clean != values[name] else null()  # SQL NULL, not JSON null
    return values


def without_nul(value: Any) -> Any:
    """A JSON value with U+0000 as U+FFFD, as text columns store it: PostgreSQL's jsonb cannot hold it."""
    if type(value) is str:
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if type(value) is dict:
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if type(value) is list:
        return [without_nul(v) for v in value]
    return value


def project_id(conn: Connection, entity_id: int, name: str, create: bool) -> int | None:
    query = select(projects.c.id).where(projects.c.entity_id == entity_id, projects.c.name == name)
    found = conn.execute(query).scalar()
    if found is not None or not create:
        return found
    # Runs starting together may create the project together: the insert that loses does
    # nothing (both backends spell it ON CONFLICT DO NOTHING) and reads the winner's row.
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(dialect_insert(projects).values(entity_id=entity_id, name=name, created_at=time.time())
                 .on_conflict_do_nothing())
    return conn.execute(query).scalar_one()


def find_run(conn: Connection, entity_id: int, project: str, run_id: str, lock: bool = False) -> Row[Any] | None:
    query = (
        select(*_STORED)
        .join(projects, projects.c.id == runs.c.project_id)
        .where(projects.c.entity_id == entity_id, projects.c.name == project, runs.c.run_id == run_id)
    )
    if lock:
        query = query.with_for_update(of=runs)  # the run's row only: other runs of the project go on
    return conn.execute(query).first()


def find_runs(conn: Connection, ref: RunRef, run_ids: list[str]) -> list[Row[Any]]:
    """The runs of the project among ``run_ids`` (unknown ids are left out)."""
    return list(conn.execute(
        select(*_STORED)
        .join(projects, projects.c.id == runs.c.project_id)
        .where(projects.c.entity_id == ref.entity_id, projects.c.name == ref.project, runs.c.run_id.in_(run_ids))
    ).all())


def require_run(conn: Connection, ref: RunRef, run_id: str, lock: bool = False) -> Row[Any]:
    row = find_run(conn, ref.entity_id, ref.project, run_id, lock)
    if row is None:
        raise NotFound(f"no run {ref.entity}/{ref.project}/{run_id}")
    return row


def effective_state(row: Any, now: float | None = None) -> str:
    if row.state == "running" and (now or time.time()) - row.heartbeat_at > CRASH_AFTER_SECONDS:
        return "crashed"
    return row.state


def _load_state(row: Row[Any]) -> RunState:
    return restore(msgpack.unpackb(row.replay_state, raw=False, strict_map_key=False)) if row.replay_state else RunState()


def _save_state(state: RunState) -> bytes:
    return msgpack.packb(persist(state), use_bin_type=True)


# -- the handshake ------------------------------------------------------------------------


def open_run(conn: Connection, ref: RunRef, request: RunHandshake) -> dict[str, Any]:
    """Create, resume, rewind or fork ``request.run_id``; return what the client continues from."""
    _check_length(request.run_id, runs.c.run_id, "run id")
    _check_length(ref.project, projects.c.name, "project name")
    existing = find_run(conn, ref.entity_id, ref.project, request.run_id, lock=True)
    if existing is not None and request.first_seq is not None and existing.last_seq >= request.first_seq:
        return _reply(existing, resumed=True)  # this segment was opened before (a repeated sync)
    moment_text = request.resume_from or request.fork_from
    if moment_text is not None:
        try:
            moment = RunMoment.parse(moment_text, "resume_from" if request.resume_from else "fork_from")
        except Exception as exc:
            raise BadRequest(str(exc)) from None
        if request.resume_from is not None:
            if moment.run_id != request.run_id:
                raise BadRequest("resume_from must name the run being resumed")
            return _rewind(conn, ref, existing, moment)
        return _fork(conn, ref, existing, request.run_id, moment)

    mode = request.resume
    if existing is not None and mode in ("allow", "must", "auto"):
        conn.execute(update(runs).where(runs.c.pk == existing.pk).values(
            state="running", exit_code=None, heartbeat_at=time.time()))
        return _reply(existing, resumed=True)
    if existing is None and mode == "must":
        raise Conflict(
            f"You provided an invalid value for the `resume` argument. The value 'must' is not a valid option "
            f"for resuming the run ({request.run_id}) that has not been initialized."
        )
    if existing is not None and mode == "never":
        raise Conflict(
            f"You provided an invalid value for the `resume` argument. The value 'never' is not a valid option "
            f"for resuming a run ({request.run_id}) that already exists."
        )
    if existing is not None:
        # Same id without resume: the new run replaces the old one. The old history stays
        # stored but hidden, like a rewind to before step 0.
        segment = existing.segment + 1
        visible = {s: -1 for s in existing.visible_until} | {str(segment): None}
        conn.execute(update(runs).where(runs.c.pk == existing.pk).values(**with_filter_copies(conn, dict(
            segment=segment, visible_until=visible, state="running", exit_code=None, config={}, summary={},
            replay_state=None, metrics=None, heartbeat_at=time.time(), updated_at=time.time(), branch=None))))
        return _reply(_reload(conn, existing.pk), resumed=False)
    pk = _insert_run(conn, ref, request.run_id)
    return _reply(_reload(conn, pk), resumed=False)


def _check_length(value: str, column: Column[str], what: str) -> None:
    """The column's length limit, on every backend (SQLite does not enforce it)."""
    limit: int = column.type.length  # type: ignore[attr-defined]
    if not 1 <= len(value) <= limit:
        raise BadRequest(f"{what} must be 1 to {limit} characters, got {len(value)}")


def _insert_run(conn: Connection, ref: RunRef, run_id: str, branch: dict[str, Any] | None = None) -> int:
    pid = project_id(conn, ref.entity_id, ref.project, create=True)
    now = time.time()
    return _new_id(conn.execute(insert(runs).values(**with_filter_copies(conn, dict(
        project_id=pid, run_id=run_id, state="running", tags=[], group="", job_type="", config={}, summary={},
        meta={}, branch=branch, created_at=now, updated_at=now, heartbeat_at=now, last_seq=0, segment=0,
        visible_until={"0": None},
    )))))


def _reload(conn: Connection, pk: int) -> Row[Any]:
    return conn.execute(select(*_STORED).where(runs.c.pk == pk)).one()


def _visible(row: Row[Any]) -> dict[int, int | None]:
    return {int(s): v for s, v in row.visible_until.items()}


def _check_step(row: Row[Any] | None, moment: RunMoment, what: str) -> int:
    if row is None:
        raise NotFound(f"failed to {what} run: run {moment.run_id!r} not found")
    state = _load_state(row)
    last = state.summary.get("_step")
    step = int(moment.step)
    if last is None or not 0 <= step <= last:
        raise BadRequest(f"step {moment.step} is not in run {moment.run_id!r}, whose steps go from 0 to {last}")
    return step


def _state_at(conn: Connection, row: Row[Any], step: int) -> dict[str, Any]:
    """The config, summary and metric statistics of ``row`` as they were at ``step``, from its history."""
    source = _load_state(row)
    visible = _visible(row)
    summary: dict[str, Any] = {}
    aggregates = []
    for key in series.keys(conn, row.pk):
        steps, values = series.read(conn, row.pk, key, visible, max_step=step)
        if len(steps) == 0:
            continue
        path = split_name(key)
        rule = source.rules.rule_for(path)
        ops = tuple(rule.get("summary") or ()) if rule else ()
        if not ops:
            set_path(summary, path, values[-1].item())
        elif "none" not in ops:
            aggregate = Aggregate(ops)
            for value in values.tolist():
                aggregate.add(value)
            set_path(summary, path, aggregate.value())
            aggregates.append([list(path), aggregate.to_state()])
    for obj_step, key, value in series.read_objects(conn, row.pk, visible, max_step=step):
        set_path(summary, split_name(key), msgpack.unpackb(value, raw=False))
    return {"config": source.config, "summary": summary, "metrics": list(source.rules.definitions.values()),
            "aggregates": aggregates}


def _rewind(conn: Connection, ref: RunRef, row: Row[Any] | None, moment: RunMoment) -> dict[str, Any]:
    step = _check_step(row, moment, "rewind")
    assert row is not None
    snapshot = _state_at(conn, row, step)
    segment = row.segment + 1
    visible = {s: (step if v is None else min(v, step)) for s, v in row.visible_until.items()} | {str(segment): None}
    state = RunState()
    _continue_from(state, row, snapshot, step)
    conn.execute(update(runs).where(runs.c.pk == row.pk).values(**with_filter_copies(conn, dict(
        segment=segment, visible_until=visible, state="running", exit_code=None, summary=json_safe(snapshot["summary"]),
        replay_state=_save_state(state), heartbeat_at=time.time(), updated_at=time.time(),
        branch={"kind": "rewind", "run_id": moment.run_id, "step": moment.step}))))
    return _reply(_reload(conn, row.pk), resumed=True)


def _fork(conn: Connection, ref: RunRef, existing: Row[Any] | None, run_id: str, moment: RunMoment) -> dict[str, Any]:
    if existing is not None:
        raise Conflict(f"cannot fork into run {run_id!r}: a run with that id exists")
    source = find_run(conn, ref.entity_id, ref.project, moment.run_id)
    step = _check_step(source, moment, "fork")
    assert source is not None
    snapshot = _state_at(conn, source, step)
    branch = {"kind": "fork", "run_id": moment.run_id, "step": moment.step}
    pk = _insert_run(conn, ref, run_id, branch)
    series.copy_until(conn, source.pk, _visible(source), step, pk, 0)
    state = RunState()
    _continue_from(state, source, snapshot, step)
    conn.execute(update(runs).where(runs.c.pk == pk).values(**with_filter_copies(conn, dict(
        config=json_safe(snapshot["config"]), summary=json_safe(snapshot["summary"]), replay_state=_save_state(state)))))
    return _reply(_reload(conn, pk), resumed=False)


def _continue_from(state: RunState, source: Row[Any], snapshot: dict[str, Any], step: int) -> None:
    state.config = dict(snapshot["config"])
    state.summary = snapshot["summary"]
    for definition in snapshot["metrics"]:
        state.rules.define(definition)
    state.aggregates = {tuple(p): Aggregate.from_state(s) for p, s in snapshot["aggregates"]}
    state.step = state.starting_step = step + 1


def _reply(row: Row[Any], resumed: bool) -> dict[str, Any]:
    state = _load_state(row)
    has_state = row.replay_state is not None
    return {
        "run_id": row.run_id,
        "name": row.name,
        "resumed": resumed and has_state,
        "starting_step": max(state.step, state.summary.get("_step", -1) + 1) if has_state else 0,
        "runtime": state.runtime if has_state else 0.0,
        "last_seq": row.last_seq,
        "restore": {
            "config": state.config, "summary": state.summary, "metrics": list(state.rules.definitions.values()),
            "aggregates": [[list(p), a.to_state()] for p, a in state.aggregates.items()],
        } if has_state else None,
        "branch": row.branch,
    }


# -- ingest -----------------------------------------------------------------------------


def append_records(conn: Connection, ref: RunRef, run_id: str, batch: RecordBatch, user: User | None = None) -> int:
    """Store a batch; return the run's new ``last_seq``. Nothing is stored if any record is invalid.
    ``user`` (the uploader) decides which entities' artifacts a ``use`` record may name."""
    row = require_run(conn, ref, run_id, lock=True)
    last = row.last_seq
    if batch.first_seq < 1:
        raise BadRequest(f"first_seq must be at least 1, got {batch.first_seq}")
    if batch.first_seq > last + 1:
        raise Conflict(f"records must continue at seq {last + 1}, got first_seq {batch.first_seq}")
    new = batch.records[last + 1 - batch.first_seq:]
    now = time.time()
    if not new:
        values: dict[str, Any] = {"heartbeat_at": now}
        if batch.writer_gone and row.state == "running":
            values.update(state="crashed", updated_at=now)
        conn.execute(update(runs).where(runs.c.pk == row.pk).values(**values))
        return last

    state = _load_state(row)
    numeric: dict[str, tuple[list[int], list[float]]] = {}
    objects: dict[tuple[int, str], bytes] = {}
    samples: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    uses: list[dict[str, Any]] = []
    exited = False
    for offset, payload in enumerate(new):
        seq = last + 1 + offset
        try:
            record = decode(seq, payload)
            state.apply(record)
        except Exception as exc:
            raise BadRequest(f"record {seq} is not a valid run log record: {exc}") from None
        if record.type is RecordType.HISTORY:
            _collect(record.body, state, numeric, objects)
        elif record.type is RecordType.STATS:
            samples.append(record.body)
        elif record.type is RecordType.OUTPUT:
            lines.append(record.body)
        elif record.type is RecordType.ARTIFACT and type(record.body) is dict and record.body.get("action") == "use":
            uses.append(record.body)  # "log" needs nothing: the agent created the version before sending it
        elif record.type is RecordType.EXIT:
            exited = True
        elif record.type is RecordType.START:
            exited = False
    series.append(conn, row.pk, row.segment, numeric)
    if samples:
        context.append_samples(conn, row.pk, samples)
    if lines:
        context.append_lines(conn, row.pk, lines)
    if objects:
        series.append_objects(conn, row.pk, row.segment, [(s, k, v) for (s, k), v in objects.items()])
    if uses:
        from tracklet.server.store import artifacts  # it imports this module

        artifacts.record_uses(conn, ref, row.pk, uses, user)

    if state.exit_code is not None and exited:
        run_state, exit_code = ("finished" if state.exit_code == 0 else "failed"), state.exit_code
    else:
        run_state, exit_code = ("crashed" if batch.writer_gone else "running"), None
    conn.execute(update(runs).where(runs.c.pk == row.pk).values(**with_filter_copies(conn, dict(
        last_seq=last + len(new), heartbeat_at=now, updated_at=now, replay_state=_save_state(state),
        name=state.name, notes=state.notes, tags=list(state.tags), group=state.group or "",
        job_type=state.job_type or "", config=json_safe(state.config), summary=json_safe(state.summary),
        meta=json_safe(state.metadata), host=state.metadata.get("host"), state=run_state, exit_code=exit_code,
        metrics=json_safe(list(state.rules.definitions.values())) or None,
    ))))
    return last + len(new)


def _collect(body: dict[str, Any], state: RunState, numeric: dict[str, tuple[list[int], list[float]]],
             objects: dict[tuple[int, str], bytes]) -> None:
    data = body["data"]
    if not data:
        return
    step = body["step"]
    if state.max_step is not None and step > state.max_step:
        return
    timestamp = body["timestamp"]
    points = dict(_leaves(data, ()))
    points.setdefault("_timestamp", timestamp)
    points["_runtime"] = state.runtime_at(timestamp)
    for key, value in points.items():  # the per-point loop of ingest: kept lean
        if type(value) in (int, float):
            column = numeric.get(key)
            if column is None:
                numeric[key] = ([step], [value])
            elif column[0][-1] == step:
                column[1][-1] = value  # a later call at the same step replaces the value
            else:
                column[0].append(step)
                column[1].append(value)
            if objects:
                objects.pop((step, key), None)
        else:
            objects[(step, key)] = msgpack.packb(value, use_bin_type=True)


def _leaves(data: dict[str, Any], prefix: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        if type(value) is dict and "_type" not in value:
            yield from _leaves(value, prefix + (key,))
        elif prefix or "." in key:
            yield join_path(prefix + (key,)), value
        else:
            yield key, value  # a top-level name without dots is its own path


# -- reading and editing ------------------------------------------------------------------


# What a listing shows of a run: everything but the replay state (large, and only ingest needs it).
_LISTED = [c for c in _STORED if c.name != "replay_state"]
_ROWS_BY_KEY = 10_000  # keys a listing's second step asks for at once (SQLite limits a statement's parameters)


def list_runs(conn: Connection, ref: RunRef, updated_after: float | None = None,
              condition: filters.Condition | None = None, order: filters.Order | None = None,
              limit: int | None = None, offset: int = 0, now: float | None = None) -> list[Row[Any]]:
    """The project's runs that pass ``condition`` (see ``store.filters``), in ``order`` (oldest first by
    default), ``offset``/``limit`` applied: the database filters, sorts and pages. With
    ``updated_after``, only those changed since then and those still running (whose state may turn
    to crashed without a write).

    Ordered by a config or summary value, in two steps: the page's keys (filtered, sorted and cut
    by the database, which carries only the key and the sort values through the sort), then the
    page's rows by key, so the runs' large columns are read for the page only. Ordered by a time,
    in one: the database walks its index in that order and stops at the page's end."""
    pid = project_id(conn, ref.entity_id, ref.project, create=False)
    if pid is None:
        return []
    now = time.time() if now is None else now
    order = order or (("created_at",), False)
    by_key = order[0][0] not in filters.TIMES
    query = select(*([runs.c.pk] if by_key else _LISTED)).where(runs.c.project_id == pid)
    if updated_after is not None:
        query = query.where(or_(runs.c.updated_at > updated_after, runs.c.state == "running"))
    filters.prepare(conn)
    query = filters.apply(query, condition or filters.parse_filter(None), order, conn.dialect.name, now)
    query = query.limit(limit).offset(offset or None)
    if not by_key:
        return list(conn.execute(query).all())
    page = list(conn.execute(query).scalars())
    postgresql = conn.dialect.name == "postgresql"
    found: dict[int, Row[Any]] = {}
    for start in range(0, len(page), _ROWS_BY_KEY):
        keys = page[start:start + _ROWS_BY_KEY]
        # PostgreSQL: one array parameter (= ANY), not a thousand (IN), to send and plan
        wanted = runs.c.pk == any_(literal(keys, ARRAY(Integer))) if postgresql else runs.c.pk.in_(keys)
        found.update((row.pk, row) for row in conn.execute(select(*_LISTED).where(wanted)))
    return [found[pk] for pk in page if pk in found]  # (a run deleted in between is left out)


def run_pks(conn: Connection, ref: RunRef) -> list[int]:
    pid = project_id(conn, ref.entity_id, ref.project, create=False)
    if pid is None:
        return []
    return list(conn.execute(select(runs.c.pk).where(runs.c.project_id == pid)).scalars())


def count_runs(conn: Connection, ref: RunRef) -> int:
    pid = project_id(conn, ref.entity_id, ref.project, create=False)
    if pid is None:
        return 0
    return int(conn.execute(select(func.count()).select_from(runs).where(runs.c.project_id == pid)).scalar_one())


def update_run(conn: Connection, ref: RunRef, run_id: str, change: RunUpdate) -> Row[Any]:
    row = require_run(conn, ref, run_id, lock=True)
    values: dict[str, Any] = {k: v for k, v in (("name", change.name), ("notes", change.notes), ("tags", change.tags))
                              if v is not None}
    if change.tags is not None:
        bad = [t for t in change.tags if not 1 <= len(t) <= 64]
        if bad:
            raise BadRequest(f"tags must be 1 to 64 characters, got {bad[0]!r}")
    if values:
        state = _load_state(row)
        state.update_run(values)
        conn.execute(update(runs).where(runs.c.pk == row.pk).values(
            **with_filter_copies(conn, values), replay_state=_save_state(state), updated_at=time.time()))
    return _reload(conn, row.pk)


def delete_run(conn: Connection, ref: RunRef, run_id: str) -> int:
    """Delete the run and its history; return its key (for removing its files)."""
    row = require_run(conn, ref, run_id, lock=True)
    conn.execute(delete(runs).where(runs.c.pk == row.pk))
    return int(row.pk)


def project_infos(conn: Connection, entity_id: int) -> list[tuple[str, int, float | None]]:
    rows = conn.execute(
        select(projects.c.name, func.count(runs.c.pk), func.max(runs.c.updated_at))
        .select_from(projects.outerjoin(runs, runs.c.project_id == projects.c.id))
        .where(projects.c.entity_id == entity_id)
        .group_by(projects.c.id, projects.c.name)
    ).all()
    return sorted((name, count, last) for name, count, last in rows)  # by code point, not the database's collation


def entity_name(conn: Connection, entity_id: int) -> str:
    return conn.execute(select(entities.c.name).where(entities.c.id == entity_id)).scalar_one()
