"""Records, logs and peers.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

POS = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("pos", POS, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("origin", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("prev", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("task", sa.String(256), nullable=False),
        sa.Column("issued_at_us", sa.BigInteger(), nullable=False),
        sa.Column("audience_scope", sa.SmallInteger(), nullable=False),
        sa.Column("audience", sa.Text(), nullable=False),
        sa.Column("embargo_until_us", sa.BigInteger(), nullable=True),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("body_digest", sa.String(64), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("received_at_us", sa.BigInteger(), nullable=False),
        sa.Column("received_from", sa.String(256), nullable=False),
    )
    op.create_index("ix_records_origin_seq", "records", ["origin", "seq"])
    op.create_index("ix_records_model", "records", ["model", "pos"])
    op.create_index("ix_records_task", "records", ["task", "pos"])
    op.create_index("ix_records_origin_digest", "records", ["origin", "body_digest"])
    op.create_index("ix_records_target", "records", ["target"])
    op.create_table(
        "logs",
        sa.Column("origin", sa.String(64), primary_key=True),
        sa.Column("head_seq", sa.BigInteger(), nullable=False),
        sa.Column("head_id", sa.String(64), nullable=False),
        sa.Column("forked", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "peers",
        sa.Column("address", sa.String(256), primary_key=True),
        sa.Column("added_at_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("peers")
    op.drop_table("logs")
    op.drop_table("records")
