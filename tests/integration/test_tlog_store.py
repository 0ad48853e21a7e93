"""Each log's Merkle tree in the database, grown by the node's indexer behind the records:
caught up at start, following appends up to the gap-free seq, following the first stored
record of a fork, and answering proofs that the pure checks accept."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.core import tlog
from evalfed.core.checks import check_envelope
from evalfed.core.limits import TLOG_BURST
from evalfed.core.membership import Membership
from evalfed.core.records import audience_from_text
from evalfed.keys import PrivateKey
from evalfed.server.checkpoints import CheckpointSigner
from evalfed.server.storage import tlog_store
from evalfed.server.storage.store import RecordStore
from evalfed.server.storage.sync_store import SyncStore
from evalfed.server.storage.tlog_store import TlogStore
from evalfed.server.tlog_indexer import TlogIndexer
from tests.conftest import Federation
from tests.results import result, signed_record, verified_log

WAIT_S = 30.0
KEY = ("us-aisi", "")


def _check_tree(indexer: TlogIndexer, ids: list[str]) -> None:
    """The stored tree is the RFC 6962 tree of these ids, and its proofs verify."""
    size, reader = indexer.trees.reader(KEY)
    assert size == len(ids)
    leaves = [tlog.record_leaf_hash(i) for i in ids]
    root = tlog.tree_hash(size, reader)
    assert root == tlog.root_of(leaves)
    for index in (0, size // 2, size - 1):
        proof = tlog.inclusion_proof(index, size, reader)
        tlog.verify_inclusion(leaves[index], index, size, proof, root)
    for old in range(1, size):
        proof = tlog.consistency_proof(old, size, reader)
        tlog.verify_consistency(old, size, proof, tlog.root_of(leaves[:old]), root)


def _signed_size(trees: TlogStore) -> int:
    checkpoint = trees.checkpoint(KEY)
    return 0 if checkpoint is None else checkpoint.size


@pytest.fixture
def stores(engine: Engine) -> tuple[RecordStore, SyncStore]:
    store = RecordStore(engine)
    return store, SyncStore(store, "uk-aisi")


@pytest.fixture
def indexer(stores: tuple[RecordStore, SyncStore]) -> Iterator[TlogIndexer]:
    indexer = TlogIndexer(stores[0], page=2, settle_s=0.05)  # small pages: a catch-up takes several
    yield indexer
    indexer.stop()


def test_tree_catches_up_at_start_then_follows_the_gap_free_seq(
    stores: tuple[RecordStore, SyncStore], indexer: TlogIndexer, federation: Federation
) -> None:
    _, sync = stores
    log = verified_log(federation, 7)
    sync.append_synced([log[i] for i in (0, 1, 2, 4)], "relay", 0)  # stored before it runs
    indexer.start()
    assert indexer.wait_for_size(KEY, 3, WAIT_S)
    _check_tree(indexer, [r.id for r in log[:3]])

    sync.append_synced([log[6]], "relay", 0)  # beyond the gap: no leaf yet
    sync.append_synced([log[3], log[5]], "honest", 0)  # fills the gap up to 7
    assert indexer.wait_for_size(KEY, 7, WAIT_S)
    _check_tree(indexer, [r.id for r in log])
    assert indexer.trees.tree(KEY) == tlog_store.Tree(1, 7, forked=False)


def test_tree_of_a_forked_log_follows_the_first_stored_record_and_is_flagged(
    stores: tuple[RecordStore, SyncStore], indexer: TlogIndexer, federation: Federation
) -> None:
    _, sync = stores
    log = verified_log(federation, 3)
    rival = check_envelope(
        signed_record(federation, 2, log[0].id, value=0.77), Membership(federation.charter)
    )
    indexer.start()
    sync.append_synced(log[:2], "honest", 0)
    assert indexer.wait_for_size(KEY, 2, WAIT_S)
    sync.append_synced([rival], "evil", 0)
    sync.append_synced([log[2]], "honest", 0)
    assert indexer.wait_for_size(KEY, 3, WAIT_S)
    _check_tree(indexer, [r.id for r in log])
    assert indexer.trees.tree(KEY) == tlog_store.Tree(1, 3, forked=True)


def test_a_node_keeps_the_tree_of_each_lane_it_publishes(make_node, federation: Federation) -> None:
    node = make_node("us-aisi", log_trees=True)
    members, public = audience_from_text(""), audience_from_text("public")
    with NodeClient(node.address, federation.keys["us-aisi"]) as client:
        first = publish_records(
            client, [new_result_record(result(value=v / 10), members) for v in range(5)]
        )
        lone = publish_records(client, [new_result_record(result(value=0.9), public)])
        more = publish_records(
            client, [new_result_record(result(value=v / 10 + 0.05), members) for v in range(3)]
        )
    assert node.indexer.wait_for_size(KEY, 8, WAIT_S)
    _check_tree(node.indexer, [o.id for o in first + more])
    assert node.indexer.wait_for_size(("us-aisi", "public"), 1, WAIT_S)
    size, reader = node.indexer.trees.reader(("us-aisi", "public"))
    assert tlog.tree_hash(size, reader) == tlog.record_leaf_hash(lone[0].id)


def test_checkpoints_of_a_growing_log_are_signed_once_per_interval(
    stores: tuple[RecordStore, SyncStore], federation: Federation
) -> None:
    """CHECKPOINT_MIN_INTERVAL_S: growth within the interval waits for its end, then one
    checkpoint covers all of it; another institute's logs get none."""
    store, sync = stores
    trees, now = TlogStore(store), [100.0]
    signer = CheckpointSigner(
        trees, "us-aisi", federation.charter.federation_id, PrivateKey.generate(), 1.0,
        lambda: now[0],
    )  # fmt: skip
    log = verified_log(federation, 3)
    sync.append_synced(log[:1], "honest", 0)
    trees.extend(KEY, 10)
    signer.grown(KEY)
    signer.grown(("uk-aisi", ""))
    assert signer.sign_due() == 1 and _signed_size(trees) == 1
    sync.append_synced(log[1:], "honest", 0)
    trees.extend(KEY, 10)
    signer.grown(KEY)
    now[0] += 0.5
    assert signer.sign_due() == 0 and signer.wait_s(60.0) == 0.5
    now[0] += 0.5
    assert signer.sign_due() == 1 and _signed_size(trees) == 3


def test_tree_grows_after_a_burst_of_records_to_all_of_them(
    stores: tuple[RecordStore, SyncStore], federation: Federation
) -> None:
    _, sync = stores
    log = verified_log(federation, TLOG_BURST + 5)
    indexer = TlogIndexer(stores[0])
    indexer.start()
    try:
        sync.append_synced(log[:TLOG_BURST], "relay", 0)  # a burst: the indexer waits for its end
        sync.append_synced(log[TLOG_BURST:], "relay", 0)
        assert indexer.wait_for_size(KEY, len(log), WAIT_S)
        size, reader = indexer.trees.reader(KEY)
        leaves = [tlog.record_leaf_hash(r.id) for r in log]
        root = tlog.tree_hash(size, reader)
        assert (size, root) == (len(log), tlog.root_of(leaves))
        for index in (0, TLOG_BURST - 1, size - 1):
            proof = tlog.inclusion_proof(index, size, reader)
            tlog.verify_inclusion(leaves[index], index, size, proof, root)
    finally:
        indexer.stop()


def test_records_that_trickle_in_are_indexed_together_after_the_settle_time(
    stores: tuple[RecordStore, SyncStore], federation: Federation
) -> None:
    """Each record of a trickle is stored and forwarded at once; the tree grows by all of them
    in one step, TLOG_SETTLE_S after the first (here 1 s), not once per record. The trickle
    starts once the indexer has caught up with what it found at start (one record): records
    stored while its thread starts are part of that catch-up, which does not settle."""
    _, sync = stores
    log = verified_log(federation, 5)
    indexer = TlogIndexer(stores[0], settle_s=1.0)
    sync.append_synced(log[:1], "relay", 0)
    sizes: list[int] = []

    def grown_to_all() -> bool:
        sizes.append(indexer.trees.size(KEY))
        return sizes[-1] == len(log)

    indexer.start()
    try:
        assert indexer.wait_for_size(KEY, 1, WAIT_S)
        for record in log[1:]:
            sync.append_synced([record], "relay", 0)
        assert indexer.wait_until(grown_to_all, WAIT_S)
        assert set(sizes) == {1, len(log)}
    finally:
        indexer.stop()


def test_a_burst_whose_commits_come_seconds_apart_is_indexed_after_its_end(
    stores: tuple[RecordStore, SyncStore], federation: Federation
) -> None:
    """A catch-up commits up to 20,000 records at once, seconds apart on a busy machine: once
    the indexer has seen such a gap it waits twice that long for the next commit, so the
    tree grows once after the burst, not between its commits (here settle 0.1 s, commits of
    TLOG_BURST records 0.3 s apart: spacing them is the input under test)."""
    _, sync = stores
    log = verified_log(federation, 4 * TLOG_BURST)
    indexer = TlogIndexer(stores[0], page=len(log), settle_s=0.1)
    sizes: list[int] = []

    def grown_to_all() -> bool:
        sizes.append(indexer.trees.size(KEY))
        return sizes[-1] == len(log)

    spacing = threading.Event()
    indexer.start()
    try:
        for at in range(0, len(log), TLOG_BURST):
            if at:
                spacing.wait(0.3)
            sync.append_synced(log[at : at + TLOG_BURST], "relay", 0)
        assert indexer.wait_until(grown_to_all, WAIT_S)
        assert set(sizes) <= {0, TLOG_BURST, len(log)}
    finally:
        indexer.stop()


def test_touched_since_names_the_logs_of_a_page_of_records_and_its_last_pos(
    stores: tuple[RecordStore, SyncStore], federation: Federation
) -> None:
    store, sync = stores
    membership = Membership(federation.charter)
    us = verified_log(federation, 3)
    uk = [check_envelope(signed_record(federation, 1, "", origin="uk-aisi"), membership)]
    sync.append_synced(us[:2], "relay", 0)
    sync.append_synced(uk, "relay", 0)
    sync.append_synced(us[2:], "relay", 0)
    trees, last = TlogStore(store), store.max_pos()
    assert trees.touched_since(0, 10) == ({KEY, ("uk-aisi", "")}, last)
    assert trees.touched_since(0, 2) == ({KEY}, last - 2)
    assert trees.touched_since(last, 10) == (set(), last)
