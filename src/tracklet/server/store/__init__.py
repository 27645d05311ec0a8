"""The server's store: one SQL implementation (SQLAlchemy Core) for SQLite and PostgreSQL.

``open_store(url)`` connects and migrates; the functions of ``accounts``, ``runs`` and
``series`` then work on a connection inside ``store.transaction()``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from tracklet.server.store import database


class Store:
    def __init__(self, engine: Engine, revision: str) -> None:
        self.engine = engine
        self.revision = revision
        # SQLite has one writer at a time, and a writer that finds the database locked sleeps and
        # polls (up to 100 ms a try): with many agents uploading at once, requests waited seconds
        # behind a lock freed in milliseconds. Queued on a lock of our own, the next one goes at once.
        self._sqlite_writer = threading.Lock() if engine.dialect.name == "sqlite" else None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction. On SQLite it takes the write lock at once (BEGIN IMMEDIATE), so
        that concurrent writers to one run are serialised from their first read."""
        if self._sqlite_writer is None:
            with self.engine.begin() as connection:
                yield connection
            return
        with self._sqlite_writer, self.engine.begin() as connection:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            yield connection

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str) -> Store:
    """Connect to ``sqlite:///path`` or ``postgresql://…`` and bring its schema up to date."""
    engine = database.create(url)
    try:
        return Store(engine, database.migrate(engine))
    except BaseException:
        engine.dispose()  # a refused schema must not leave pooled connections behind
        raise
