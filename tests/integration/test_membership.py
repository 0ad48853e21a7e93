"""Real nodes: a newcomer joins on a threshold of distinct founders, keys rotate and are
revoked, and a member is expelled, on every node identically."""

from __future__ import annotations

import grpc
import pytest

from evalfed.client import membership_events as events
from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.client.transport import connect_node
from evalfed.core.errors import AuthenticationError, EvalfedError, PermissionDeniedError
from evalfed.core.records import audience_from_text, record_id
from evalfed.keys import PrivateKey
from evalfed.server.identity import load_identity
from evalfed.v1.node_pb2 import QueryRequest, SyncRequest
from evalfed.v1.node_pb2_grpc import NodeStub
from tests.conftest import Federation, wait_for
from tests.membership import join_request, rebind, signed_event
from tests.partners import CraftedPartner
from tests.results import result

MEMBERS = audience_from_text("")


def holds(node, record_id_: str) -> bool:
    from evalfed.server.storage.store import Viewer

    return node.store.get(record_id_, Viewer(node.config.institute)) is not None


def applied(node, record_id_: str) -> bool:
    """The node's membership state takes this record into account."""
    return any(record_id(e.payload) == record_id_ for e in node.service.membership.state.records)


def pending_count(node, institute: str) -> int:
    counts = [
        len(p.endorsed_by)
        for p in node.service.membership.state.pending.values()
        if p.request.institute == institute
    ]
    return max(counts, default=0)


def publish(node, key: PrivateKey, body) -> str:
    with NodeClient(node.address, key) as client:
        return publish_records(client, [body])[0].id


def rotate(node, old: PrivateKey, new: PrivateKey) -> str:
    """Rotates the node's institute from `old` to `new` and re-binds the node."""
    with NodeClient(node.address, old) as client:
        body = events.rotation(client.federation_id, client.institute, old.key_id, new)
        rotation = publish_records(client, [body])[0].id
        rebind(client, new)
    return rotation


def test_newcomer_joins_on_two_distinct_endorsements(
    founders, make_node, federation: Federation
) -> None:
    us, uk = founders
    us_key, uk_key, jp_key = (federation.keys[i] for i in ("us-aisi", "uk-aisi", "jp-aisi"))
    history = publish(us, us_key, new_result_record(result(task="history"), MEMBERS))
    request = join_request(federation, "jp-aisi", jp_key)
    with NodeClient(us.address) as anonymous:
        assert anonymous.submit_join_request(request).endorsements == 0

    first = publish(us, us_key, events.endorsement(request))
    wait_for(uk, lambda: holds(uk, first) and pending_count(uk, "jp-aisi") == 1)
    for node in (us, uk):
        assert pending_count(node, "jp-aisi") == 1
        assert not node.service.membership.is_member("jp-aisi")

    second = publish(us, us_key, events.endorsement(request))
    wait_for(uk, lambda: applied(uk, second))
    for node in (us, uk):
        assert pending_count(node, "jp-aisi") == 1
        assert not node.service.membership.is_member("jp-aisi")

    jp = make_node("jp-aisi", peers=(us.address,))
    wait_for(jp, lambda: "1 of 2" in jp.links.stats()[us.address].last_error)
    assert jp.links.stats()[us.address].state == "refused"
    with pytest.raises(EvalfedError, match="jp-aisi is not a member"):
        publish(jp, jp_key, new_result_record(result(task="too-early"), MEMBERS))

    publish(uk, uk_key, events.endorsement(request))
    wait_for(us, lambda: us.service.membership.is_member("jp-aisi"))
    wait_for(uk, lambda: uk.service.membership.is_member("jp-aisi"))

    wait_for(jp, lambda: holds(jp, history) and jp.service.membership.is_member("jp-aisi"))
    jp_record = publish(jp, jp_key, new_result_record(result(task="jp-first"), MEMBERS))
    with NodeClient(us.address, us_key) as client:
        client.update_peers([jp.address], [])
    wait_for(us, lambda: holds(us, jp_record))
    wait_for(uk, lambda: holds(uk, jp_record))
    with NodeClient(uk.address, uk_key) as client:
        listed = {m.institute: m for m in client.members().members}
    assert listed["jp-aisi"].status == "admitted"
    assert listed["jp-aisi"].endorsed_by == ["uk-aisi", "us-aisi"]
    assert listed["us-aisi"].status == "founder"


def test_rotation_rejects_the_old_key_after_it_even_through_a_relay(
    founders, serve_partner, federation: Federation
) -> None:
    us, uk = founders
    old, new = federation.keys["us-aisi"], PrivateKey.generate()
    before = publish(us, old, new_result_record(result(task="before"), MEMBERS))
    rotation = rotate(us, old, new)
    wait_for(uk, lambda: holds(uk, rotation))
    stale = signed_event(federation, new_result_record(result(task="stale"), MEMBERS),
                         "us-aisi", 3, rotation, old)  # fmt: skip
    with (
        NodeClient(us.address, new) as client,
        pytest.raises(PermissionDeniedError, match="rotated out at seq 2"),
    ):
        client.publish([stale])
    with pytest.raises(AuthenticationError, match="rotated out or revoked"):
        NodeClient(us.address, old)
    after = publish(us, new, new_result_record(result(task="after"), MEMBERS))
    wait_for(uk, lambda: holds(uk, after))

    late = signed_event(federation, new_result_record(result(task="late"), MEMBERS),
                        "us-aisi", 4, after, old)  # fmt: skip
    relay = serve_partner(CraftedPartner(federation, "ca-aisi", [[late.SerializeToString()]]))
    with NodeClient(uk.address, federation.keys["uk-aisi"]) as client:
        client.update_peers([relay], [])
    wait_for(uk, lambda: uk.links.stats()[relay].rejected["unknownsigner"] == 1)
    assert not holds(uk, record_id(late.payload))
    assert holds(uk, before)


def test_compromised_key_revocation_voids_later_records_and_accepts_earlier_ones(
    make_node, serve_partner, federation: Federation
) -> None:
    old, new = federation.keys["us-aisi"], PrivateKey.generate()
    t0 = 1_700_000_000_000_000
    fed_id = federation.charter.federation_id
    good = signed_event(federation, new_result_record(result(task="good"), MEMBERS),
                        "us-aisi", 1, "", old, t0)  # fmt: skip
    bad = signed_event(federation, new_result_record(result(task="bad"), MEMBERS),
                       "us-aisi", 2, record_id(good.payload), old, t0 + 2_000_000)  # fmt: skip
    rotate = signed_event(federation, events.rotation(fed_id, "us-aisi", old.key_id, new),
                          "us-aisi", 3, record_id(bad.payload), old, t0 + 500_000)  # fmt: skip
    revoke = signed_event(federation, events.revocation(old.key_id, "leaked", t0 + 1_000_000),
                          "us-aisi", 4, record_id(rotate.payload), new, t0 + 3_000_000)  # fmt: skip

    us = make_node("us-aisi")
    with NodeClient(us.address, old) as client:
        client.publish([good, bad, rotate])
        rebind(client, new)
    with NodeClient(us.address, new) as client:
        client.publish([revoke])
        rows = {r.id: r for r in client.query(QueryRequest(origin="us-aisi"))}
    assert rows[record_id(bad.payload)].void_reason.startswith("signed by key")
    assert rows[record_id(good.payload)].void_reason == ""

    # A node that learns of the revocation first, then gets the old records late:
    membership_first = serve_partner(
        CraftedPartner(
            federation, "ca-aisi", [[rotate.SerializeToString(), revoke.SerializeToString()]]
        )
    )
    uk = make_node("uk-aisi", peers=(membership_first,))
    wait_for(uk, lambda: holds(uk, record_id(revoke.payload)))
    late = serve_partner(
        CraftedPartner(federation, "ca-aisi", [[good.SerializeToString(), bad.SerializeToString()]])
    )
    with NodeClient(uk.address, federation.keys["uk-aisi"]) as client:
        client.update_peers([late], [])
    wait_for(uk, lambda: holds(uk, record_id(good.payload)))
    assert not holds(uk, record_id(bad.payload))
    assert uk.links.stats()[late].rejected["unknownsigner"] == 1


def test_expelled_member_is_refused_and_its_later_records_rejected(
    founders, make_node, federation: Federation
) -> None:
    us, uk = founders
    ca = make_node("ca-aisi", peers=(us.address,))
    ca_before = publish(
        ca, federation.keys["ca-aisi"], new_result_record(result(task="ca"), MEMBERS)
    )
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        client.update_peers([ca.address], [])
    wait_for(us, lambda: holds(us, ca_before))
    publish(us, federation.keys["us-aisi"], events.expulsion("ca-aisi", "misconduct"))
    assert us.service.membership.is_member("ca-aisi")
    publish(uk, federation.keys["uk-aisi"], events.expulsion("ca-aisi", "misconduct"))
    wait_for(us, lambda: not us.service.membership.is_member("ca-aisi"))
    wait_for(uk, lambda: not uk.service.membership.is_member("ca-aisi"))
    assert holds(us, ca_before)

    identity = load_identity(ca.config.data_dir, "ca-aisi")
    from evalfed.client.channel import CallSigner

    signer = CallSigner(identity.key, "ca-aisi", federation.charter.federation_id,
                        identity.binding_bytes)  # fmt: skip
    with (
        connect_node(us.address).channel(signer) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        list(NodeStub(channel).Sync(SyncRequest(), timeout=10))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "expelled" in (caught.value.details() or "")
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        status = {m.institute: m.status for m in client.members().members}
    assert status["ca-aisi"] == "expelled"
