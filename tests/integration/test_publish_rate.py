"""Publishing is limited by the records it costs the node, not by calls alone: over the record
rate a Publish gets RESOURCE_EXHAUSTED naming the limit with a retry hint, and cheap calls go on
being served."""

from __future__ import annotations

import grpc
import pytest

from evalfed.client.channel import CallSigner
from evalfed.client.node_client import NodeClient
from evalfed.client.status import error_of
from evalfed.client.transport import connect_node
from evalfed.core.errors import RateLimitError
from evalfed.core.records import record_id
from evalfed.v1 import node_pb2 as pb
from evalfed.v1.node_pb2_grpc import NodeStub
from tests.conftest import Federation
from tests.results import signed_record


@pytest.mark.timeout(60)
def test_records_over_the_record_rate_are_refused_with_a_retry_hint(
    make_node, federation: Federation
) -> None:
    us = make_node("us-aisi", record_rate_per_caller=10.0, record_burst=100)
    envelopes, prev = [], ""
    for seq in range(1, 151):
        envelopes.append(signed_record(federation, seq, prev, value=seq / 1000))
        prev = record_id(envelopes[-1].payload)
    signer = CallSigner(federation.keys["us-aisi"], "us-aisi", federation.charter.federation_id)
    with connect_node(us.address).channel(signer) as channel:
        stub = NodeStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            for start in (0, 100):
                stub.Publish(
                    pb.PublishRequest(envelopes=envelopes[start : start + 100]), timeout=30
                )
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "RECORD_RATE_PER_CALLER=10 records/s" in (caught.value.details() or "")
        error = error_of(caught.value, us.address)  # reads the RETRY_AFTER_MS trailer
        assert isinstance(error, RateLimitError)
        assert 0 < error.retry_after_s <= 10.0  # what the bucket lacks for 100 records at 10/s
        for _ in range(20):  # calls that cost no records are served meanwhile
            stub.GetHead(pb.GetHeadRequest(), timeout=10)
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        assert client.head().seq == 100
