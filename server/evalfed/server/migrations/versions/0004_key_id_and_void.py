"""Which key signed each record, and why a stored record no longer counts (void).

Revision ID: 0004
Revises: 0003
"""

import logging

import sqlalchemy as sa
from alembic import op

from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.record_pb2 import Record

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

log = logging.getLogger("evalfed.migrations")
PROGRESS_STEPS = 10


def upgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("key_id", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("void_reason", sa.Text(), nullable=False, server_default=""))
    records = sa.table("records", sa.column("pos"), sa.column("envelope"), sa.column("key_id"))
    conn = op.get_bind()
    rows = conn.execute(sa.select(records.c.pos, records.c.envelope)).all()
    log.info("0004: recording which key signed each of %d stored records", len(rows))
    step = max(1, len(rows) // PROGRESS_STEPS)
    for done, (pos, data) in enumerate(rows, 1):
        envelope, record = Envelope(), Record()
        envelope.ParseFromString(data)
        record.ParseFromString(envelope.payload)
        conn.execute(records.update().where(records.c.pos == pos).values(key_id=record.key_id))
        if done % step == 0:
            log.info("0004: %d of %d records done", done, len(rows))


def downgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.drop_column("void_reason")
        batch.drop_column("key_id")
