"""The node's checker: batches checked in worker processes come back in order, each record
verified or with the reason it failed, and a change of membership reaches the workers."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool

import pytest

from evalfed.client import membership_events as events
from evalfed.core.checks import VerifiedRecord
from evalfed.core.membership import Membership
from evalfed.core.records import record_id
from evalfed.keys import PrivateKey
from evalfed.server.verifier import INLINE_MAX_RECORDS, Verifier
from evalfed.v1.record_pb2 import Record
from tests.conftest import Federation
from tests.membership import signed_event
from tests.results import result, signed_record

RECORDS = 200


@pytest.fixture
def verifier(federation: Federation) -> Iterator[Verifier]:
    checker = Verifier(Membership(federation.charter), "us-aisi")
    yield checker
    checker.close()


def us_log(federation: Federation, count: int) -> list[bytes]:
    datas, prev = [], ""
    for seq in range(1, count + 1):
        envelope = signed_record(federation, seq, prev)
        prev = record_id(envelope.payload)
        datas.append(envelope.SerializeToString())
    return datas


def flip(data: bytes, at: int) -> bytes:
    changed = bytearray(data)
    changed[at] ^= 0x01
    return bytes(changed)


def test_a_large_batch_comes_back_in_order_with_reasons(
    verifier: Verifier, federation: Federation
) -> None:
    datas = us_log(federation, RECORDS)
    datas[7] = flip(datas[7], len(datas[7]) - 5)  # inside the signature
    datas[150] = signed_record(federation, 1, "", origin="jp-aisi").SerializeToString()
    datas[199] = b"\x0a\xff not an envelope"
    assert len(datas) > INLINE_MAX_RECORDS
    checked = verifier.check(datas)
    failed = {i: c[1].split(":")[0] for i, c in enumerate(checked) if isinstance(c, tuple)}
    assert failed == {7: "signature", 150: "unknownsigner", 199: "invalidinput"}
    good = [c for c in checked if isinstance(c, VerifiedRecord)]
    assert [v.seq for v in good] == [s for s in range(1, 200) if s not in (8, 151)]
    assert all(v.envelope_bytes == datas[v.seq - 1] for v in good)
    assert all(v.body_digest for v in good)  # records of the node's own institute


def test_a_rotation_reaches_the_workers(verifier: Verifier, federation: Federation) -> None:
    """Records signed by a new key fail before the rotation is known and pass after."""
    new_key = PrivateKey.generate()
    fid, old = federation.charter.federation_id, federation.keys["uk-aisi"]
    rotation = signed_event(
        federation, events.rotation(fid, "uk-aisi", old.key_id, new_key), "uk-aisi", 1, "", old
    )
    later, prev = [], record_id(rotation.payload)
    for seq in range(2, RECORDS + 2):
        body = Record(result=result())
        envelope = signed_event(federation, body, "uk-aisi", seq, prev, new_key)
        prev = record_id(envelope.payload)
        later.append(envelope.SerializeToString())
    before = verifier.check(later)
    assert all(isinstance(c, tuple) and c[1].startswith("unknownsigner") for c in before)
    verifier.membership.update([rotation])
    after = verifier.check(later)
    assert all(isinstance(c, VerifiedRecord) for c in after)


def test_a_killed_worker_is_replaced(verifier: Verifier, federation: Federation) -> None:
    """A worker killed (say, by the OOM killer) fails the batch it held at most; the next
    batch is checked by new workers."""
    datas = us_log(federation, RECORDS)
    assert all(isinstance(c, VerifiedRecord) for c in verifier.check(datas))
    os.kill(next(iter(verifier.pool._processes)), signal.SIGKILL)
    with contextlib.suppress(BrokenProcessPool):
        verifier.check(datas)
    assert all(isinstance(c, VerifiedRecord) for c in verifier.check(datas))
