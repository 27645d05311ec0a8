"""The server's store: one SQL implementation (SQLAlchemy Core) for SQLite and PostgreSQL.

``open_store(url)`` connects and migrates; the functions of ``accounts``, ``runs`` and
``series`` then work on a connection inside ``store.transaction()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from tracklet.server.store import database


class Store:
    def __init__(self, engine: Engine, revision: str) -> None:
        self.engine = engine
        self.revision = revision

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
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
    return Store(engine, database.migrate(engine))
