"""A stored record reads back exactly as it was given, on SQLite and on PostgreSQL (where
rows go in through COPY, whose text format escapes tabs, newlines and backslashes)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from evalfed.core.checks import VerifiedRecord, check_envelope
from evalfed.core.membership import Membership
from evalfed.core.records import audience_from_text, record_id, sign_record
from evalfed.core.timeutil import now_us, timestamp_of_us
from evalfed.server.storage.store import RecordStore, Viewer
from evalfed.server.storage.sync_store import SyncStore
from evalfed.v1.record_pb2 import Record
from tests.conftest import Federation
from tests.results import result

AWKWARD_NAMES = ["tab\there", "new\nline", "back\\slash", r"\N", "carriage\rreturn", "é ü 模型", ""]


def _records(federation: Federation) -> list[VerifiedRecord]:
    membership, out, prev = Membership(federation.charter), [], ""
    key = federation.keys["us-aisi"]
    for seq, name in enumerate(AWKWARD_NAMES, start=1):
        record = Record(
            federation_id=federation.charter.federation_id,
            origin="us-aisi",
            seq=seq,
            prev=prev,
            key_id=key.key_id,
            result=result(model=f"lab/{name}", task=f"task {name}"),
            audience=audience_from_text(""),
        )
        record.issued_at.CopyFrom(timestamp_of_us(now_us()))
        envelope = sign_record(record, key)
        prev = record_id(envelope.payload)
        out.append(check_envelope(envelope, membership))
    return out


@pytest.mark.parametrize("path", ["publish", "sync"])
def test_rows_read_back_as_given(path: str, federation: Federation, engine: Engine) -> None:
    store = RecordStore(engine)
    batch = _records(federation)
    if path == "publish":
        store.append_own(batch, received_from="publish")
    else:
        assert SyncStore(store, own_institute="uk-aisi").append_synced(batch, "a\tpeer", 0).new
    for verified in batch:
        row = store.get(verified.id, Viewer("us-aisi"))
        assert row is not None
        assert (row.model, row.task) == (verified.facts.model, verified.facts.task)
        assert bytes(row.envelope) == verified.envelope_bytes
        assert (row.seq, row.lane, row.embargo_until_us) == (
            verified.seq,
            verified.facts.lane,
            None,
        )
        assert row.received_from == ("publish" if path == "publish" else "a\tpeer")
