"""Per-window pre-aggregates of history blocks: ``series_summaries``, one row per full block.

Blocks stored before 0007 get theirs here, in one pass (decoding each full block once), rather than
lazily: charts read in read-only transactions, so a lazy fill would need a write path on reads,
and until filled a store would answer charts slowly without saying why. A block without a summary
still charts correctly (it is decoded), so an interrupted fill could only cost time.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_BATCH = 500


def upgrade() -> None:
    from tracklet.server.store import preaggregates, series

    op.create_table(
        "series_summaries",
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("key_id", sa.Integer, primary_key=True),
        sa.Column("segment", sa.Integer, primary_key=True),
        sa.Column("block_no", sa.Integer, primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    blocks = sa.table("series_blocks", sa.column("run_pk"), sa.column("key_id"), sa.column("segment"),
                      sa.column("block_no"), sa.column("count"), sa.column("data"))
    summaries = sa.table("series_summaries", sa.column("run_pk"), sa.column("key_id"), sa.column("segment"),
                         sa.column("block_no"), sa.column("data"))
    b = blocks.c
    order = (b.run_pk, b.key_id, b.segment, b.block_no)
    conn = op.get_bind()
    after = None  # keyset paging: bounded memory whatever the store's size
    while True:
        query = sa.select(*order, b.data).where(b.count == series.BLOCK_SIZE).order_by(*order).limit(_BATCH)
        if after is not None:
            query = query.where(sa.tuple_(*order) > sa.tuple_(*after))
        found = conn.execute(query).all()
        if not found:
            break
        rows = []
        for run_pk, key_id, segment, block_no, data in found:
            steps, values = series._decode(bytes(data))
            rows.append({"run_pk": run_pk, "key_id": key_id, "segment": segment, "block_no": block_no,
                         "data": preaggregates.summarize(steps, values)})
        conn.execute(summaries.insert(), rows)
        after = found[-1][:4]


def downgrade() -> None:
    op.drop_table("series_summaries")
