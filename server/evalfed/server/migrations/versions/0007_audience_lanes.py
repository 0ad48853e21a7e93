"""One log per audience (lane): the lane column, uniqueness on (origin, lane, seq, id), and
log heads per (origin, lane).

A record's seq and prev now count within its lane, so a reader never sees a gap or a prev it
cannot follow where a record it may not see was published. Logs written before this version
that mixed audiences keep their old numbering, which now shows as gaps in each lane: such a
federation starts new logs (see README, "Audiences").

Revision ID: 0007
Revises: 0006
"""

import hashlib
import logging

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

log = logging.getLogger("evalfed.migrations")
PUBLIC, INSTITUTES = 2, 1
BACKFILL_ROWS = 10_000

records = sa.table(
    "records",
    sa.column("pos"),
    sa.column("id"),
    sa.column("origin"),
    sa.column("seq"),
    sa.column("lane"),
    sa.column("audience_scope"),
    sa.column("audience"),
    sa.column("embargo_until_us"),
)


def lane_of(origin: str, scope: int, audience: str, embargo_until_us: int | None) -> str:
    """As evalfed.core.records.lane_of, from the stored columns; copied so the migration
    stays as it was written."""
    if scope == PUBLIC:
        return "public"
    if scope != INSTITUTES:
        return ""
    names = ",".join(sorted({n for n in audience.split(",") if n} - {origin}))
    if embargo_until_us is not None:
        names += f"@{embargo_until_us}"
    return "to:" + hashlib.sha256(names.encode()).hexdigest()[:32]


def upgrade() -> None:
    op.add_column("records", sa.Column("lane", sa.Text(), nullable=False, server_default=""))
    _backfill()
    op.drop_index("ux_records_origin_seq_id", "records")
    op.create_index(
        "ux_records_origin_lane_seq_id", "records", ["origin", "lane", "seq", "id"], unique=True
    )
    op.drop_table("logs")
    logs = op.create_table(
        "logs",
        sa.Column("origin", sa.String(64), primary_key=True),
        sa.Column("lane", sa.Text(), primary_key=True, server_default=""),
        sa.Column("head_seq", sa.BigInteger(), nullable=False),
        sa.Column("head_id", sa.String(64), nullable=False),
        sa.Column("forked", sa.Boolean(), nullable=False, default=False),
    )
    _fill_heads(logs, (records.c.origin, records.c.lane))


def _backfill() -> None:
    conn = op.get_bind()
    update = (
        records.update().where(records.c.pos == sa.bindparam("at")).values(lane=sa.bindparam("l"))
    )
    after, done = 0, 0
    while True:
        rows = conn.execute(
            sa.select(
                records.c.pos,
                records.c.origin,
                records.c.audience_scope,
                records.c.audience,
                records.c.embargo_until_us,
            )
            .where(records.c.pos > after, records.c.audience_scope != 0)
            .order_by(records.c.pos)
            .limit(BACKFILL_ROWS)
        ).all()
        if not rows:
            break
        conn.execute(update, [{"at": r.pos, "l": lane_of(*r[1:])} for r in rows])
        after, done = rows[-1].pos, done + len(rows)
        log.info("0007: %d records given their lanes", done)


def _fill_heads(logs: sa.Table, key: tuple[sa.ColumnClause, ...]) -> None:
    """Each log's head (its highest seq, the least id there) and whether it holds a fork (two
    records at one seq of one lane)."""
    conn = op.get_bind()
    top = sa.select(*key, sa.func.max(records.c.seq).label("seq")).group_by(*key).subquery()
    heads = conn.execute(
        sa.select(*key, records.c.seq, sa.func.min(records.c.id))
        .join(top, sa.and_(records.c.seq == top.c.seq, *(k == top.c[k.name] for k in key)))
        .group_by(*key, records.c.seq)
    ).all()
    forked = {
        tuple(r)
        for r in conn.execute(
            sa.select(*key)
            .group_by(records.c.origin, records.c.lane, records.c.seq)
            .having(sa.func.count() > 1)
        )
    }
    names = [k.name for k in key]
    rows = []
    for *log_key, seq, head_id in heads:
        row = {**dict(zip(names, log_key, strict=True)), "head_seq": seq, "head_id": head_id}
        rows.append({**row, "forked": tuple(log_key) in forked})
    if rows:
        conn.execute(logs.insert(), rows)


def downgrade() -> None:
    op.drop_table("logs")
    logs = op.create_table(
        "logs",
        sa.Column("origin", sa.String(64), primary_key=True),
        sa.Column("head_seq", sa.BigInteger(), nullable=False),
        sa.Column("head_id", sa.String(64), nullable=False),
        sa.Column("forked", sa.Boolean(), nullable=False, default=False),
    )
    _fill_heads(logs, (records.c.origin,))
    op.drop_index("ux_records_origin_lane_seq_id", "records")
    op.create_index("ux_records_origin_seq_id", "records", ["origin", "seq", "id"], unique=True)
    with op.batch_alter_table("records") as batch:
        batch.drop_column("lane")
