"""Named limits: over them a caller gets RESOURCE_EXHAUSTED naming the limit, and the node
goes on serving everyone else."""

from __future__ import annotations

import grpc
import pytest

from evalfed.client.channel import CallSigner
from evalfed.client.node_client import NodeClient
from evalfed.client.transport import connect_node
from evalfed.core.limits import MAX_MESSAGE_BYTES
from evalfed.v1 import node_pb2 as pb
from evalfed.v1.node_pb2_grpc import NodeStub
from tests.conftest import Federation
from tests.results import signed_record


def test_a_caller_over_its_rate_is_refused_and_others_are_served(
    make_node, federation: Federation
) -> None:
    node = make_node("us-aisi", rate_per_caller=2.0, rate_burst=5)
    fed_id = federation.charter.federation_id
    uk = CallSigner(federation.keys["uk-aisi"], "uk-aisi", fed_id)
    with connect_node(node.address).channel(uk) as channel:
        stub = NodeStub(channel)
        for _ in range(5):  # the burst
            stub.Query(pb.QueryRequest(), timeout=10)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Query(pb.QueryRequest(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "RATE_PER_CALLER=2 calls/s" in (caught.value.details() or "")
    with NodeClient(node.address, federation.keys["ca-aisi"]) as ca:
        assert ca.query_page(pb.QueryRequest()).records == []
    # The client library waits out the limit as the node says, instead of failing.
    with NodeClient(node.address, federation.keys["uk-aisi"]) as client:
        for _ in range(3):
            client.query_page(pb.QueryRequest())


def test_oversized_message_is_refused(node, federation: Federation) -> None:
    signer = CallSigner(federation.keys["us-aisi"], "us-aisi", federation.charter.federation_id)
    big = signed_record(federation, 1, "")
    big.payload = b"x" * (MAX_MESSAGE_BYTES + 1)
    with (
        connect_node(node.address).channel(signer) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        NodeStub(channel).Publish(pb.PublishRequest(envelopes=[big]), timeout=10)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert str(MAX_MESSAGE_BYTES) in (caught.value.details() or "")
    with NodeClient(node.address, federation.keys["us-aisi"]) as client:
        assert client.head().seq == 0
