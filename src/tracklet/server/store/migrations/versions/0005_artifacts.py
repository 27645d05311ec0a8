"""Artifacts: content-addressed blobs, artifacts, their versions, manifest entries, aliases and usage.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "artifacts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("next_index", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("project_id", "name"),
    )
    op.create_table(
        "artifact_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("artifact_id", sa.Integer, sa.ForeignKey("artifacts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("index", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("file_count", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("logged_by_run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="SET NULL")),
        sa.UniqueConstraint("artifact_id", "index"),
    )
    op.create_index("artifact_versions_by_digest", "artifact_versions", ["artifact_id", "digest"])
    op.create_index("artifact_versions_by_run", "artifact_versions", ["logged_by_run_pk"])
    op.create_table(
        "artifact_entries",
        sa.Column("version_id", sa.Integer, sa.ForeignKey("artifact_versions.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("path", sa.String(1024), primary_key=True),
        sa.Column("digest", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("ref", sa.Text),
    )
    op.create_index("artifact_entries_by_digest", "artifact_entries", ["digest"])
    op.create_table(
        "artifact_aliases",
        sa.Column("artifact_id", sa.Integer, sa.ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("alias", sa.String(128), primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("artifact_versions.id", ondelete="CASCADE"),
                  nullable=False),
    )
    op.create_index("artifact_aliases_by_version", "artifact_aliases", ["version_id"])
    op.create_table(
        "artifact_usage",
        sa.Column("version_id", sa.Integer, sa.ForeignKey("artifact_versions.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("artifact_usage_by_run", "artifact_usage", ["run_pk"])


def downgrade() -> None:
    for table in ("artifact_usage", "artifact_aliases", "artifact_entries", "artifact_versions", "artifacts", "blobs"):
        op.drop_table(table)
