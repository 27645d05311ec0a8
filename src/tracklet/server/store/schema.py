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
from sqlalchemy.dialects.postgresql import JSONB


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

# What run filters read on PostgreSQL (``store.filters``): ``jsonb``, parsed once when written and
# indexable. On SQLite, whose filters read the JSON text columns themselves, a copy only of a value
# holding U+0000 (its JSON functions end text there), else NULL: a text copy of every run made rows
# spill to overflow pages (SQLite's binary JSONB needs 3.45, newer than Python's).
FilterDocument = JSON().with_variant(JSONB(), "postgresql")

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
    # Copies of config, summary and tags for filters (migration 0008), written with them (runs.with_filter_copies):
    # the columns above keep the text as sent (key order, number spelling), these a form to query.
    Column("filter_config", FilterDocument),
    Column("filter_summary", FilterDocument),
    Column("filter_tags", FilterDocument),
    UniqueConstraint("project_id", "run_id"),
)
Index("runs_by_project_updated", runs.c.project_id, runs.c.updated_at)
Index("runs_by_project_state", runs.c.project_id, runs.c.state)  # running runs, for live listings
Index("runs_by_project_created", runs.c.project_id, runs.c.created_at)  # listings' default order
# Containment (@>) of config and tags, which equality filters ask first (store.filters._indexed).
# On PostgreSQL only: SQLite has no index of JSON documents (migration 0008 makes none there).
POSTGRESQL_ONLY_INDEXES = ("runs_filter_config", "runs_filter_tags")
for _name in ("config", "tags"):
    Index(f"runs_filter_{_name}", runs.c[f"filter_{_name}"], postgresql_using="gin",
          postgresql_ops={f"filter_{_name}": "jsonb_path_ops"})

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

# Per-window pre-aggregates of each full block at four levels (store/preaggregates.py: windows of
# 4,096, 1,024, 256 and 64 points), one row per block and level, in a table of their own so a chart
# reads them without reading (SQLite) or detoasting (PostgreSQL) the blocks' points. Keyed level
# before block, and on SQLite without rowid (rows stored in key order): the rows of one level of a
# series lie together, so a chart reads ~30 small rows a page and never another level. (One row per
# block with a column per level measured 2.7x slower there: SQLite's key comparisons load a whole
# row, overflow pages included.) On PostgreSQL each level is a partition (migration 0009), for the same reason.
series_summaries = Table(
    "series_summaries",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("key_id", Integer, primary_key=True),
    Column("level", Integer, primary_key=True),  # points per window
    Column("segment", Integer, primary_key=True),
    Column("block_no", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
    sqlite_with_rowid=False,
)
# A chart reads every block's bounds of a key: from this index alone, not from the blocks' rows
# (on SQLite a block row's first page holds ~1.4 KB of its points; here ~130 blocks share a page).
Index("series_blocks_bounds", series_blocks.c.run_pk, series_blocks.c.key_id, series_blocks.c.segment,
      series_blocks.c.block_no, series_blocks.c.first_step, series_blocks.c.last_step, series_blocks.c.count)

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

# -- artifacts (docs/artifacts.md) ------------------------------------------------------------

# Content-addressed files, stored once per deployment (``<files>/blobs/<sha256[:2]>/<sha256>``).
blobs = Table(
    "blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    # last uploaded, or found by …/blobs/missing: gc spares recent blobs (a version of them may be coming)
    Column("created_at", Float, nullable=False),
)

# An artifact: the collection of a project's versions of one name.
artifacts = Table(
    "artifacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("type", String(64), nullable=False),
    Column("description", Text),
    Column("next_index", Integer, nullable=False, default=0),  # never reused: v3 always means one content
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("project_id", "name"),
)

artifact_versions = Table(
    "artifact_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("artifact_id", Integer, ForeignKey("artifacts.id", ondelete="CASCADE"), nullable=False),
    Column("index", Integer, nullable=False),  # "v3" is index 3
    Column("digest", String(64), nullable=False),  # the manifest digest
    Column("description", Text),
    Column("metadata", JSON, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("file_count", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("logged_by_run_pk", Integer, ForeignKey("runs.pk", ondelete="SET NULL")),
    UniqueConstraint("artifact_id", "index"),
)
Index("artifact_versions_by_digest", artifact_versions.c.artifact_id, artifact_versions.c.digest)
Index("artifact_versions_by_run", artifact_versions.c.logged_by_run_pk)

# A version's manifest, one row per entry; ``ref`` is set for references (not stored blobs).
artifact_entries = Table(
    "artifact_entries",
    metadata,
    Column("version_id", Integer, ForeignKey("artifact_versions.id", ondelete="CASCADE"), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("digest", Text, nullable=False),  # a blob's SHA-256; for a reference, its checksum (ETag, …)
    Column("size", BigInteger, nullable=False),
    Column("ref", Text),
)
Index("artifact_entries_by_digest", artifact_entries.c.digest)  # gc: is a blob referenced?

# Users' aliases ("best", "prod"): one version per alias per artifact. "latest" is not stored:
# it is always the version with the highest index.
artifact_aliases = Table(
    "artifact_aliases",
    metadata,
    Column("artifact_id", Integer, ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True),
    Column("alias", String(128), primary_key=True),
    Column("version_id", Integer, ForeignKey("artifact_versions.id", ondelete="CASCADE"), nullable=False),
)
Index("artifact_aliases_by_version", artifact_aliases.c.version_id)

# Lineage: the runs that used a version (use_artifact).
artifact_usage = Table(
    "artifact_usage",
    metadata,
    Column("version_id", Integer, ForeignKey("artifact_versions.id", ondelete="CASCADE"), primary_key=True),
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
)
Index("artifact_usage_by_run", artifact_usage.c.run_pk)

# A project's workspace layout (protocol.WorkspaceLayout), as its JSON text: the server checks it
# on the way in and reads it back whole; nothing queries inside it.
workspace_layouts = Table(
    "workspace_layouts",
    metadata,
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("layout", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)
