"""The media type of each non-numeric history value, so media keys are found without decoding values.

Revision ID: 0004
Revises: 0003
"""

import msgpack
import sqlalchemy as sa
from alembic import op

from tracklet.runlog import media_type

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("history_objects") as batch:
        batch.add_column(sa.Column("media_type", sa.String(16)))
    op.create_index("history_objects_media", "history_objects", ["run_pk", "media_type", "key"])
    # Histograms logged before 0004 are media too: mark them (other values stay NULL).
    objects = sa.table("history_objects", sa.column("run_pk"), sa.column("segment"), sa.column("step"),
                       sa.column("key"), sa.column("value"), sa.column("media_type"))
    conn = op.get_bind()
    found = []
    for row in conn.execute(sa.select(objects).execution_options(yield_per=1000)):
        kind = media_type(msgpack.unpackb(bytes(row.value), raw=False))
        if kind is not None:
            found.append((row.run_pk, row.segment, row.step, row.key, kind))
    for run_pk, segment, step, key, kind in found:
        conn.execute(objects.update().where(
            objects.c.run_pk == run_pk, objects.c.segment == segment, objects.c.step == step,
            objects.c.key == key).values(media_type=kind))


def downgrade() -> None:
    op.drop_index("history_objects_media", "history_objects")
    with op.batch_alter_table("history_objects") as batch:
        batch.drop_column("media_type")
