"""Record ids and body digests indexed by 64-bit keys; uniqueness on (origin, seq, id).

Ids and digests are hashes, so every insert lands on a random page of their indexes and each
commit rewrites those pages. Indexing the first 8 bytes as an integer makes those indexes a
quarter of the size (they stay in the page cache); lookups compare the full value as well.
An id hashes its origin and seq, so (origin, seq, id) is as unique as the id alone, and that
index grows at the end of each origin's log.

Revision ID: 0006
Revises: 0005
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

log = logging.getLogger("evalfed.migrations")
BACKFILL_ROWS = 10_000


def hash_key(hex_text: str) -> int:
    """The first 8 bytes of a hex hash as a signed 64-bit integer (0 for none); the same as
    evalfed.server.storage.store.hash_key, copied so the migration stays as it was written."""
    if not hex_text:
        return 0
    return int.from_bytes(bytes.fromhex(hex_text[:16]), "big", signed=True)


def upgrade() -> None:
    # SQLite cannot drop a constraint in place: batch mode copies the table, leaving out the
    # UNIQUE(id) constraint, which the naming convention names when 0001 left it unnamed.
    (unique_id,) = [
        c["name"] or "uq_records_id"
        for c in sa.inspect(op.get_bind()).get_unique_constraints("records")
        if c["column_names"] == ["id"]
    ]
    with op.batch_alter_table(
        "records", naming_convention={"uq": "uq_%(table_name)s_%(column_0_name)s"}
    ) as batch:
        batch.add_column(sa.Column("id_key", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("digest_key", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.drop_constraint(unique_id, type_="unique")
    _backfill()
    op.drop_index("ix_records_origin_seq", "records")
    op.drop_index("ix_records_origin_digest", "records")
    op.create_index("ux_records_origin_seq_id", "records", ["origin", "seq", "id"], unique=True)
    op.create_index("ix_records_id_key", "records", ["id_key"])
    op.create_index("ix_records_origin_digest_key", "records", ["origin", "digest_key"])


def _backfill() -> None:
    records = sa.table(
        "records",
        sa.column("pos"),
        sa.column("id"),
        sa.column("body_digest"),
        sa.column("id_key"),
        sa.column("digest_key"),
    )
    conn = op.get_bind()
    total = conn.execute(sa.select(sa.func.count()).select_from(records)).scalar() or 0
    update = (
        records.update()
        .where(records.c.pos == sa.bindparam("at"))
        .values(id_key=sa.bindparam("k"), digest_key=sa.bindparam("d"))
    )
    after, done = 0, 0
    while True:
        rows = conn.execute(
            sa.select(records.c.pos, records.c.id, records.c.body_digest)
            .where(records.c.pos > after)
            .order_by(records.c.pos)
            .limit(BACKFILL_ROWS)
        ).all()
        if not rows:
            break
        conn.execute(update, [{"at": p, "k": hash_key(i), "d": hash_key(d)} for p, i, d in rows])
        after, done = rows[-1].pos, done + len(rows)
        log.info("0006: %d of %d records keyed", done, total)


def downgrade() -> None:
    op.drop_index("ix_records_origin_digest_key", "records")
    op.drop_index("ix_records_id_key", "records")
    op.drop_index("ux_records_origin_seq_id", "records")
    op.create_index("ix_records_origin_digest", "records", ["origin", "body_digest"])
    op.create_index("ix_records_origin_seq", "records", ["origin", "seq"])
    with op.batch_alter_table("records") as batch:
        batch.drop_column("digest_key")
        batch.drop_column("id_key")
        batch.create_unique_constraint("records_id_key", ["id"])
