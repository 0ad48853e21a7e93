"""Storing a batch, published or from a partner: its database round trips do not grow with it."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from evalfed.core.checks import VerifiedRecord, check_envelope
from evalfed.core.membership import Membership
from evalfed.core.records import record_id
from evalfed.server.storage.store import RecordStore
from evalfed.server.storage.sync_store import SyncStore
from tests.conftest import Federation, statements_run
from tests.results import signed_record


def _chain(federation: Federation, count: int) -> list[VerifiedRecord]:
    membership = Membership(federation.charter)
    out, prev = [], ""
    for seq in range(1, count + 1):
        envelope = signed_record(federation, seq, prev)
        prev = record_id(envelope.payload)
        out.append(check_envelope(envelope, membership))
    return out


@pytest.mark.parametrize("path", ["publish", "sync"])
def test_a_batch_costs_the_same_statements_whatever_its_size(
    path: str, federation: Federation, engine: Engine
) -> None:
    """Publishing and catching up store batches of hundreds of records: one query per record
    (say, reading a log's head for each) would multiply their cost, so a batch of 300 must
    take no more statements than a batch of 3."""
    store = RecordStore(engine)
    sync = SyncStore(store, own_institute="uk-aisi")

    def append(batch: list[VerifiedRecord]) -> int:
        if path == "publish":
            return len(store.append_own(batch, received_from="us-aisi"))
        result = sync.append_synced(batch, "partner", 0)
        assert not result.rejected
        return result.new

    chain = _chain(federation, 306)
    append(chain[:3])  # the first batch also starts the log
    with statements_run(engine) as small:
        append(chain[3:6])
    with statements_run(engine) as large:
        assert append(chain[6:]) == 300
    assert len(large) == len(small), large
