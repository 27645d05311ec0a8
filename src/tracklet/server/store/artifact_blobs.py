"""Which artifact blobs the deployment holds (the ``blobs`` table), and their garbage collection.

The files themselves are in the server's file store (``server/blobs/``). Row locks order the
two: an upload keeps its file while holding the blob's row, a version's creation reads the rows
of its blobs ``FOR SHARE``, and gc deletes files while holding the rows it deletes ``FOR UPDATE``,
so gc never deletes a blob a version being created (or an upload) is about to rely on.
On SQLite every write transaction holds the database's write lock, which orders them all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, delete, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tracklet.protocol import GcReport
from tracklet.server.store.schema import artifact_entries, blobs

CHUNK = 1000  # digests per IN (...) list: well under every backend's limit on parameters
TOUCH_AFTER = 60.0  # seconds: a blob asked about again within this is not written again


def chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def missing(conn: Connection, digests: list[str]) -> list[str]:
    """Those of ``digests`` the store lacks, in their order (each once). The others count as just
    uploaded (``created_at``: now), since the asker is about to create a version of them: gc spares them."""
    unique = list(dict.fromkeys(digests))
    present: set[str] = set()
    now = time.time()
    for part in chunks(unique):
        # Touched first: a gc holding these rows finishes before, and its deletions then show as missing.
        conn.execute(update(blobs).where(blobs.c.sha256.in_(part), blobs.c.created_at < now - TOUCH_AFTER)
                     .values(created_at=now))
        present.update(conn.execute(select(blobs.c.sha256).where(blobs.c.sha256.in_(part))).scalars())
    return [d for d in unique if d not in present]


def sizes(conn: Connection, digests: list[str], *, lock: bool = False) -> dict[str, int]:
    """The size of each stored blob among ``digests``; ``lock``: hold their rows until the transaction
    ends (``FOR SHARE`` on PostgreSQL), so that gc cannot delete them meanwhile."""
    found: dict[str, int] = {}
    for part in chunks(list(dict.fromkeys(digests))):
        query = select(blobs.c.sha256, blobs.c.size).where(blobs.c.sha256.in_(part))
        if lock:
            query = query.with_for_update(read=True)
        found.update((row.sha256, row.size) for row in conn.execute(query))
    return found


def add(conn: Connection, sha256: str, size: int) -> bool:
    """Record a blob just uploaded, holding its row; True if the store had it already.
    Its ``created_at`` moves to now either way: gc spares blobs uploaded recently."""
    now = time.time()
    row = select(blobs.c.sha256).where(blobs.c.sha256 == sha256).with_for_update()
    if conn.execute(row).first() is None:
        dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        inserted = conn.execute(dialect_insert(blobs).values(sha256=sha256, size=size, created_at=now)
                                .on_conflict_do_nothing().returning(blobs.c.sha256)).first()
        if inserted is not None:  # (rowcount is not reliable here: -1 with psycopg)
            return False
        conn.execute(row)  # a concurrent upload of the same blob inserted it first: wait for its row
    conn.execute(update(blobs).where(blobs.c.sha256 == sha256).values(size=size, created_at=now))
    return True


def collect(conn: Connection, older_than: float, dry_run: bool, remove: Callable[[str], None]) -> GcReport:
    """Blobs that no version's entry references and that were uploaded more than ``older_than`` seconds
    ago (younger ones may belong to a version being logged). Unless ``dry_run``, ``remove`` deletes each
    one's file, then its row goes."""
    cutoff = time.time() - older_than
    unreferenced = ~exists().where(artifact_entries.c.digest == blobs.c.sha256)
    found = conn.execute(select(blobs.c.sha256, blobs.c.size).where(blobs.c.created_at < cutoff, unreferenced)).all()
    if dry_run:
        return GcReport(blobs=len(found), bytes=sum(r.size for r in found), deleted=False)
    doomed: list[tuple[str, int]] = []
    for part in chunks([r.sha256 for r in found]):
        # Lock first, then look again: a version created meanwhile is committed (it held these rows).
        locked = conn.execute(select(blobs.c.sha256, blobs.c.size)
                              .where(blobs.c.sha256.in_(part), blobs.c.created_at < cutoff).with_for_update()).all()
        referenced = set(conn.execute(select(artifact_entries.c.digest).distinct()
                                      .where(artifact_entries.c.digest.in_(part))).scalars())
        doomed.extend((r.sha256, r.size) for r in locked if r.sha256 not in referenced)
    for sha256, _ in doomed:
        remove(sha256)
    for part in chunks([sha256 for sha256, _ in doomed]):
        conn.execute(delete(blobs).where(blobs.c.sha256.in_(part)))
    return GcReport(blobs=len(doomed), bytes=sum(size for _, size in doomed), deleted=True)


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(blobs)).scalar_one())
