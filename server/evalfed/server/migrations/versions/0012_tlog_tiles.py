"""Each log's tree in tiles of up to 256 hashes (evalfed.core.tlog_tiles, C2SP tlog-tiles)
instead of one row per stored hash: about n/256 rows for n leaves instead of 2n. Upgrading
converts every tree from its stored leaf hashes; downgrading writes the stored hashes back.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

from evalfed.core import tlog, tlog_tiles

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

POS = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PAGE = 65_536
"""Leaves converted per statement."""

trees = sa.table("tlog_trees", sa.column("id"), sa.column("size"))
hashes = sa.table("tlog_hashes", sa.column("tree"), sa.column("idx"), sa.column("hash"))
tiles = sa.table(
    "tlog_tiles", sa.column("tree"), sa.column("level"), sa.column("n"), sa.column("hashes")
)


def upgrade() -> None:
    op.create_table(
        "tlog_tiles",
        sa.Column("tree", POS, primary_key=True),
        sa.Column("level", sa.SmallInteger(), primary_key=True),
        sa.Column("n", sa.BigInteger(), primary_key=True),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
    )
    conn = op.get_bind()
    for tree, size in conn.execute(sa.select(trees.c.id, trees.c.size)).all():
        grown: dict[tlog_tiles.TileKey, bytes] = {}
        done = 0
        for leaves in _leaf_pages(conn, tree, size):
            partial = {key: grown[key] for key, _ in tlog_tiles.partial_tiles(done)}
            grown.update(tlog_tiles.grow_tiles(done, partial, leaves))
            done += len(leaves)
        rows = [{"tree": tree, "level": lv, "n": n, "hashes": h} for (lv, n), h in grown.items()]
        for at in range(0, len(rows), 1000):
            conn.execute(tiles.insert(), rows[at : at + 1000])
    op.drop_table("tlog_hashes")


def _leaf_pages(conn: sa.Connection, tree: int, size: int) -> Iterator[list[bytes]]:
    """The tree's leaf hashes, PAGE at a time: the stored hashes at level 0."""
    for first in range(0, size, PAGE):
        wanted = [tlog.stored_hash_index(0, i) for i in range(first, min(size, first + PAGE))]
        query = sa.select(hashes.c.idx, hashes.c.hash).where(
            hashes.c.tree == tree, hashes.c.idx.between(wanted[0], wanted[-1])
        )
        got = {int(idx): bytes(value) for idx, value in conn.execute(query)}
        if any(index not in got for index in wanted):
            raise RuntimeError(f"tree {tree} lacks leaf hashes below its size {size}")
        yield [got[index] for index in wanted]


def downgrade() -> None:
    op.create_table(
        "tlog_hashes",
        sa.Column("tree", POS, primary_key=True),
        sa.Column("idx", sa.BigInteger(), primary_key=True),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    conn = op.get_bind()
    for tree, size in conn.execute(sa.select(trees.c.id, trees.c.size)).all():
        level0 = sa.select(tiles.c.hashes).where(tiles.c.tree == tree, tiles.c.level == 0)
        row = b"".join(bytes(h) for h in conn.execute(level0.order_by(tiles.c.n)).scalars())
        store = tlog.MemoryHashStore()
        for i in range(size):
            store.append(row[i * tlog.HASH_SIZE : (i + 1) * tlog.HASH_SIZE])
        values = [{"tree": tree, "idx": i, "hash": h} for i, h in enumerate(store.hashes)]
        for at in range(0, len(values), 10_000):
            conn.execute(hashes.insert(), values[at : at + 10_000])
    op.drop_table("tlog_tiles")
