"""Per-window pre-aggregates of history blocks: ``series_summaries``, one row per full block.

Made empty here: 0009 makes it again in its own layout (four levels of windows) and fills it from
the blocks stored before. (This revision used to fill it with the live code's summaries of the time;
that code has changed since, and a migration must not write what a later revision's code defines.)
A block without a summary still charts correctly (it is decoded).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "series_summaries",
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("key_id", sa.Integer, primary_key=True),
        sa.Column("segment", sa.Integer, primary_key=True),
        sa.Column("block_no", sa.Integer, primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("series_summaries")
