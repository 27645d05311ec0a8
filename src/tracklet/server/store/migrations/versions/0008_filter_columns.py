"""Filterable run JSON in a form the database indexes: copies of config, summary and tags that run
filters read on PostgreSQL (``store.filters``), as ``jsonb``; on SQLite, whose filters read the JSON
text itself, only for values holding U+0000 (SQLite's JSON functions end text there), else NULL.

Before this, PostgreSQL parsed every run's JSON text again for every filtered listing. Runs stored
before it get their copies here (U+0000 becomes U+FFFD on PostgreSQL: ``jsonb`` cannot hold it).

Revision ID: 0008
Revises: 0007
"""

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from tracklet.server.store.runs import without_nul

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

NAMES = ("config", "summary", "tags")
# A JSON escape of U+0000 (an even run of backslashes before it: "\\u0000" is a backslash and "u0000").
_NUL_ESCAPE = r"(?<!\\)((?:\\\\)*)\\u0000"


def upgrade() -> None:
    kind = sa.JSON().with_variant(JSONB(), "postgresql")
    with op.batch_alter_table("runs") as batch:
        for name in NAMES:
            batch.add_column(sa.Column(f"filter_{name}", kind))
    op.create_index("runs_by_project_created", "runs", ["project_id", "created_at"])
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        # lz4 where the server has it: decompressing a stored document is most of what reading a value costs
        lz4 = "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        if conn.execute(sa.text(lz4)).scalar():
            for name in NAMES:
                op.execute(f"ALTER TABLE runs ALTER COLUMN filter_{name} SET COMPRESSION lz4")
        copies = ", ".join(f"filter_{name} = regexp_replace({name}::text, '{_NUL_ESCAPE}', '\\1\\\\ufffd', 'g')::jsonb"
                           for name in NAMES)
        op.execute(f"UPDATE runs SET {copies}")
        for name in ("config", "tags"):
            op.execute(f"CREATE INDEX runs_filter_{name} ON runs USING gin (filter_{name} jsonb_path_ops)")
    else:  # SQLite keeps a copy only of JSON holding U+0000 (runs.with_filter_copies): the rare runs with one
        table = sa.table("runs", sa.column("pk"), *(sa.column(f"filter_{name}", sa.JSON) for name in NAMES))
        found = conn.execute(sa.text("SELECT pk, config, summary, tags FROM runs "
                                     "WHERE instr(config || summary || tags, '\\u0000') > 0")).all()
        for pk, *documents in found:
            fixed = {}
            for name, text in zip(NAMES, documents):
                value = json.loads(text)
                fixed[f"filter_{name}"] = without_nul(value) if without_nul(value) != value else sa.null()
            conn.execute(table.update().where(table.c.pk == pk).values(**fixed))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("config", "tags"):
            op.drop_index(f"runs_filter_{name}", "runs")
    op.drop_index("runs_by_project_created", "runs")
    with op.batch_alter_table("runs") as batch:
        for name in NAMES:
            batch.drop_column(f"filter_{name}")
