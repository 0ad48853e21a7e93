"""Each log's Merkle tree: per log its size and fork flag, its stored hashes (see
evalfed.core.tlog), and the latest checkpoint the node signed of its own logs. Empty here:
the node's indexer fills them from the stored records when it starts, in seq order up to
each log's gap-free seq.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

POS = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tlog_trees",
        sa.Column("id", POS, primary_key=True, autoincrement=True),
        sa.Column("origin", sa.String(64), nullable=False),
        sa.Column("lane", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("forked", sa.Boolean(), nullable=False),
    )
    op.create_index("ux_tlog_trees_log", "tlog_trees", ["origin", "lane"], unique=True)
    op.create_table(
        "tlog_hashes",
        sa.Column("tree", POS, primary_key=True),
        sa.Column("idx", sa.BigInteger(), primary_key=True),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "tlog_checkpoints",
        sa.Column("tree", POS, primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=False),
        sa.Column("signed_at_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tlog_checkpoints")
    op.drop_table("tlog_hashes")
    op.drop_index("ux_tlog_trees_log", "tlog_trees")
    op.drop_table("tlog_trees")
