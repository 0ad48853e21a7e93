"""Join requests handed to this node, kept as pending until endorsements admit them.

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
    op.create_table(
        "join_requests",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("institute", sa.String(64), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("received_at_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("join_requests")
