"""Migration 0012 moves each tree from one row per stored hash (0010) into tiles: a database
taken back to 0011 holds exactly the 0010 layout of its trees, and migrated again serves the
same roots and proofs, and its trees keep growing."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from evalfed.core import tlog
from evalfed.core.tlog_tiles import TILE_WIDTH
from evalfed.server.storage.store import RecordStore
from evalfed.server.storage.sync_store import SyncStore
from evalfed.server.storage.tlog_store import TlogStore
from tests.conftest import Federation
from tests.integration.test_migration_crash import alembic_config
from tests.results import verified_log

KEY = ("us-aisi", "")


def test_trees_are_converted_to_tiles_and_back(engine: Engine, federation: Federation) -> None:
    log = verified_log(federation, 2 * TILE_WIDTH + 30)
    store = RecordStore(engine)
    sync, trees = SyncStore(store, "uk-aisi"), TlogStore(store)
    sync.append_synced(log[:-10], "relay", 0)
    while trees.extend(KEY, 100)[2]:
        pass
    size = len(log) - 10
    leaves = [tlog.record_leaf_hash(r.id) for r in log]
    old = tlog.MemoryHashStore()
    for leaf in leaves[:size]:
        old.append(leaf)

    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0011")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT idx, hash FROM tlog_hashes ORDER BY idx")).all()
    assert [bytes(h) for _, h in rows] == old.hashes
    assert [i for i, _ in rows] == list(range(tlog.stored_hash_count(size)))

    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    assert "tlog_hashes" not in sa.inspect(engine).get_table_names()
    got, reader = trees.reader(KEY)
    assert got == size
    root = tlog.tree_hash(size, reader)
    assert root == tlog.root_of(leaves[:size])
    for index in (0, TILE_WIDTH, size - 1):
        proof = tlog.inclusion_proof(index, size, reader)
        tlog.verify_inclusion(leaves[index], index, size, proof, root)

    sync.append_synced(log[-10:], "relay", 0)
    assert trees.extend(KEY, 100) == (size, len(log), False)
    _, reader = trees.reader(KEY)
    assert tlog.tree_hash(len(log), reader) == tlog.root_of(leaves)
    proof = tlog.consistency_proof(size, len(log), reader)
    tlog.verify_consistency(size, len(log), proof, root, tlog.root_of(leaves))
