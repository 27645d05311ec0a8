"""The database schema, shared by every SQL backend (SQLite, PostgreSQL).

Alembic migrations in ``server/store/migrations`` create and evolve exactly these tables.
Lengths of ``String`` columns are limits on every backend: SQLite does not enforce them,
so the store checks what users choose (names, run ids) before writing; free text is ``Text``.
``String`` and ``Text`` here are the SQLAlchemy types made safe for every backend (no U+0000).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import String as _String
from sqlalchemy import Text as _Text


class Text(TypeDecorator[str]):
    """Text every backend can hold: PostgreSQL refuses U+0000 in text, so every backend stores
    it as U+FFFD (in values and in lookups alike, so a name with U+0000 still finds itself)."""

    impl = _Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return value.replace("\x00", "\ufffd") if type(value) is str and "\x00" in value else value


class String(Text):
    impl = _String  # type: ignore[assignment]
    cache_ok = True


metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("is_anonymous", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
)

# An entity owns projects: every user has a personal one with the user's name; teams are entities too.
entities = Table(
    "entities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("kind", String(8), nullable=False),  # "user" | "team"
    Column("created_at", Float, nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column("entity_id", Integer, ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), nullable=False, default="member"),  # "admin" | "member"
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("prefix", String(16), nullable=False),  # shown to tell keys apart; not secret
    Column("key_hash", String(64), nullable=False, unique=True),  # sha256 of the whole key
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
)

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", Integer, ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("entity_id", "name"),
)

runs = Table(
    "runs",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("run_id", String(128), nullable=False),
    Column("name", Text),
    Column("state", String(16), nullable=False),  # running | finished | failed | crashed
    Column("notes", Text),
    Column("tags", JSON, nullable=False),
    Column("group", Text, nullable=False, default=""),
    Column("job_type", Text, nullable=False, default=""),
    Column("host", Text),
    Column("config", JSON, nullable=False),
    Column("summary", JSON, nullable=False),
    Column("meta", JSON, nullable=False),
    Column("branch", JSON),  # {"kind": "fork" | "rewind", "run_id", "step"}
    Column("exit_code", BigInteger),  # sys.exit() takes any int
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),
    Column("last_seq", BigInteger, nullable=False, default=0),  # every record up to here is stored
    Column("segment", Integer, nullable=False, default=0),  # incremented by each rewind
    # per segment, the last step still visible (later history was rewound): {"0": 41, ...}
    Column("visible_until", JSON, nullable=False),
    Column("replay_state", LargeBinary),  # the RunState needed to apply the next records
    Column("metrics", JSON),  # define_metric() definitions, in the order defined; NULL: none
    UniqueConstraint("project_id", "run_id"),
)
Index("runs_by_project_updated", runs.c.project_id, runs.c.updated_at)
Index("runs_by_project_state", runs.c.project_id, runs.c.state)  # running runs, for live listings

# History is columnar: one row per block of up to BLOCK_SIZE numeric points of one key.
# `_timestamp` and `_runtime` are series like any other (x = wall time / relative time).
series_keys = Table(
    "series_keys",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("key_id", Integer, primary_key=True),
    Column("key", Text, nullable=False),  # metric path, "." between nesting levels ("\\." is a literal dot)
    Column("integer", Boolean, nullable=False, default=True),  # every value so far was an int
    UniqueConstraint("run_pk", "key"),
)

series_blocks = Table(
    "series_blocks",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("key_id", Integer, primary_key=True),
    Column("segment", Integer, primary_key=True),
    Column("block_no", Integer, primary_key=True),
    Column("first_step", BigInteger, nullable=False),
    Column("last_step", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("min", Float),
    Column("max", Float),
    Column("data", LargeBinary, nullable=False),
)

# Values that are not plain numbers (strings, lists, histograms, booleans, None), one per key and step.
history_objects = Table(
    "history_objects",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("segment", Integer, primary_key=True),
    Column("step", BigInteger, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("value", LargeBinary, nullable=False),  # MessagePack
    Column("media_type", String(16)),  # "image-file", "histogram", ... for media (runlog.MEDIA_TYPES); else NULL
)
Index("history_objects_media", history_objects.c.run_pk, history_objects.c.media_type, history_objects.c.key)

# System metrics: one row per sample (every `stats_sampling_interval` seconds), all metrics in it.
system_samples = Table(
    "system_samples",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("sample_no", Integer, primary_key=True),
    Column("timestamp", Float, nullable=False),
    Column("metrics", JSON, nullable=False),  # {"cpu": 12.5, "memory_percent": 40.1, "gpu.0.gpu": 97, ...}
)

# Console output, one row per line (carriage returns already collapsed by the SDK).
console_lines = Table(
    "console_lines",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("line_no", BigInteger, primary_key=True),
    Column("timestamp", Float, nullable=False),
    Column("stream", String(8), nullable=False),  # "stdout" | "stderr"
    Column("text", Text, nullable=False),
)
