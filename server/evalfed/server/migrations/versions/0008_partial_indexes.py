"""Index only the rows a lookup can find: digests of one's own results, corrections' and
retractions' targets, embargo ends.

Most stored records are partners' results, with no digest key, no target and no embargo; each
of these three indexes still took an entry per record, which every catch-up paid for on every
insert (about 3 µs per record in a table of 300,000).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

PARTIAL = (
    ("ix_records_origin_digest_key", ["origin", "digest_key"], sa.text("digest_key != 0")),
    ("ix_records_target", ["target"], sa.text("target != ''")),
    ("ix_records_embargo", ["embargo_until_us"], sa.text("embargo_until_us IS NOT NULL")),
)
"""Each index, its columns, and the rows it holds (evalfed.server.storage.schema's HAS_*)."""


def upgrade() -> None:
    for name, columns, where in PARTIAL:
        op.drop_index(name, "records")
        op.create_index(name, "records", columns, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for name, columns, _ in PARTIAL:
        op.drop_index(name, "records")
        op.create_index(name, "records", columns)
