"""Partners that drop, stall or crawl, and a healed partition: every node ends with exactly
the expected records, and one bad partner never holds up another."""

from __future__ import annotations

import pytest

from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.core.checks import decode_envelope
from evalfed.core.records import audience_from_text, record_id
from tests.conftest import Federation, wait_for
from tests.partners import FaultyPartner
from tests.results import result, signed_record


def us_log(federation: Federation, count: int) -> list[bytes]:
    envelopes, prev = [], ""
    for seq in range(1, count + 1):
        envelope = signed_record(federation, seq, prev, value=seq / count)
        prev = record_id(envelope.payload)
        envelopes.append(envelope.SerializeToString())
    return envelopes


def test_partner_dropping_every_few_batches_still_converges(
    make_node, serve_partner, federation: Federation
) -> None:
    log = us_log(federation, 600)
    partner = FaultyPartner(federation, log, batch=50, drop_after=3)
    uk = make_node("uk-aisi", peers=(serve_partner(partner),))
    wait_for(uk, lambda: uk.store.head("us-aisi").seq == 600, 60)
    assert uk.store.count() == 600
    assert partner.streams >= 4  # it dropped, and each reconnect resumed from the cursor


def test_stalled_and_slow_partners_do_not_hold_up_a_good_one(
    make_node, serve_partner, federation: Federation
) -> None:
    log = us_log(federation, 300)
    stalled = FaultyPartner(federation, log, batch=20, stall_after=1)
    slow = FaultyPartner(federation, log, batch=20, delay_s=5.0)
    good = make_node("us-aisi")
    with NodeClient(good.address, federation.keys["us-aisi"]) as client:
        client.publish([decode_envelope(e) for e in log])
    uk = make_node("uk-aisi", peers=(serve_partner(stalled), serve_partner(slow), good.address))
    try:
        wait_for(uk, lambda: uk.store.head("us-aisi").seq == 300, 60)
    finally:
        stalled.released.set()
        slow.released.set()
    assert uk.store.count() == 300


@pytest.mark.timeout(120)
def test_partition_heals_with_new_records_on_both_sides(make_node, federation: Federation) -> None:
    us = make_node("us-aisi")
    uk = make_node("uk-aisi", peers=(us.address,))
    with NodeClient(us.address, federation.keys["us-aisi"]) as us_client:
        us_client.update_peers([uk.address], [])
        first = publish_records(us_client, [new_result_record(result(task="before"), _members())])
        wait_for(uk, lambda: uk.store.head("us-aisi").seq == 1)
        # The partition: neither pulls from the other.
        us_client.update_peers([], [uk.address])
        with NodeClient(uk.address, federation.keys["uk-aisi"]) as uk_client:
            uk_client.update_peers([], [us.address])
            us_side = publish_records(
                us_client,
                [new_result_record(result(task=f"us-{i}"), _members()) for i in range(30)],
            )
            uk_side = publish_records(
                uk_client,
                [new_result_record(result(task=f"uk-{i}"), _members()) for i in range(30)],
            )
            assert uk.store.head("us-aisi").seq == 1 and us.store.head("uk-aisi").seq == 0
            # Healed.
            uk_client.update_peers([us.address], [])
        us_client.update_peers([uk.address], [])
    wait_for(uk, lambda: uk.store.head("us-aisi").seq == 31)
    wait_for(us, lambda: us.store.head("uk-aisi").seq == 30)
    expected = {o.id for o in first + us_side + uk_side}
    for node in (us, uk):
        assert node.store.count() == len(expected) == 61


def _members():
    return audience_from_text("")
