"""Each run's define_metric() definitions (the UI's default x axis and hidden metrics).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("metrics", sa.JSON))  # NULL: none defined (runs stored before 0003)
    op.create_index("runs_by_project_state", "runs", ["project_id", "state"])


def downgrade() -> None:
    op.drop_index("runs_by_project_state", "runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("metrics")
