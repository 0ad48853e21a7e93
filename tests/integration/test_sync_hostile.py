"""A misbehaving partner (a real gRPC server serving crafted batches) and injected forks."""

from __future__ import annotations

from evalfed.client.node_client import NodeClient
from evalfed.core.records import record_id
from evalfed.v1 import node_pb2 as pb
from tests.conftest import Federation, wait_for
from tests.partners import CraftedPartner
from tests.results import signed_record as signed


def test_bad_records_are_rejected_one_by_one_and_counted(
    make_node, serve_partner, federation: Federation
) -> None:
    good = signed(federation, 1, "", origin="us-aisi")
    tampered = signed(federation, 2, record_id(good.payload), value=0.25)
    at = tampered.payload.index(b"openai")
    tampered.payload = tampered.payload[:at] + b"openbi" + tampered.payload[at + 6 :]
    unknown = signed(federation, 1, "", origin="jp-aisi")
    broken = signed(federation, 2, "ab" * 32, origin="us-aisi", value=0.75)
    after = signed(federation, 2, record_id(good.payload), value=0.9)
    batches = [
        [e.SerializeToString() for e in (good, tampered, unknown, broken)],
        [after.SerializeToString()],
    ]
    address = serve_partner(CraftedPartner(federation, "us-aisi", batches))
    uk = make_node("uk-aisi", peers=(address,))
    after_id = record_id(after.payload)
    wait_for(uk, lambda: uk.store.head("us-aisi").id == after_id)
    stats = uk.links.stats()[address]
    assert dict(stats.rejected) == {"signature": 1, "unknownsigner": 1, "chain": 1}
    assert uk.store.count() == 2
    assert uk.store.head("jp-aisi").seq == 0
    with NodeClient(uk.address, federation.keys["uk-aisi"]) as client:
        status = client.status()
    (peer,) = status.peers
    assert peer.rejected == 3 and peer.rejected_by_reason["chain"] == 1


def test_fork_is_kept_and_flagged_on_both_nodes(
    make_node, serve_partner, federation: Federation
) -> None:
    honest = signed(federation, 1, "", origin="us-aisi", value=0.1)
    rival = signed(federation, 1, "", origin="us-aisi", value=0.2)
    evil = serve_partner(CraftedPartner(federation, "us-aisi", [[rival.SerializeToString()]]))
    us = make_node("us-aisi")
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        client.publish([honest])
    uk = make_node("uk-aisi", peers=(us.address, evil))
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        client.update_peers([uk.address], [])
    wait_for(uk, lambda: uk.store.head("us-aisi").forked)
    wait_for(us, lambda: us.store.head("us-aisi").forked)
    for node, key in ((us, "us-aisi"), (uk, "uk-aisi")):
        with NodeClient(node.address, federation.keys[key]) as client:
            status = client.status()
            assert status.forked_origins == ["us-aisi"]
            rows = list(client.query(pb.QueryRequest(origin="us-aisi")))
        assert {r.id for r in rows} == {record_id(honest.payload), record_id(rival.payload)}
        assert all(r.origin_forked for r in rows)
