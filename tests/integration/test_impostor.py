"""Impostors: a node bound by a stolen key whose revocation it leaves out, an institute with no
key left operating its node with `institute.pub`, and strangers making the node check junk."""

from __future__ import annotations

import grpc
import pytest

from evalfed.client import membership_events as events
from evalfed.client.channel import CallSigner
from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.client.transport import connect_node
from evalfed.core.errors import AuthenticationError
from evalfed.core.records import audience_from_text, record_id
from evalfed.core.timeutil import now_us
from evalfed.keys import PrivateKey
from evalfed.v1 import node_pb2 as pb
from evalfed.v1.node_pb2_grpc import NodeStub
from tests.conftest import Federation, wait_for
from tests.membership import signed_event
from tests.partners import CraftedPartner
from tests.results import result, signed_record


def applied(node, envelope) -> bool:
    wanted = record_id(envelope.payload)
    return any(record_id(e.payload) == wanted for e in node.service.membership.state.records)


@pytest.mark.timeout(90)
def test_a_node_bound_by_a_stolen_key_that_hides_its_revocation_is_refused(
    make_node, serve_partner, federation: Federation
) -> None:
    """UK rotated away from its founding key and revoked it as stolen; the thief runs a node
    bound by that key whose GetInfo leaves both records out."""
    stolen, current = federation.keys["uk-aisi"], PrivateKey.generate()
    fed_id = federation.charter.federation_id
    rotation = signed_event(federation, events.rotation(fed_id, "uk-aisi", stolen.key_id, current),
                            "uk-aisi", 1, "", stolen)  # fmt: skip
    revocation = signed_event(federation, events.revocation(stolen.key_id, "stolen", now_us()),
                              "uk-aisi", 2, record_id(rotation.payload), current)  # fmt: skip
    honest = serve_partner(CraftedPartner(federation, "ca-aisi",
                                          [[rotation.SerializeToString(),
                                            revocation.SerializeToString()]]))  # fmt: skip
    us = make_node("us-aisi", peers=(honest,))
    wait_for(us, lambda: applied(us, revocation))
    impostor = make_node("uk-aisi")

    with pytest.raises(AuthenticationError, match="uk-aisi"):
        NodeClient(impostor.address, federation.keys["us-aisi"], us.service.membership)
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        client.update_peers([impostor.address], [])
    wait_for(us, lambda: "current key" in us.links.stats()[impostor.address].last_error, 20)
    assert us.links.stats()[impostor.address].state != "streaming"


@pytest.mark.timeout(90)
@pytest.mark.parametrize("loss", ["revoked", "expelled"])
def test_an_institute_that_lost_its_keys_cannot_operate_its_node_with_institute_pub(
    loss: str, make_node, serve_partner, federation: Federation
) -> None:
    key = federation.keys["uk-aisi"]
    fed_id = federation.charter.federation_id
    uk = make_node("uk-aisi")
    connection = connect_node(uk.address, own_key=key.public)  # while it still had its key
    if loss == "revoked":
        with NodeClient(uk.address, key) as client:
            lost = publish_records(client, [events.revocation(key.key_id, "retired")])[0].id
        assert not uk.service.membership.keys_for("uk-aisi"), lost
    else:
        vote = events.expulsion("uk-aisi", "vote")
        votes = [
            signed_event(federation, vote, voter, 1, "", federation.keys[voter]).SerializeToString()
            for voter in ("us-aisi", "ca-aisi")
        ]
        relay = serve_partner(CraftedPartner(federation, "ca-aisi", [votes]))
        with NodeClient(uk.address, key) as client:
            client.update_peers([relay], [])
        wait_for(uk, lambda: not uk.service.membership.is_member("uk-aisi"))

    with connection.channel(CallSigner(key, "uk-aisi", fed_id)) as channel:
        stub = NodeStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetStatus(pb.GetStatusRequest(), timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "uk-aisi" in (caught.value.details() or "")
        with pytest.raises(grpc.RpcError) as caught:
            stub.UpdatePeers(pb.UpdatePeersRequest(add=["127.0.0.1:9"]), timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def junk_envelopes(federation: Federation, count: int) -> list:
    """Records claiming to be the US institute's, each with a signature that checks nothing."""
    envelopes = []
    for seq in range(1, count + 1):
        envelope = signed_record(federation, seq, "")
        envelope.signatures[0].sig = bytes(64)
        envelopes.append(envelope)
    return envelopes


@pytest.mark.timeout(60)
def test_publish_needs_the_operators_signed_call(make_node, federation: Federation) -> None:
    us = make_node("us-aisi")
    junk = pb.PublishRequest(envelopes=junk_envelopes(federation, 5000))
    stranger = CallSigner(federation.keys["jp-aisi"], "jp-aisi", federation.charter.federation_id)
    member = CallSigner(federation.keys["uk-aisi"], "uk-aisi", federation.charter.federation_id)
    connection = connect_node(us.address)
    for signer, code in (
        (None, grpc.StatusCode.UNAUTHENTICATED),
        (stranger, grpc.StatusCode.PERMISSION_DENIED),
        (member, grpc.StatusCode.PERMISSION_DENIED),
    ):
        with connection.channel(signer) as channel, pytest.raises(grpc.RpcError) as caught:
            NodeStub(channel).Publish(junk, timeout=30)
        assert caught.value.code() == code, signer
        assert "operator" in (caught.value.details() or ""), caught.value.details()
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        assert publish_records(client, [new_result_record(result(), audience_from_text(""))])


@pytest.mark.timeout(60)
def test_forged_calls_are_rate_limited_before_their_signatures_are_checked(
    make_node, federation: Federation
) -> None:
    """A stranger signing as the US institute with its own key: once over the rate, the node
    refuses before checking the signature."""
    us = make_node("us-aisi", rate_per_caller=1.0, rate_burst=5)
    forger = CallSigner(federation.keys["jp-aisi"], "us-aisi", federation.charter.federation_id)
    codes = []
    with connect_node(us.address).channel(forger) as channel:
        stub = NodeStub(channel)
        for _ in range(8):
            with pytest.raises(grpc.RpcError) as caught:
                stub.GetStatus(pb.GetStatusRequest(), timeout=10)
            codes.append(caught.value.code())
    assert codes[:5] == [grpc.StatusCode.UNAUTHENTICATED] * 5
    assert set(codes[5:]) == {grpc.StatusCode.RESOURCE_EXHAUSTED}
    fed_id = federation.charter.federation_id
    made_up = [CallSigner(federation.keys["jp-aisi"], f"x{i}-aisi", fed_id) for i in range(8)]
    connection = connect_node(us.address)
    for signer in made_up:  # each call claims a new name: one allowance for the address
        with connection.channel(signer) as channel, pytest.raises(grpc.RpcError) as caught:
            NodeStub(channel).GetStatus(pb.GetStatusRequest(), timeout=10)
        codes.append(caught.value.code())
    assert set(codes[13:]) == {grpc.StatusCode.RESOURCE_EXHAUSTED}
