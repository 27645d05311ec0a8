"""The store's conformance suite: every backend (SQLite, PostgreSQL) passes the same tests.

The store functions are called directly, on connections from ``open_store(url)``; no HTTP.
A new backend joins by adding its URL to ``store_url``'s params.
"""

from __future__ import annotations

import math
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, func, inspect, select, text

from tracklet.protocol import RecordBatch, RunHandshake, RunUpdate
from tracklet.runlog import RecordType
from tracklet.runlog.records import encode, encode_history
from tracklet.server.errors import BadRequest, Conflict, NotFound
from tracklet.server.store import Store, accounts, database, history, open_store, runs
from tracklet.server.store.database import SchemaError, current_revision, head_revision
from tracklet.server.store.schema import POSTGRESQL_ONLY_INDEXES, history_objects, metadata, series_blocks, series_keys
from tracklet.server.store.schema import runs as runs_table

T0 = 1_700_000_000.0
PROJECT = "conformance"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def ref(store: Store) -> runs.RunRef:
    """The personal entity of a user ``alice``, project ``conformance``."""
    with store.transaction() as conn:
        accounts.create_user(conn, "alice")
        entity_id, _ = accounts.entity_role(conn, accounts.find_user(conn, "alice"), "alice") or (0, "")
    return runs.RunRef(entity_id, "alice", PROJECT)


# -- building and sending records, as the SDK and its agent do ----------------------------


def start(run_id: str, reply: dict[str, Any] | None = None, **changes: Any) -> bytes:
    """A START record shaped like ``sdk.init._local_run``'s, continuing from a handshake reply."""
    body: dict[str, Any] = {
        "run_id": run_id, "project": PROJECT, "entity": "alice", "mode": "online", "name": f"name-{run_id}",
        "notes": None, "tags": [], "group": "", "job_type": "", "start_time": T0,
        "starting_step": reply["starting_step"] if reply else 0, "runtime_offset": reply["runtime"] if reply else 0.0,
        "resumed": bool(reply and reply["resumed"]), "resume": None, "branch": reply["branch"] if reply else None,
        "restore": reply["restore"] if reply else None,
    }
    return encode(RecordType.START, body | changes)


def row(step: int, data: dict[str, Any]) -> bytes:
    return encode_history(step, T0 + step, True, data)


def finish(exit_code: int = 0) -> bytes:
    return encode(RecordType.EXIT, {"exit_code": exit_code, "timestamp": T0 + 1000, "runtime": 1000.0})


def handshake(store: Store, ref: runs.RunRef, run_id: str, **fields: Any) -> dict[str, Any]:
    with store.transaction() as conn:
        return runs.open_run(conn, ref, RunHandshake(project=ref.project, run_id=run_id, **fields))


def send(store: Store, ref: runs.RunRef, run_id: str, first_seq: int, records: list[bytes], **fields: Any) -> int:
    with store.transaction() as conn:
        return runs.append_records(conn, ref, run_id, RecordBatch(first_seq=first_seq, records=records, **fields))


def log_run(store: Store, ref: runs.RunRef, run_id: str, rows: list[dict[str, Any]], exit_code: int | None = 0) -> int:
    """Create a run holding ``rows`` at steps 0, 1, ...; its last_seq."""
    handshake(store, ref, run_id)
    records = [start(run_id)] + [row(step, data) for step, data in enumerate(rows)]
    return send(store, ref, run_id, 1, records + ([] if exit_code is None else [finish(exit_code)]))


def run_row(store: Store, ref: runs.RunRef, run_id: str) -> Any:
    with store.read() as conn:
        return runs.require_run(conn, ref, run_id)


def stored_rows(store: Store, ref: runs.RunRef, run_id: str, **query: Any) -> list[dict[str, Any]]:
    with store.read() as conn:
        return history.rows(conn, runs.require_run(conn, ref, run_id), **query)


# -- schema and migrations ------------------------------------------------------------------


def test_migrations_create_the_schema_and_a_second_open_changes_nothing(store_url: str) -> None:
    first = open_store(store_url)
    try:
        assert first.revision == head_revision() == current_revision(first.engine)
        tables = set(inspect(first.engine).get_table_names())
        assert set(metadata.tables) | {"alembic_version"} <= tables
        with first.transaction() as conn:
            accounts.create_user(conn, "alice")
    finally:
        first.close()
    second = open_store(store_url)
    try:
        assert second.revision == head_revision() == current_revision(second.engine)
        with second.read() as conn:
            assert accounts.count_users(conn) == 1
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    finally:
        second.close()


def test_migration_0004_marks_the_histograms_stored_before_it(store_url: str) -> None:
    import msgpack
    from alembic import command
    from sqlalchemy import create_engine

    engine = create_engine(store_url)
    config = database._alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")
        conn.execute(text("INSERT INTO entities (id, name, kind, created_at) VALUES (1, 'e', 'user', 0)"))
        conn.execute(text("INSERT INTO projects (id, entity_id, name, created_at) VALUES (1, 1, 'p', 0)"))
        conn.execute(runs_table.insert().values(
            pk=1, project_id=1, run_id="r", state="finished", tags=[], config={}, summary={}, meta={}, created_at=0,
            updated_at=0, heartbeat_at=0, visible_until={}))
        histogram = msgpack.packb({"_type": "histogram", "values": [1], "bins": [0, 1]})
        for step, key, value in ((1, "h", histogram), (1, "note", msgpack.packb("text"))):
            conn.execute(text("INSERT INTO history_objects (run_pk, segment, step, key, value) "
                              "VALUES (1, 0, :step, :key, :value)"), {"step": step, "key": key, "value": value})
    engine.dispose()
    store = open_store(store_url)
    try:
        with store.read() as conn:
            found = dict(conn.execute(select(history_objects.c.key, history_objects.c.media_type)).all())
        assert found == {"h": "histogram", "note": None}
    finally:
        store.close()


def test_migration_0009_summarizes_the_blocks_stored_before_it(store_url: str) -> None:
    """Full blocks written before 0009 get their pre-aggregates at every level, as the live code writes
    them; charts from them equal the M4 of their points."""
    import numpy as np
    from alembic import command
    from sqlalchemy import create_engine

    from tests.unit.test_preaggregates import reference
    from tracklet.server.store import charts, preaggregates, series
    from tracklet.server.store.schema import series_summaries

    engine = create_engine(store_url)
    config = database._alembic_config(engine)
    steps = np.arange(2 * series.BLOCK_SIZE + 10) * 3
    steps[series.BLOCK_SIZE :] += np.cumsum(np.arange(len(steps) - series.BLOCK_SIZE) % 3)  # the second block: irregular
    values = np.cos(steps / 500.0)
    values[100] = math.nan
    values[5000] = -math.inf
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0008")
        conn.execute(text("INSERT INTO entities (id, name, kind, created_at) VALUES (1, 'e', 'user', 0)"))
        conn.execute(text("INSERT INTO projects (id, entity_id, name, created_at) VALUES (1, 1, 'p', 0)"))
        conn.execute(runs_table.insert().values(
            pk=1, project_id=1, run_id="r", state="finished", tags=[], config={}, summary={}, meta={}, created_at=0,
            updated_at=0, heartbeat_at=0, visible_until={"0": None}))
        conn.execute(series_keys.insert().values(run_pk=1, key_id=0, key="loss", integer=False))
        for no, lo in enumerate(range(0, len(steps), series.BLOCK_SIZE)):  # the blocks as 0001-0008 wrote them
            block = series._block_row(steps[lo : lo + series.BLOCK_SIZE], values[lo : lo + series.BLOCK_SIZE])
            conn.execute(series_blocks.insert().values(run_pk=1, key_id=0, segment=0, block_no=no, **block))
    engine.dispose()
    store = open_store(store_url)
    try:
        with store.read() as conn:
            ss = series_summaries.c
            stored = conn.execute(select(ss.run_pk, ss.key_id, ss.segment, ss.block_no, ss.level, ss.data)
                                  .order_by(ss.block_no, ss.level.desc())).mappings().all()
            expected_rows = []
            for no, lo in enumerate((0, series.BLOCK_SIZE)):  # the full ones; the open block is decoded
                part = slice(lo, lo + series.BLOCK_SIZE)
                where = {"run_pk": 1, "key_id": 0, "segment": 0, "block_no": no}
                expected_rows += preaggregates.summary_rows(where, steps[part], values[part])
            assert [dict(row) | {"data": bytes(row["data"])} for row in stored] == expected_rows
            for buckets, level in ((7, 1024), (40, 256), (100, 64), (1000, 1)):
                got, count = charts.downsampled(conn, 1, "loss", {0: None}, buckets)
                expected = reference(conn, "loss", {0: None}, buckets, None, None, level)
                assert count == len(steps)
                for name, column in expected.items():
                    assert np.array_equal(got[name], column, equal_nan=True), (buckets, name)
            got, _ = charts.downsampled(conn, 1, "loss", {0: None}, 7)
            assert not np.isnan(got["min"]).any() and -math.inf in got["min"]  # NaN skipped, -inf kept
    finally:
        store.close()


def test_servers_starting_together_migrate_once(store_url: str) -> None:
    code = "import sys; from tracklet.server.store import open_store; print(open_store(sys.argv[1]).revision)"
    servers = [subprocess.Popen([sys.executable, "-c", code, store_url], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(server.communicate(timeout=60), server.returncode) for server in servers]
    assert [(out.strip(), status) for (out, _), status in results] == [(head_revision(), 0)] * 3, results


def test_a_schema_from_a_newer_tracklet_is_refused(store_url: str) -> None:
    open_store(store_url).close()
    newer = database.create(store_url)
    with newer.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    with pytest.raises(SchemaError, match="revision '9999_from_the_future', which this Tracklet does not know"):
        open_store(store_url)
    assert current_revision(newer) == "9999_from_the_future"  # left as it was
    newer.dispose()


def test_the_migrated_schema_matches_schema_py(store: Store) -> None:
    def include(item: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
        if kind == "table" and (name or "").startswith("series_summaries_"):
            return False  # PostgreSQL's partitions of series_summaries, one per level (migration 0009)
        return not (kind == "index" and name in POSTGRESQL_ONLY_INDEXES and store.engine.dialect.name != "postgresql")

    with store.read() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_migration_0008_copies_the_runs_stored_before_it_for_filters(store_url: str) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    engine = create_engine(store_url)
    config = database._alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0007")
        conn.execute(text("INSERT INTO entities (id, name, kind, created_at) VALUES (1, 'alice', 'user', 0)"))
        conn.execute(text("INSERT INTO projects (id, entity_id, name, created_at) VALUES (1, 1, :p, 0)"), {"p": PROJECT})
        for pk, optimizer, loss, tags in ((1, "adam", 0.25, ["best"]), (2, "sgd", 0.5, []), (3, "a\x00b", "NaN", ["x"])):
            conn.execute(runs_table.insert().values(
                pk=pk, project_id=1, run_id=f"r{pk}", state="finished", tags=tags, config={"opt": {"name": optimizer}},
                summary={"loss": loss}, meta={}, created_at=pk, updated_at=pk, heartbeat_at=pk, visible_until={}))
    engine.dispose()
    store = open_store(store_url)
    try:
        ref = runs.RunRef(1, "alice", PROJECT)
        assert listed(store, ref, {"config.opt.name": "adam", "summary.loss": {"$lt": 0.3}}) == ["r1"]
        assert listed(store, ref, {"tags": "best"}) == ["r1"]
        assert listed(store, ref, {"summary.loss": "NaN"}) == ["r3"]
        # a filter names U+0000 as U+FFFD, as text columns and PostgreSQL's jsonb copy hold it
        assert listed(store, ref, {"config.opt.name": "a\x00b"}) == listed(store, ref, {"config.opt.name": "a\ufffdb"}) == ["r3"]
        assert run_row(store, ref, "r3").config == {"opt": {"name": "a\x00b"}}
        assert listed(store, ref, None, "-summary.loss") == ["r2", "r1", "r3"]  # NaN: no order, last
    finally:
        store.close()


# -- accounts ---------------------------------------------------------------------------------


def test_users_and_api_keys(store: Store) -> None:
    with store.transaction() as conn:
        admin = accounts.create_user(conn, "root", admin=True)
        alice = accounts.create_user(conn, "alice")
        ghost = accounts.create_anonymous_user(conn)
    with store.transaction() as conn, pytest.raises(Conflict, match="taken"):
        accounts.create_user(conn, "alice")
    with store.transaction() as conn, pytest.raises(BadRequest):
        accounts.create_user(conn, "-bad name")
    with store.transaction() as conn:
        assert accounts.count_users(conn) == 3
        assert accounts.find_user(conn, "root") == admin and admin.is_admin is True and admin.is_anonymous is False
        assert accounts.find_user(conn, ghost.name).is_anonymous is True
        with pytest.raises(NotFound):
            accounts.find_user(conn, "nobody")
        key, prefix = accounts.create_key(conn, alice)
        other_key, other_prefix = accounts.create_key(conn, alice)
    with store.read() as conn:
        assert accounts.user_for_key(conn, key) == alice
        assert accounts.user_for_key(conn, other_key) == alice
        assert accounts.user_for_key(conn, key + "x") is None
        listed = accounts.list_keys(conn, alice)
        assert [p for p, _, revoked in listed] == [prefix, other_prefix] and all(r is None for _, _, r in listed)
        stored = conn.execute(select(accounts.api_keys.c.key_hash)).scalars().all()
        assert accounts.hash_key(key) in stored and key not in stored
    with store.transaction() as conn:
        with pytest.raises(NotFound):
            accounts.revoke_key(conn, admin, prefix)  # not admin's key
        accounts.revoke_key(conn, admin, prefix, any_user=True)
    with store.transaction() as conn:
        assert accounts.user_for_key(conn, key) is None and accounts.user_for_key(conn, other_key) == alice
        assert accounts.list_keys(conn, alice)[0][2] is not None
        with pytest.raises(NotFound):
            accounts.revoke_key(conn, alice, prefix)  # already revoked


def test_teams_memberships_and_roles(store: Store) -> None:
    with store.transaction() as conn:
        alice = accounts.create_user(conn, "alice")
        bob = accounts.create_user(conn, "bob")
        accounts.create_team(conn, "lab", alice)
        with pytest.raises(Conflict):
            accounts.create_team(conn, "bob", alice)  # a user's name
        with pytest.raises(NotFound):
            accounts.add_member(conn, "alice", bob, "member")  # a user, not a team
        with pytest.raises(BadRequest):
            accounts.add_member(conn, "lab", bob, "owner")
        accounts.add_member(conn, "lab", bob, "member")
    with store.transaction() as conn, pytest.raises(Conflict):
        accounts.create_user(conn, "lab")  # a team's name
    with store.transaction() as conn:
        lab_id, role = accounts.entity_role(conn, bob, "lab") or (None, None)
        assert role == "member" and isinstance(lab_id, int)
        assert accounts.entity_role(conn, alice, "lab") == (lab_id, "admin")
        assert accounts.entity_role(conn, bob, "alice") is None and accounts.entity_role(conn, bob, "nothing") is None
        accounts.add_member(conn, "lab", bob, "admin")
    with store.transaction() as conn:
        for team in ("alpha", "Zeta", "Beta"):
            accounts.create_team(conn, team, bob)
    with store.read() as conn:
        assert accounts.entity_role(conn, bob, "lab") == (lab_id, "admin")
        assert accounts.entity_role(conn, bob, "LAB") is None  # names are case-sensitive
        # the personal entity first, then by code point whatever the database's collation
        assert [name for name, _, _ in accounts.entities_of(conn, bob)] == ["bob", "Beta", "Zeta", "alpha", "lab"]


# -- the run handshake ------------------------------------------------------------------------


def test_a_new_run_then_resume_allow_must_never(store: Store, ref: runs.RunRef) -> None:
    with store.transaction() as conn, pytest.raises(Conflict, match="'must' is not a valid option"):
        runs.open_run(conn, ref, RunHandshake(project=PROJECT, run_id="nothere1", resume="must"))
    with store.read() as conn:
        assert runs.find_run(conn, ref.entity_id, PROJECT, "nothere1") is None
    created = handshake(store, ref, "run00001", resume="never")
    assert created == {"run_id": "run00001", "name": None, "resumed": False, "starting_step": 0, "runtime": 0.0,
                       "last_seq": 0, "restore": None, "branch": None}
    last = send(store, ref, "run00001", 1, [start("run00001"), encode(RecordType.CONFIG, {"set": {"lr": 0.1}}),
                                            *(row(s, {"v": s}) for s in range(5)), finish(1)])
    info = run_row(store, ref, "run00001")
    assert (info.state, info.exit_code, info.last_seq, info.config) == ("failed", 1, last, {"lr": 0.1})

    with store.transaction() as conn, pytest.raises(Conflict, match="'never' is not a valid option"):
        runs.open_run(conn, ref, RunHandshake(project=PROJECT, run_id="run00001", resume="never"))
    for mode in ("allow", "must"):
        resumed = handshake(store, ref, "run00001", resume=mode)
        assert resumed["resumed"] is True and resumed["starting_step"] == 5 and resumed["last_seq"] == last
        assert resumed["restore"]["config"] == {"lr": 0.1} and resumed["restore"]["summary"]["v"] == 4
        assert run_row(store, ref, "run00001").state == "running"
    last = send(store, ref, "run00001", last + 1, [start("run00001", resumed), row(5, {"v": 50}), finish()])
    assert [r["v"] for r in stored_rows(store, ref, "run00001")] == [0, 1, 2, 3, 4, 50]
    # a repeated handshake for a segment already uploaded (a second `tracklet sync`) changes nothing
    again = handshake(store, ref, "run00001", first_seq=last)
    assert again["last_seq"] == last and run_row(store, ref, "run00001").state == "finished"


def test_the_same_id_without_resume_replaces_the_run(store: Store, ref: runs.RunRef) -> None:
    log_run(store, ref, "run00001", [{"v": s, "s": f"t{s}"} for s in range(5)])
    reply = handshake(store, ref, "run00001")
    assert reply["resumed"] is False and reply["starting_step"] == 0 and reply["restore"] is None
    assert stored_rows(store, ref, "run00001") == []
    info = run_row(store, ref, "run00001")
    assert (info.state, info.config, info.summary, info.segment) == ("running", {}, {}, 1)
    send(store, ref, "run00001", reply["last_seq"] + 1, [start("run00001"), row(0, {"w": 1})])
    assert stored_rows(store, ref, "run00001") == [{"_step": 0, "w": 1, "_timestamp": T0, "_runtime": 0.0}]


def test_rewind_hides_later_history(store: Store, ref: runs.RunRef) -> None:
    log_run(store, ref, "src00001", [{"loss": 100 - s, "tag": f"s{s}"} for s in range(10)])
    for bad in ("src00001?_step=10", "src00001?_step=-1", "not a moment"):
        with store.transaction() as conn, pytest.raises(BadRequest):
            runs.open_run(conn, ref, RunHandshake(project=PROJECT, run_id="src00001", resume_from=bad))
    with store.transaction() as conn, pytest.raises(BadRequest, match="must name the run"):
        runs.open_run(conn, ref, RunHandshake(project=PROJECT, run_id="src00001", resume_from="other?_step=1"))

    reply = handshake(store, ref, "src00001", resume_from="src00001?_step=4")
    assert reply["resumed"] is True and reply["starting_step"] == 5
    assert reply["branch"] == {"kind": "rewind", "run_id": "src00001", "step": 4}
    assert reply["restore"]["summary"]["loss"] == 96 and reply["restore"]["summary"]["tag"] == "s4"
    send(store, ref, "src00001", reply["last_seq"] + 1,
         [start("src00001", reply), row(5, {"loss": 500}), row(6, {"loss": 600}), finish()])
    rows = stored_rows(store, ref, "src00001")
    assert [r["_step"] for r in rows] == list(range(7))
    assert [r["loss"] for r in rows] == [100, 99, 98, 97, 96, 500, 600]
    assert [r.get("tag") for r in rows] == [f"s{s}" for s in range(5)] + [None, None]
    info = run_row(store, ref, "src00001")
    assert info.summary["loss"] == 600 and info.summary["_step"] == 6 and info.state == "finished"


def test_fork_copies_history_up_to_the_step(store: Store, ref: runs.RunRef) -> None:
    log_run(store, ref, "src00001", [{"loss": 100 - s, "tag": f"s{s}"} for s in range(10)])
    with store.transaction() as conn, pytest.raises(NotFound):
        runs.open_run(conn, ref, RunHandshake(project=PROJECT, run_id="fork0001", fork_from="nothere?_step=1"))
    with store.transaction() as conn, pytest.raises(Conflict):
        runs.open_run(conn, ref, RunHandshake(project=PROJECT, run_id="src00001", fork_from="src00001?_step=1"))
    reply = handshake(store, ref, "fork0001", fork_from="src00001?_step=3")
    assert reply["resumed"] is False and reply["starting_step"] == 4
    assert reply["branch"] == {"kind": "fork", "run_id": "src00001", "step": 3}
    send(store, ref, "fork0001", reply["last_seq"] + 1, [start("fork0001", reply), row(4, {"loss": -1}), finish()])
    forked = stored_rows(store, ref, "fork0001")
    assert [r["loss"] for r in forked] == [100, 99, 98, 97, -1]
    assert [r.get("tag") for r in forked] == ["s0", "s1", "s2", "s3", None]
    assert [r["loss"] for r in stored_rows(store, ref, "src00001")] == [100 - s for s in range(10)]
    assert run_row(store, ref, "fork0001").branch == {"kind": "fork", "run_id": "src00001", "step": 3}


def test_identifiers_have_the_same_limits_everywhere(store: Store, ref: runs.RunRef) -> None:
    for run_id, project in (("r" * 129, PROJECT), ("", PROJECT), ("run00001", "p" * 129)):
        with store.transaction() as conn, pytest.raises(BadRequest, match="must be 1 to 128 characters"):
            other = runs.RunRef(ref.entity_id, ref.entity, project)
            runs.open_run(conn, other, RunHandshake(project=project, run_id=run_id))
    handshake(store, ref, "r" * 128)
    with store.read() as conn:
        assert runs.find_run(conn, ref.entity_id, PROJECT, "r" * 128) is not None
        assert runs.find_run(conn, ref.entity_id, PROJECT, "r" * 129) is None
        assert runs.project_id(conn, ref.entity_id, "p" * 129, create=False) is None


def test_projects_are_listed_by_code_point(store: Store, ref: runs.RunRef) -> None:
    for project in ("b", "B", "a", "_x"):
        handshake(store, runs.RunRef(ref.entity_id, ref.entity, project), "run00001")
    with store.read() as conn:
        assert [name for name, count, _ in runs.project_infos(conn, ref.entity_id)] == ["B", "_x", "a", "b"]


def test_runs_starting_together_share_their_new_project(store: Store, ref: runs.RunRef) -> None:
    errors: list[BaseException] = []

    def start_one(i: int) -> None:
        try:
            handshake(store, ref, f"run{i:05d}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start_one, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with store.read() as conn:
        assert len(runs.list_runs(conn, ref)) == 6 and len(runs.project_infos(conn, ref.entity_id)) == 1


# PostgreSQL only: SQLite has one writer at a time, so its write transactions queue (BEGIN IMMEDIATE).
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_run_being_written_does_not_hold_up_the_others(store: Store, ref: runs.RunRef) -> None:
    log_run(store, ref, "run00001", [{"v": 1}], exit_code=None)
    log_run(store, ref, "run00002", [{"v": 1}], exit_code=None)
    done: list[str] = []

    def others() -> None:
        handshake(store, ref, "run00003")
        done.append("created")
        send(store, ref, "run00002", 3, [row(1, {"v": 2})])
        done.append("appended")

    with store.transaction() as conn:
        runs.require_run(conn, ref, "run00001", lock=True)  # as append_records does, for a while
        thread = threading.Thread(target=others)
        thread.start()
        thread.join(10)
        assert done == ["created", "appended"]
    thread.join(30)


# -- record ingest ----------------------------------------------------------------------------


def test_append_is_idempotent_and_refuses_gaps(store: Store, ref: runs.RunRef) -> None:
    handshake(store, ref, "run00001")
    records = [start("run00001")] + [row(s, {"v": s * 2, "s": str(s)}) for s in range(30)]
    assert send(store, ref, "run00001", 1, records[:11]) == 11
    assert send(store, ref, "run00001", 1, records[:11]) == 11  # the same batch again: stored once
    assert send(store, ref, "run00001", 6, records[5:21]) == 21  # overlapping: only 12..21 are new
    with store.transaction() as conn, pytest.raises(Conflict, match="continue at seq 22"):
        runs.append_records(conn, ref, "run00001", RecordBatch(first_seq=23, records=records[22:]))
    with store.transaction() as conn, pytest.raises(BadRequest):
        runs.append_records(conn, ref, "run00001", RecordBatch(first_seq=0, records=records))
    with store.transaction() as conn, pytest.raises(NotFound):
        runs.append_records(conn, ref, "nothere1", RecordBatch(first_seq=1, records=records))
    assert send(store, ref, "run00001", 22, []) == 21  # a heartbeat
    assert send(store, ref, "run00001", 1, records) == 31
    rows = stored_rows(store, ref, "run00001")
    assert [(r["_step"], r["v"], r["s"]) for r in rows] == [(s, s * 2, str(s)) for s in range(30)]
    with store.read() as conn:
        pk = runs.require_run(conn, ref, "run00001").pk
        points = conn.execute(select(func.sum(series_blocks.c.count)).where(
            series_blocks.c.run_pk == pk, series_blocks.c.key_id == 0)).scalar_one()
    assert points == 30
    assert send(store, ref, "run00001", 32, [], writer_gone=True) == 31
    assert run_row(store, ref, "run00001").state == "crashed"


def test_an_invalid_record_stores_nothing(store: Store, ref: runs.RunRef) -> None:
    handshake(store, ref, "run00001")
    send(store, ref, "run00001", 1, [start("run00001"), row(0, {"v": 0})])
    before = run_row(store, ref, "run00001")
    bad_batches = [
        [row(1, {"v": 1}), b"\x92\x63\x80"],  # an unknown record type
        [row(1, {"v": 1}), row(2, {"w": "x"}), b"not msgpack at all"],
        [row(1, {"v": 1}), encode(RecordType.EXIT, {"no": "exit code"})],
    ]
    for batch in bad_batches:  # the transaction ends (rolled back) before pytest.raises sees the error
        with pytest.raises(BadRequest, match="record [45] is not a valid run log record"), store.transaction() as conn:
            runs.append_records(conn, ref, "run00001", RecordBatch(first_seq=3, records=batch))
    after = run_row(store, ref, "run00001")  # read after each transaction rolled back
    assert (after.last_seq, after.summary, after.replay_state) == (2, before.summary, before.replay_state)
    assert [r["v"] for r in stored_rows(store, ref, "run00001")] == [0]
    with store.read() as conn:
        assert history.keys(conn, after) == ["v", "_timestamp", "_runtime"]
    assert send(store, ref, "run00001", 3, [row(1, {"v": 1})]) == 3


# -- history ----------------------------------------------------------------------------------


def test_history_with_nested_keys_special_floats_and_other_values(store: Store, ref: runs.RunRef) -> None:
    def data(step: int) -> dict[str, Any]:
        return {
            "loss": 1 / (step + 1),
            "train": {"acc": step / 10, "deep": {"count": step}},
            "a.b": step,  # a literal dot in a key
            "special": [math.nan, math.inf, -math.inf][step % 3],
            "big": 2**62 + step,
            "text": f"step {step}",
            "flag": step % 2 == 0,
            "items": [step, "x"],
            "histogram": {"_type": "histogram", "bins": [0, 1], "values": [step]},
        }

    log_run(store, ref, "run00001", [data(s) for s in range(6)])
    with store.read() as conn:
        info = runs.require_run(conn, ref, "run00001")
        keys = history.keys(conn, info)
        rows = history.rows(conn, info)
        exported = list(history.export(conn, info, window=4))
        some = history.rows(conn, info, min_step=2, max_step=3, wanted=["train.acc", "text"])
        series = history.downsampled(conn, info, "train.deep.count", 3, None, None)
        specials = history.downsampled(conn, info, "special", 10, None, None)
    assert keys == ["loss", "train.acc", "train.deep.count", "a\\.b", "special", "big", "_timestamp", "_runtime",
                    "flag", "histogram", "items", "text"]  # numeric keys first-seen first, then the others by name
    expected = [data(step) | {"_step": step, "_timestamp": T0 + step, "_runtime": float(step)} for step in range(6)]
    assert runs.json_safe(rows) == runs.json_safe(exported) == runs.json_safe(expected)  # NaN == NaN there
    assert all(type(r["big"]) is int and type(r["train"]["deep"]["count"]) is int for r in rows)
    assert some == [{"_step": 2, "train": {"acc": 0.2}, "text": "step 2"},
                    {"_step": 3, "train": {"acc": 0.3}, "text": "step 3"}]
    assert series["downsampled"] is True and series["count"] == [2, 2, 2]
    assert series["min"] == [0, 2, 4] and series["max"] == [1, 3, 5]
    assert specials["max"][:3] == ["NaN", "Infinity", "-Infinity"]  # ready for JSON, which has no such numbers

    summary = info.summary  # stored as JSON, which has no NaN or infinities
    assert summary["special"] == "-Infinity" and summary["big"] == 2**62 + 5 and summary["a.b"] == 5
    assert summary["train"] == {"acc": 0.5, "deep": {"count": 5}} and summary["flag"] is False
    log_run(store, ref, "run00002", [{"x": math.nan, "y": {"z": math.inf}}])
    assert run_row(store, ref, "run00002").summary == {
        "x": "NaN", "y": {"z": "Infinity"}, "_step": 0, "_runtime": 0.0, "_timestamp": T0}


def test_values_postgresql_cannot_hold_as_given_are_stored_alike(store: Store, ref: runs.RunRef) -> None:
    """Long free text, exit codes beyond 32 bits, and U+0000, which PostgreSQL text cannot hold."""
    handshake(store, ref, "nul\x00run")
    long_text = "g" * 5000
    send(store, ref, "nul\x00run", 1, [
        start("nul\x00run", name="a\x00name", notes="n\x00", group=long_text, job_type=long_text),
        encode(RecordType.METADATA, {"host": "h" * 300, "note": "m\x00"}),
        encode(RecordType.CONFIG, {"set": {"k\x00": "v\x00"}}),
        row(0, {"loss\x00": 1.5, "text": "t\x00", "obj\x00": "o"}),
        finish(2**40),
    ])
    with store.read() as conn:
        info = runs.require_run(conn, ref, "nul\x00run")  # found by the name it was created with
        rows = history.rows(conn, info)
        assert history.rows(conn, info, wanted=["loss\ufffd", "obj\ufffd"]) == [
            {"_step": 0, "loss\ufffd": 1.5, "obj\ufffd": "o"}]
        assert accounts.entity_role(conn, accounts.find_user(conn, "alice"), "alice\x00") is None
        with pytest.raises(NotFound):
            accounts.find_user(conn, "alice\x00")
    assert info.run_id == "nul\ufffdrun" and info.name == "a\ufffdname" and info.notes == "n\ufffd"
    assert (info.group, info.job_type, info.host) == (long_text, long_text, "h" * 300)
    assert (info.state, info.exit_code) == ("failed", 2**40)
    assert info.config == {"k\x00": "v\x00"} and info.meta["note"] == "m\x00"  # JSON holds U+0000 escaped
    assert rows == [{"_step": 0, "loss\ufffd": 1.5, "text": "t\x00", "obj\ufffd": "o", "_timestamp": T0,
                     "_runtime": 0.0}]


def test_steps_beyond_32_bits(store: Store, ref: runs.RunRef) -> None:
    handshake(store, ref, "run00001")
    steps = [0, 2**31 + 5, 2**40]
    send(store, ref, "run00001", 1, [start("run00001")] + [row(s, {"v": s, "o": "x"}) for s in steps])
    rows = stored_rows(store, ref, "run00001", min_step=2**31)
    assert [(r["_step"], r["v"], r["o"]) for r in rows] == [(s, s, "x") for s in steps[1:]]


def test_a_large_run_round_trips(store: Store, ref: runs.RunRef) -> None:
    steps, keys = 20_000, ["loss", "acc", "lr", "epoch", "grad/norm"]
    handshake(store, ref, "big00001")
    records = [start("big00001")] + [
        row(s, {"loss": 1 / (s + 1), "acc": s / steps, "lr": 0.1, "epoch": s // 1000, "grad/norm": math.sin(s)})
        for s in range(steps)
    ]
    for lo in range(0, len(records), 5000):  # the agent's batches
        send(store, ref, "big00001", lo + 1, records[lo : lo + 5000])
    send(store, ref, "big00001", len(records) + 1, [finish()])
    with store.read() as conn:
        info = runs.require_run(conn, ref, "big00001")
        assert history.keys(conn, info) == [*keys, "_timestamp", "_runtime"]
        exported = list(history.export(conn, info, window=7_000))
        chart = history.downsampled(conn, info, "loss", 1000, None, None)
    assert len(exported) == steps and [r["_step"] for r in exported] == list(range(steps))
    assert all(r["loss"] == 1 / (r["_step"] + 1) and r["grad/norm"] == math.sin(r["_step"]) for r in exported)
    assert exported[12_345]["epoch"] == 12 and exported[-1]["acc"] == (steps - 1) / steps
    assert len(chart["count"]) == 1000 and sum(chart["count"]) == steps and chart["max"][0] == 1.0
    assert info.summary["loss"] == 1 / steps and info.state == "finished"


def test_deleting_a_run_deletes_its_history(store: Store, ref: runs.RunRef) -> None:
    log_run(store, ref, "run00001", [{"v": s, "s": "x"} for s in range(10)])
    log_run(store, ref, "run00002", [{"v": s, "s": "x"} for s in range(10)])

    def counts(conn: Connection) -> list[int]:
        return [conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (runs_table, series_keys, series_blocks, history_objects)]

    with store.read() as conn:
        full = counts(conn)
    with store.transaction() as conn:
        runs.delete_run(conn, ref, "run00001")
    with store.transaction() as conn:
        assert counts(conn) == [n // 2 for n in full]
        assert [r.run_id for r in runs.list_runs(conn, ref)] == ["run00002"]
        with pytest.raises(NotFound):
            runs.delete_run(conn, ref, "run00001")
        assert runs.project_infos(conn, ref.entity_id)[0][:2] == (PROJECT, 1)
    assert [r["v"] for r in stored_rows(store, ref, "run00002")] == list(range(10))


def test_the_clock_reads_back_as_floats(store: Store, ref: runs.RunRef) -> None:
    before = time.time()
    log_run(store, ref, "run00001", [{"v": 1}])
    info = run_row(store, ref, "run00001")
    assert before <= info.created_at <= info.updated_at <= info.heartbeat_at <= time.time() + 1
    assert type(info.created_at) is float and type(info.last_seq) is int


# -- run filters, orders and paging (the database evaluates them) --------------------------------

from tests.unit.test_filters import FILTER_CASES, NOW, ORDER_CASES, ROWS  # noqa: E402
from tracklet.server.store import filters  # noqa: E402


def put_runs(store: Store, ref: runs.RunRef, rows: list[dict[str, Any]]) -> None:
    """Runs stored as given (state, times and all), as ingest would have left them."""
    with store.transaction() as conn:
        pid = runs.project_id(conn, ref.entity_id, ref.project, create=True)
        conn.execute(runs_table.insert(), [runs.with_filter_copies(conn,
            {"project_id": pid, "notes": None, "meta": {}, "visible_until": {"0": None}, "last_seq": 0, "segment": 0,
             **fields, "group": fields["group"], "job_type": fields["job_type"]}) for fields in rows])


def listed(store: Store, ref: runs.RunRef, document: Any = None, order: str | None = None, now: float = NOW,
           **paging: Any) -> list[str]:
    with store.read() as conn:
        found = runs.list_runs(conn, ref, None, filters.parse_filter(document), filters.parse_order(order),
                               now=now, **paging)
    return [row.run_id for row in found]


@pytest.fixture
def filter_rows(store: Store, ref: runs.RunRef) -> runs.RunRef:
    put_runs(store, ref, ROWS)
    return ref


@pytest.mark.parametrize(("document", "expected"), FILTER_CASES)
def test_filters_select_the_same_runs_everywhere(store: Store, filter_rows: runs.RunRef, document: Any,
                                                 expected: list[str]) -> None:
    assert listed(store, filter_rows, document) == expected


@pytest.mark.parametrize(("order", "expected"), ORDER_CASES)
def test_orders_are_the_same_everywhere(store: Store, filter_rows: runs.RunRef, order: str | None,
                                        expected: list[str]) -> None:
    assert listed(store, filter_rows, None, order) == expected


@pytest.mark.parametrize(("document", "expected"), [
    ({"summary.loss": {"$ne": 0.5}}, ["d", "c", "b"]),  # a missing value is not 0.5
    ({"summary.loss": {"$not": {"$gt": 0.3}}}, ["d", "c", "b"]),  # nor greater than anything
    ({"$nor": [{"summary.loss": {"$lt": 1}}]}, ["d", "b"]),
    ({"summary.missing": {"$nin": [1]}}, ["d", "c", "b", "a"]),
    ({"summary.missing": {"$all": []}}, []),  # $all needs the field
    ({"config.opt": {"$all": []}}, ["c", "b", "a"]),
    ({"tags": {"$in": []}}, []),
    ({"tags": []}, ["c"]),  # an empty list equals []
    ({"config.opt.betas": [0.9, 0.99]}, ["a"]),
    ({"config.opt.betas": [0.99, 0.9]}, []),  # lists equal in order
    ({"config.opt": {"betas": [0.9, 0.99], "name": "adam"}}, ["a"]),  # objects equal in any order
    ({"config.opt": {"name": "adam"}}, ["c"]),
    ({"config.opt.betas": {"$gt": 0.95}}, ["a"]),  # an element is greater
    ({"config.opt.betas.0": 0.9}, []),  # a path does not index lists
    ({"config.use_aug": 1}, ["b"]),
    ({"config.lr": {"$lt": "b"}}, ["d"]),
    ({"config.lr": {"$gte": 0, "$lte": 0.01}}, ["c", "b"]),
    ({"summary.loss": {"$gt": "-Infinity"}}, ["c", "a"]),
    ({"summary.loss": {"$regex": "^Na"}}, ["b"]),  # text, though it orders as a number
    ({"tags": {"$regex": "^v"}}, ["b", "a"]),
    ({"name": {"$regex": "A L", "$options": "ix"}}, ["a"]),  # x: the pattern's spaces are ignored
    ({"name": None}, ["d"]),
    ({"name": {"$exists": True}}, ["c", "b", "a"]),
    ({"run_id": {"$gt": "b"}}, ["d", "c"]),
    ({"updated_at": NOW}, ["d", "c", "b", "a"]),
    ({"state": {"$regex": "^run"}}, ["d"]),
])
def test_missing_values_lists_and_types(store: Store, filter_rows: runs.RunRef, document: Any,
                                        expected: list[str]) -> None:
    assert listed(store, filter_rows, document) == expected


def test_keys_with_dots_quotes_and_other_characters(store: Store, ref: runs.RunRef) -> None:
    base = {"name": None, "state": "finished", "tags": [], "group": "", "job_type": "", "config": {},
            "created_at": NOW, "updated_at": NOW, "heartbeat_at": NOW}
    put_runs(store, ref, [
        base | {"run_id": "x", "summary": {"a.b": 1, 'say "hi"': "yes", "é": {"ü": 2}, "back\\slash": 3}},
        base | {"run_id": "y", "summary": {"a": {"b": 1}}, "created_at": NOW + 1},
    ])
    assert listed(store, ref, {"summary.a\\.b": 1}) == ["x"]
    assert listed(store, ref, {"summary.a.b": 1}) == ["y"]
    assert listed(store, ref, {'summary.say "hi"': "yes"}) == ["x"]
    assert listed(store, ref, {"summary.é.ü": {"$gte": 2}}) == ["x"]
    assert listed(store, ref, {"summary.back\\slash": 3}) == ["x"]
    assert listed(store, ref, None, "summary.é.ü") == ["x", "y"]


def test_state_uses_the_effective_state_now(store: Store, ref: runs.RunRef) -> None:
    put_runs(store, ref, [{"run_id": "x", "name": None, "state": "running", "tags": [], "group": "", "job_type": "",
                           "config": {}, "summary": {}, "created_at": NOW, "updated_at": NOW, "heartbeat_at": NOW}])
    assert listed(store, ref, {"state": "running"}, now=NOW) == ["x"]
    assert listed(store, ref, {"state": "running"}, now=NOW + runs.CRASH_AFTER_SECONDS + 1) == []
    assert listed(store, ref, {"state": "crashed"}, now=NOW + runs.CRASH_AFTER_SECONDS + 1) == ["x"]


def test_pages_follow_the_order(store: Store, ref: runs.RunRef) -> None:
    base = {"name": None, "state": "finished", "tags": [], "group": "", "job_type": "", "config": {},
            "updated_at": NOW, "heartbeat_at": NOW}
    # ties in the order keep creation order; runs without the value come last, in creation order
    put_runs(store, ref, [base | {"run_id": f"r{i:02}", "created_at": NOW + i,
                                  "summary": {} if i % 5 == 0 else {"loss": i % 3}} for i in range(25)])
    everything = listed(store, ref, None, "-summary.loss")
    assert everything[:3] == ["r02", "r08", "r11"] and everything[-5:] == ["r00", "r05", "r10", "r15", "r20"]
    pages = [listed(store, ref, None, "-summary.loss", limit=7, offset=offset) for offset in range(0, 25, 7)]
    assert [len(page) for page in pages] == [7, 7, 7, 4]
    assert sum(pages, []) == everything
    assert listed(store, ref, {"summary.loss": 1}, "created_at", limit=2, offset=1) == ["r04", "r07"]


def summaries(store: Store, ref: runs.RunRef, values: list[dict[str, Any]]) -> None:
    """One run per summary, ``s0``, ``s1``, … created in that order."""
    base = {"name": None, "state": "finished", "tags": [], "group": "", "job_type": "", "config": {},
            "updated_at": NOW, "heartbeat_at": NOW}
    put_runs(store, ref, [base | {"run_id": f"s{i}", "created_at": NOW + i, "summary": value}
                          for i, value in enumerate(values)])


def test_numbers_compare_as_the_floats_they_were_written_from(store: Store, ref: runs.RunRef) -> None:
    # 0.1 + 0.2 is 0.30000000000000004: a bound rounded to 15 digits on its way to SQL would equal 0.3
    summaries(store, ref, [{"x": 0.3}, {"x": 0.1 + 0.2}, {"x": 4}, {"x": 4.0}, {"x": 1e-05}, {"x": 1e21}, {"x": -2}])
    oldest_first = lambda document: listed(store, ref, document, "created_at")  # noqa: E731
    assert oldest_first({"summary.x": {"$gt": 0.3}}) == ["s1", "s2", "s3", "s5"]
    assert oldest_first({"summary.x": {"$lte": 0.1 + 0.2}}) == ["s0", "s1", "s4", "s6"]
    assert oldest_first({"summary.x": 0.1 + 0.2}) == ["s1"]
    assert oldest_first({"summary.x": 0.3}) == ["s0"]
    assert oldest_first({"summary.x": 4}) == ["s2", "s3"]  # 4 and 4.0 are one number
    assert oldest_first({"summary.x": {"$in": [4.0, -2]}}) == ["s2", "s3", "s6"]
    assert oldest_first({"summary.x": {"$gt": 0, "$lt": 1e-4}}) == ["s4"]
    assert oldest_first({"summary.x": {"$gte": 1e21}}) == ["s5"]
    assert oldest_first({"summary.x": {"$ne": 4}}) == ["s0", "s1", "s4", "s5", "s6"]
    assert listed(store, ref, None, "summary.x") == ["s6", "s4", "s0", "s1", "s2", "s3", "s5"]


def test_ranges_and_orders_take_numbers_only_as_numbers(store: Store, ref: runs.RunRef) -> None:
    """Booleans, text, null, objects and lists of lists are not numbers in a range or an order;
    "Infinity" is (how a summary holds a float infinity), "NaN" is neither a number nor text."""
    summaries(store, ref, [{"v": True}, {"v": False}, {"v": None}, {"v": "5"}, {"v": {"a": 1}}, {"v": ["x", 3]},
                           {"v": 2}, {}, {"v": "Infinity"}, {"v": "NaN"}, {"v": [[5]]}])
    oldest_first = lambda document: listed(store, ref, document, "created_at")  # noqa: E731
    assert oldest_first({"summary.v": {"$gt": 0}}) == ["s5", "s6", "s8"]
    assert oldest_first({"summary.v": {"$lt": 3}}) == ["s6"]
    assert oldest_first({"summary.v": {"$lte": 3}}) == ["s5", "s6"]
    assert oldest_first({"summary.v": {"$gt": "4"}}) == ["s3", "s5"]  # text with text: "5", and "x" in a list
    assert oldest_first({"summary.v": 3}) == ["s5"]
    assert oldest_first({"summary.v": True}) == ["s0"]  # not the number 1
    assert oldest_first({"summary.v": None}) == ["s2", "s7"]  # null, and missing
    assert oldest_first({"summary.v": {"$exists": False}}) == ["s7"]
    assert oldest_first({"summary.v": {"$in": ["5", 2]}}) == ["s3", "s6"]
    assert oldest_first({"summary.v": {"a": 1}}) == ["s4"]
    assert oldest_first({"summary.v": {"$nin": [2, True]}}) == ["s1", "s2", "s3", "s4", "s5", "s7", "s8", "s9", "s10"]
    assert oldest_first({"summary.v": {"$not": {"$lte": 2}}}) == ["s0", "s1", "s2", "s3", "s4", "s5", "s7", "s8",
                                                                     "s9", "s10"]  # no element of ["x", 3] is <= 2
    rest = ["s0", "s1", "s2", "s4", "s5", "s7", "s9", "s10"]  # no number or text: last, in creation order
    assert listed(store, ref, None, "summary.v") == ["s6", "s8", "s3", *rest]
    assert listed(store, ref, None, "-summary.v") == ["s3", "s8", "s6", *rest]  # descending: text, then numbers


def test_pages_of_a_filtered_listing(store: Store, ref: runs.RunRef) -> None:
    summaries(store, ref, [{"loss": i / 10, "best": i % 2 == 0} for i in range(12)])
    everything = listed(store, ref, {"summary.best": True}, "-summary.loss")
    assert everything == ["s10", "s8", "s6", "s4", "s2", "s0"]
    assert [listed(store, ref, {"summary.best": True}, "-summary.loss", limit=4, offset=o) for o in (0, 4, 8)] == \
        [everything[:4], everything[4:], []]
    assert listed(store, ref, {"summary.loss": {"$gte": 0.5}}, "summary.loss", limit=100, offset=5) == ["s10", "s11"]


def test_a_listing_read_by_key_in_several_parts_keeps_its_order(store: Store, ref: runs.RunRef,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    summaries(store, ref, [{"loss": (i * 7) % 10} for i in range(10)])
    whole = listed(store, ref, None, "summary.loss")
    monkeypatch.setattr(runs, "_ROWS_BY_KEY", 3)  # the page's rows read 3 keys at a time
    assert listed(store, ref, None, "summary.loss") == whole == ["s0", "s3", "s6", "s9", "s2", "s5", "s8", "s1",
                                                                  "s4", "s7"]
    assert listed(store, ref, None, "-summary.loss", limit=7, offset=2) == whole[::-1][2:9]


def test_workspace_layouts_are_saved_per_project(store: Store, ref: runs.RunRef) -> None:
    from tracklet.protocol import PanelSize, SectionLayout, WorkspaceLayout
    from tracklet.server.store import workspaces

    other = runs.RunRef(ref.entity_id, ref.entity, "other")
    with store.transaction() as conn:
        runs.open_run(conn, ref, RunHandshake(project=PROJECT, run_id="run1"))
        runs.open_run(conn, other, RunHandshake(project="other", run_id="run2"))
    key = "val/acc\x00ü" + "x" * 500  # a key at the length limit, with what PostgreSQL cannot hold as given
    layout = WorkspaceLayout(density="large", sidebar_collapsed=True, sections={
        "val": SectionLayout(order=[key, "val/loss"], sizes={key: PanelSize(columns=3, height=360)})})
    with store.transaction() as conn:
        assert workspaces.read_layout(conn, ref).updated_at is None
        first = workspaces.save_layout(conn, ref, layout).updated_at
        workspaces.save_layout(conn, ref, layout)  # saving again replaces it
    with store.read() as conn:
        read = workspaces.read_layout(conn, ref)
        assert workspaces.read_layout(conn, other) == WorkspaceLayout()
    assert read.density == "large" and read.sidebar_collapsed and read.updated_at and read.updated_at >= (first or 0)
    assert read.sections["val"].order == [key, "val/loss"]  # the key as sent: the JSON text escapes U+0000
    assert read.sections["val"].sizes[key] == PanelSize(columns=3, height=360)
    with store.transaction() as conn, pytest.raises(NotFound):
        workspaces.read_layout(conn, runs.RunRef(ref.entity_id, ref.entity, "missing"))


def test_every_write_keeps_what_filters_read_in_step_with_what_listings_show(store: Store, ref: runs.RunRef) -> None:
    def agree(run_id: str) -> Any:
        """On PostgreSQL the run's filter copies equal its config, summary and tags (U+0000 as U+FFFD);
        SQLite keeps one only of a value holding U+0000 (its filters read the JSON text)."""
        with store.read() as conn:
            pk = runs.require_run(conn, ref, run_id).pk
            row = conn.execute(select(runs_table).where(runs_table.c.pk == pk)).one()
        copies = (row.filter_config, row.filter_summary, row.filter_tags)
        expected = [runs.without_nul(row.config), runs.without_nul(row.summary), row.tags]
        if store.engine.dialect.name != "postgresql":
            expected = [copy if copy != value else None for copy, value in zip(expected, (row.config, row.summary, row.tags))]
        assert list(copies) == expected
        return row

    # ingest: config, summary, tags (a RUN record), history
    handshake(store, ref, "src00001")
    send(store, ref, "src00001", 1, [
        start("src00001", tags=["first"]), encode(RecordType.CONFIG, {"set": {"opt": {"name": "adam"}, "k": "a\x00"}}),
        *(row(step, {"loss": 1.0 / (step + 1)}) for step in range(5)),
        encode(RecordType.RUN, {"tags": ["best", "first"]}), encode(RecordType.SUMMARY, {"set": [[["acc"], 0.9]]})])
    agree("src00001")
    assert listed(store, ref, {"config.opt.name": "adam", "tags": "best", "summary.loss": 0.2}) == ["src00001"]
    assert listed(store, ref, {"config.k": "a\ufffd"}) == listed(store, ref, {"config.k": "a\x00"}) == ["src00001"]
    # an API update of tags
    with store.transaction() as conn:
        runs.update_run(conn, ref, "src00001", RunUpdate(tags=["kept"]))
    agree("src00001")
    assert listed(store, ref, {"tags": "kept"}) == ["src00001"] and listed(store, ref, {"tags": "best"}) == []
    # a fork takes the config and the summary at its step
    handshake(store, ref, "fork0001", fork_from="src00001?_step=1")
    assert agree("fork0001").summary["loss"] == 0.5
    assert listed(store, ref, {"config.opt.name": "adam", "summary.loss": 0.5}) == ["fork0001"]
    # a rewind goes back to the summary at its step
    handshake(store, ref, "src00001", resume_from="src00001?_step=3")
    agree("src00001")
    assert listed(store, ref, {"summary.loss": 0.25}) == ["src00001"]
    # the same id started again without resume: a new run, nothing of the old one's config or summary
    handshake(store, ref, "fork0001")
    agree("fork0001")
    assert listed(store, ref, {"config.opt.name": {"$exists": True}}) == ["src00001"]
