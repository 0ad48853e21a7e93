"""Each log's Merkle tree in the database: its hashes in tiles (evalfed.core.tlog_tiles), and
a `HashReader` that answers a tree hash or a proof with one query.

A tree covers its log's gap-free prefix only (seq 1 is leaf 0), and grows in seq order, in
its own transactions, after the records are stored (the indexer in
evalfed.server.tlog_indexer): storing a record does no tree work. Where a log holds two
records at one seq (a fork), the tree follows the first stored and the tree is flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, select, tuple_, update
from sqlalchemy.engine import Connection, Engine

from evalfed.core import tlog
from evalfed.core.errors import NotFoundError
from evalfed.core.records import LogKey
from evalfed.core.timeutil import now_us
from evalfed.core.tlog_tiles import TileHashReader, TileKey, grow_tiles, partial_tiles
from evalfed.server.storage.schema import logs, records, tlog_checkpoints, tlog_tiles, tlog_trees
from evalfed.server.storage.store import RecordStore, bulk_insert, log_params


@dataclass(frozen=True)
class Tree:
    """A log's tree as stored: `size` leaves (seqs 1..size)."""

    id: int
    size: int
    forked: bool


_IN_LOG = (
    tlog_trees.c.origin == bindparam("log_origin"),
    tlog_trees.c.lane == bindparam("log_lane"),
)
_TREE = select(tlog_trees.c.id, tlog_trees.c.size, tlog_trees.c.forked).where(*_IN_LOG)
_LOG = select(logs.c.complete_seq, logs.c.forked).where(
    logs.c.origin == bindparam("log_origin"), logs.c.lane == bindparam("log_lane")
)
_BEHIND = (
    select(logs.c.origin, logs.c.lane)
    .outerjoin(
        tlog_trees, (tlog_trees.c.origin == logs.c.origin) & (tlog_trees.c.lane == logs.c.lane)
    )
    .where(
        (logs.c.complete_seq > func.coalesce(tlog_trees.c.size, 0))
        | (logs.c.forked & ~func.coalesce(tlog_trees.c.forked, False))
    )
)
_PAGE = (
    select(records.c.pos, records.c.origin, records.c.lane)
    .where(records.c.pos > bindparam("after_pos"))
    .order_by(records.c.pos)
    .limit(bindparam("page"))
    .subquery()
)
_TOUCHED = select(_PAGE.c.origin, _PAGE.c.lane, func.max(_PAGE.c.pos).label("pos")).group_by(
    _PAGE.c.origin, _PAGE.c.lane
)
_LEAVES = (
    select(records.c.seq, records.c.id)
    .where(
        records.c.origin == bindparam("log_origin"),
        records.c.lane == bindparam("log_lane"),
        records.c.seq > bindparam("after_seq"),
        records.c.seq <= bindparam("upto_seq"),
    )
    .order_by(records.c.seq, records.c.pos)
)
_AT_TILES = (
    tlog_tiles.c.tree == bindparam("tree"),
    tuple_(tlog_tiles.c.level, tlog_tiles.c.n).in_(bindparam("tiles", expanding=True)),
)
_TILES = select(tlog_tiles.c.level, tlog_tiles.c.n, tlog_tiles.c.hashes).where(*_AT_TILES)
_DROP_TILES = delete(tlog_tiles).where(*_AT_TILES)
_TILE_COLUMNS = ("tree", "level", "n", "hashes")
_SET_TREE = (
    update(tlog_trees)
    .where(tlog_trees.c.id == bindparam("tree"))
    .values(size=bindparam("new_size"), forked=bindparam("new_forked"))
)


_CHECKPOINT = (
    select(tlog_checkpoints.c.size, tlog_checkpoints.c.note)
    .join(tlog_trees, tlog_trees.c.id == tlog_checkpoints.c.tree)
    .where(*_IN_LOG)
)
_UNSIGNED = (
    select(tlog_trees.c.origin, tlog_trees.c.lane)
    .outerjoin(tlog_checkpoints, tlog_checkpoints.c.tree == tlog_trees.c.id)
    .where(
        tlog_trees.c.origin == bindparam("institute"),
        tlog_trees.c.size > func.coalesce(tlog_checkpoints.c.size, 0),
    )
)


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    note: bytes


class DbTileReader:
    """The tiles of one tree, read in one query per call."""

    def __init__(self, engine: Engine, tree: int) -> None:
        self.engine = engine
        self.tree = tree

    def read_tiles(self, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
        with self.engine.connect() as conn:
            return read_tiles(conn, self.tree, keys)


class DbHashReader(TileHashReader):
    """The stored hashes of one tree, from its tiles, read in one query per call."""

    def __init__(self, engine: Engine, tree: int) -> None:
        super().__init__(DbTileReader(engine, tree))


def read_tiles(conn: Connection, tree: int, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
    """The tiles of `tree` at these keys that are stored, in one query."""
    if not keys:
        return {}
    rows = conn.execute(_TILES, {"tree": tree, "tiles": list(keys)})
    return {(int(level), int(n)): bytes(hashes) for level, n, hashes in rows}


class TlogStore:
    """Reads and grows the trees of the logs a RecordStore holds."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store
        self.engine = store.engine

    def tree(self, key: LogKey) -> Tree | None:
        with self.engine.connect() as conn:
            row = conn.execute(_TREE, log_params(key)).first()
        return None if row is None else Tree(int(row.id), int(row.size), bool(row.forked))

    def size(self, key: LogKey) -> int:
        tree = self.tree(key)
        return 0 if tree is None else tree.size

    def reader(self, key: LogKey) -> tuple[int, tlog.HashReader]:
        """The tree's size and a reader of its hashes; NotFoundError when it has none."""
        tree = self.tree(key)
        if tree is None or tree.size == 0:
            raise NotFoundError(f"no tree of {key[0]} lane {key[1]!r} yet")
        return tree.size, DbHashReader(self.engine, tree.id)

    def checkpoint(self, key: LogKey) -> StoredCheckpoint | None:
        """The latest checkpoint this node signed of the log."""
        with self.engine.connect() as conn:
            row = conn.execute(_CHECKPOINT, log_params(key)).first()
        return None if row is None else StoredCheckpoint(int(row.size), bytes(row.note))

    def keep_checkpoint(self, key: LogKey, size: int, note: bytes) -> None:
        """Keeps `note`, a checkpoint of the log's first `size` leaves, as its latest."""
        tree = self.tree(key)
        if tree is None:
            raise NotFoundError(f"no tree of {key[0]} lane {key[1]!r} to sign")
        values = {"size": size, "note": note, "signed_at_us": now_us()}
        with self.store.write_lock, self.engine.begin() as conn:
            done = conn.execute(
                update(tlog_checkpoints).where(tlog_checkpoints.c.tree == tree.id).values(values)
            )
            if done.rowcount == 0:
                conn.execute(tlog_checkpoints.insert().values(tree=tree.id, **values))

    def unsigned(self, institute: str) -> list[LogKey]:
        """The logs of `institute` whose tree is larger than their latest checkpoint."""
        with self.engine.connect() as conn:
            rows = conn.execute(_UNSIGNED, {"institute": institute}).all()
        return [(row.origin, row.lane) for row in rows]

    def logs_behind(self) -> list[LogKey]:
        """The logs whose tree lacks leaves of the gap-free prefix, or a fork's flag (what a
        catch-up at start extends)."""
        with self.engine.connect() as conn:
            rows = conn.execute(_BEHIND).all()
        return [(row.origin, row.lane) for row in rows]

    def touched_since(self, after_pos: int, page: int) -> tuple[set[LogKey], int]:
        """The logs of the next `page` records stored after `after_pos`, and the last pos read."""
        with self.engine.connect() as conn:
            rows = conn.execute(_TOUCHED, {"after_pos": after_pos, "page": page}).all()
        if not rows:
            return set(), after_pos
        return {(row.origin, row.lane) for row in rows}, max(int(row.pos) for row in rows)

    def extend(self, key: LogKey, page: int) -> tuple[int, int, bool]:
        """Appends up to `page` leaves to the log's tree, in seq order up to its gap-free seq,
        in one transaction; the old and new sizes, and whether more leaves are waiting."""
        params = log_params(key)
        with self.engine.connect() as conn:
            log_row = conn.execute(_LOG, params).first()
            tree_row = conn.execute(_TREE, params).first()
            if log_row is None:
                return 0, 0, False
            complete, forked = int(log_row.complete_seq), bool(log_row.forked)
            size = 0 if tree_row is None else int(tree_row.size)
            upto = min(complete, size + page)
            leaves: list[bytes] = []
            partial: dict[TileKey, bytes] = {}
            if upto > size and tree_row is not None:
                edges = [tile for tile, _ in partial_tiles(size)]
                partial = read_tiles(conn, int(tree_row.id), edges)
            if upto > size:
                next_seq = size + 1
                for seq, record_id in conn.execute(
                    _LEAVES, {**params, "after_seq": size, "upto_seq": upto}
                ).all():
                    if seq == next_seq:
                        leaves.append(tlog.leaf_hash(bytes.fromhex(record_id)))  # a stored id
                        next_seq += 1
                    elif seq != next_seq - 1:
                        break  # a gap below the gap-free seq cannot be; stop at it anyway
        if tree_row is not None and not leaves and forked == bool(tree_row.forked):
            return size, size, False
        tiles = grow_tiles(size, partial, leaves)
        new_size = size + len(leaves)
        with self.store.write_lock, self.engine.begin() as conn:
            if tree_row is None:
                tree = conn.execute(
                    tlog_trees.insert()
                    .values(origin=key[0], lane=key[1], size=new_size, forked=forked)
                    .returning(tlog_trees.c.id)
                ).scalar_one()
            else:
                tree = int(tree_row.id)
                conn.execute(_SET_TREE, {"tree": tree, "new_size": new_size, "new_forked": forked})
            rewritten = [tile for tile in partial if tile in tiles]
            if rewritten:
                conn.execute(_DROP_TILES, {"tree": tree, "tiles": rewritten})
            if tiles:
                rows = [(tree, level, n, hashes) for (level, n), hashes in tiles.items()]
                bulk_insert(conn, tlog_tiles.name, _TILE_COLUMNS, rows)
        return size, new_size, new_size < complete
