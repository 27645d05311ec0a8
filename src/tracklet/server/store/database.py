"""Opening a store by URL, and keeping its schema current with Alembic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x7472_6163_6B6C_6574  # b"tracklet": the PostgreSQL advisory lock held while migrating


class SchemaError(Exception):
    """The database's schema is newer than this server knows, or is not a Tracklet store."""


def create(url: str) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql://…`` (psycopg)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               json_deserializer=_json_loads)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
            cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints, safe with WAL
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, json_deserializer=_json_loads)


def _json_loads(text: str | bytes) -> Any:
    """JSON columns read back: msgspec's decoder (a listing of 1,000 runs spent most of its time in
    json.loads), json's for what msgspec refuses (a number beyond a float's range)."""
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return json.loads(text)


def _alembic_config(engine: Engine) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_alembic_config(None)).get_current_head() or ""  # type: ignore[arg-type]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine) -> str:
    """Bring the schema to this version's head; refuse a database from a newer Tracklet.

    One transaction checks and upgrades, holding a lock from the start, so servers started
    together on one database migrate one at a time and the others find the work done: an
    advisory lock on PostgreSQL, the write lock on SQLite (where pysqlite would otherwise
    run the DDL outside any transaction).
    """
    config = _alembic_config(engine)
    scripts = ScriptDirectory.from_config(config)
    known = {script.revision for script in scripts.walk_revisions()}
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        elif connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        current = MigrationContext.configure(connection).get_current_revision()
        if current is not None and current not in known:
            raise SchemaError(
                f"the database schema is at revision {current!r}, which this Tracklet does not know: "
                "it was written by a newer Tracklet. Upgrade tracklet to use it."
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return scripts.get_current_head() or ""
