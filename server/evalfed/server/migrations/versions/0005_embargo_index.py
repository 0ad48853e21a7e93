"""An index on embargo ends: following streams ask for the next one on every append.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_records_embargo", "records", ["embargo_until_us"])


def downgrade() -> None:
    op.drop_index("ix_records_embargo", "records")
