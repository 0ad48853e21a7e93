"""Each log's Merkle tree in the database: its stored hashes (evalfed.core.tlog's layout), and
a `HashReader` that answers a tree hash or a proof with one query.

A tree covers its log's gap-free prefix only (seq 1 is leaf 0), and grows in seq order, in
its own transactions, after the records are stored (the indexer in
evalfed.server.tlog_indexer): storing a record does no tree work. Where a log holds two
records at one seq (a fork), the tree follows the first stored and the tree is flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection, Engine

from evalfed.core import tlog
from evalfed.core.errors import NotFoundError
from evalfed.core.records import LogKey
from evalfed.core.timeutil import now_us
from evalfed.server.storage.schema import logs, records, tlog_checkpoints, tlog_hashes, tlog_trees
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
_TOUCHED = (
    select(records.c.pos, records.c.origin, records.c.lane)
    .where(records.c.pos > bindparam("after_pos"))
    .order_by(records.c.pos)
    .limit(bindparam("page"))
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
_HASHES = select(tlog_hashes.c.idx, tlog_hashes.c.hash).where(
    tlog_hashes.c.tree == bindparam("tree"),
    tlog_hashes.c.idx.in_(bindparam("indexes", expanding=True)),
)
_HASH_COLUMNS = ("tree", "idx", "hash")
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


class DbHashReader:
    """The stored hashes of one tree, read in one query per call."""

    def __init__(self, engine: Engine, tree: int) -> None:
        self.engine = engine
        self.tree = tree

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        with self.engine.connect() as conn:
            return read_stored(conn, self.tree, indexes)


def read_stored(conn: Connection, tree: int, indexes: Sequence[int]) -> list[bytes]:
    """The stored hashes of `tree` at these indexes, in their order, in one query."""
    if not indexes:
        return []
    rows = conn.execute(_HASHES, {"tree": tree, "indexes": sorted(set(indexes))})
    got = {int(idx): bytes(value) for idx, value in rows}
    missing = [index for index in indexes if index not in got]
    if missing:
        raise NotFoundError(f"no stored hash at index {missing[0]} of tree {tree}")
    return [got[index] for index in indexes]


class _Pending:
    """Hashes about to be stored, over the tree's frontier read once: what the appends of a
    batch read (`tlog.stored_hashes_for_leaf` reads only frontier hashes)."""

    def __init__(self, frontier: dict[int, bytes]) -> None:
        self.hashes = frontier

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        return [self.hashes[index] for index in indexes]


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
        return {(row.origin, row.lane) for row in rows}, int(rows[-1].pos)

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
            leaves: list[str] = []
            known: dict[int, bytes] = {}
            if upto > size and tree_row is not None:
                frontier = tlog.frontier_indexes(size)
                stored = read_stored(conn, int(tree_row.id), frontier)
                known = dict(zip(frontier, stored, strict=True))
            if upto > size:
                next_seq = size + 1
                for seq, record_id in conn.execute(
                    _LEAVES, {**params, "after_seq": size, "upto_seq": upto}
                ):
                    if seq == next_seq:
                        leaves.append(record_id)
                        next_seq += 1
                    elif seq != next_seq - 1:
                        break  # a gap below the gap-free seq cannot be; stop at it anyway
        if tree_row is not None and not leaves and forked == bool(tree_row.forked):
            return size, size, False
        pending = _Pending(known)
        rows: list[tuple[int, bytes]] = []
        count = tlog.stored_hash_count(size)
        for n, record_id in enumerate(leaves, start=size):
            for offset, value in enumerate(
                tlog.stored_hashes_for_leaf(n, tlog.record_leaf_hash(record_id), pending)
            ):
                pending.hashes[count + offset] = value
                rows.append((count + offset, value))
            count = tlog.stored_hash_count(n + 1)
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
            if rows:
                bulk_insert(conn, tlog_hashes.name, _HASH_COLUMNS, [(tree, *row) for row in rows])
        return size, new_size, new_size < complete
