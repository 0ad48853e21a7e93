"""Per log, the highest seq held with no gap before it (what sync cursors say), and per
partner, the (sealed) cursor of the fork evidence it delivered.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

logs = sa.table("logs", sa.column("origin"), sa.column("lane"), sa.column("complete_seq"))
records = sa.table("records", sa.column("origin"), sa.column("lane"), sa.column("seq"))


def upgrade() -> None:
    with op.batch_alter_table("logs") as batch:
        batch.add_column(
            sa.Column("complete_seq", sa.BigInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("peers") as batch:
        batch.add_column(sa.Column("forks_cursor", sa.LargeBinary(), nullable=True))
    conn = op.get_bind()
    for origin, lane in conn.execute(sa.select(logs.c.origin, logs.c.lane)).all():
        in_log = (records.c.origin == origin, records.c.lane == lane)
        held, top = conn.execute(
            sa.select(sa.func.count(sa.distinct(records.c.seq)), sa.func.max(records.c.seq)).where(
                *in_log
            )
        ).one()
        if held == top:  # no gap: the usual case, answered from the index
            complete = top or 0
        else:
            complete = 0
            seqs = sa.select(records.c.seq).where(*in_log).distinct().order_by(records.c.seq)
            for seq in conn.execute(seqs).scalars():
                if seq != complete + 1:
                    break
                complete = seq
        conn.execute(
            logs.update()
            .where(logs.c.origin == origin, logs.c.lane == lane)
            .values(complete_seq=complete)
        )


def downgrade() -> None:
    with op.batch_alter_table("peers") as batch:
        batch.drop_column("forks_cursor")
    with op.batch_alter_table("logs") as batch:
        batch.drop_column("complete_seq")
