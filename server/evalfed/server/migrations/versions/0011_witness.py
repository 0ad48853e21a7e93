"""Witnessing: per log the largest checkpoint held (own or gossiped), the last one this node
cosigned, and split-view evidence. Empty here: filled by sync and cosigning.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

POS = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "witness_checkpoints",
        sa.Column("origin", sa.String(64), primary_key=True),
        sa.Column("lane", sa.Text(), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("received_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_witness_checkpoints_version", "witness_checkpoints", ["version"])
    op.create_table(
        "witness_cosigned",
        sa.Column("origin", sa.String(64), primary_key=True),
        sa.Column("lane", sa.Text(), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=False),
        sa.Column("cosigned_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "witness_split_views",
        sa.Column("id", POS, primary_key=True, autoincrement=True),
        sa.Column("origin", sa.String(64), nullable=False),
        sa.Column("lane", sa.Text(), nullable=False),
        sa.Column("pair", sa.String(64), nullable=False),
        sa.Column("evidence", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("found_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ux_witness_split_views_pair", "witness_split_views", ["pair"], unique=True)
    op.create_index("ix_witness_split_views_log", "witness_split_views", ["origin", "lane"])
    op.create_index("ix_witness_split_views_version", "witness_split_views", ["version"])


def downgrade() -> None:
    op.drop_table("witness_split_views")
    op.drop_table("witness_cosigned")
    op.drop_table("witness_checkpoints")
