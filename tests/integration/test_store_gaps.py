"""Each log's gap-free seq, kept with every stored batch and rebuilt by migration 0009: what
cursors say, what status shows missing, and how far a partner's claim is ahead."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy.engine import Engine

from evalfed.server.storage.engine import migrate
from evalfed.server.storage.store import RecordStore, Viewer
from evalfed.server.storage.sync_store import Have, SyncStore
from tests.conftest import Federation
from tests.integration.test_migration_crash import alembic_config
from tests.results import verified_log


@pytest.fixture
def stores(engine: Engine) -> tuple[RecordStore, SyncStore]:
    store = RecordStore(engine)
    return store, SyncStore(store, "uk-aisi")


def test_gap_free_seq_follows_each_batch_and_names_what_is_missing(
    stores: tuple[RecordStore, SyncStore], federation: Federation
) -> None:
    store, sync = stores
    log = verified_log(federation, 8)
    key = ("us-aisi", "")
    sync.append_synced([log[i] for i in (0, 1, 3, 4, 6)], "relay", 0)
    assert (store.head("us-aisi").seq, store.head("us-aisi").complete) == (7, 2)
    (gap,) = store.gaps()
    assert (gap.complete, gap.head, gap.missing, gap.missing_ranges) == (2, 7, 2, [(3, 3), (6, 6)])
    assert sync.cursors(Viewer("ca-aisi"))[key] == Have(2, log[1].id, ((4, 5), (7, 7)))
    assert Have(2, log[1].id, ((4, 5), (7, 7))).wanted()[:2] == [(2, 3), (5, 6)]
    assert sync.lags({"relay": {key: 8}}) == {"relay": 3}

    sync.append_synced([log[2]], "honest", 0)  # fills 3; 4 and 5 were held already
    assert store.head("us-aisi").complete == 5
    sync.append_synced([log[5], log[7]], "honest", 0)
    assert (store.head("us-aisi").seq, store.head("us-aisi").complete) == (8, 8)
    assert store.gaps() == [] and store.missing_records() == 0
    assert sync.cursors(Viewer("ca-aisi"))[key] == Have(8, log[7].id, ())


def test_migration_rebuilds_the_gap_free_seq_of_stored_logs(
    engine: Engine, stores: tuple[RecordStore, SyncStore], federation: Federation
) -> None:
    store, sync = stores
    log = verified_log(federation, 6)
    sync.append_synced([log[i] for i in (0, 1, 2, 4, 5)], "relay", 0)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0008")
    migrate(engine)
    assert (store.head("us-aisi").seq, store.head("us-aisi").complete) == (6, 3)
    assert store.missing_records() == 1
