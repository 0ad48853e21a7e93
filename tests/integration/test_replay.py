"""Captured call credentials replayed: a hostile partner replays what a real node sent it on
another node and on the caller's own node, a captured call is replayed with another request,
a rotated-out key keeps no authority, and undecodable requests get INVALID_ARGUMENT."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from evalfed.client.channel import CallSigner
from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.client.transport import connect_node
from evalfed.core.binding import sign_binding, verify_binding
from evalfed.core.errors import AuthenticationError, UnavailableError
from evalfed.core.records import audience_from_text
from evalfed.keys import PrivateKey, load_private_key
from evalfed.v1 import node_pb2 as pb
from evalfed.v1.federation_pb2 import NodeBinding
from evalfed.v1.node_pb2_grpc import NodeStub
from tests.conftest import Federation, run_cli
from tests.partners import CraftedPartner
from tests.results import result

FOR_US_ONLY = audience_from_text("us-aisi")


class RecordingPartner(CraftedPartner):
    """A hostile partner: keeps the signed metadata of every call a node makes to it."""

    def __init__(self, federation: Federation) -> None:
        super().__init__(federation, "ca-aisi", [])
        self.captured: dict[str, list[tuple[str, str | bytes]]] = {}
        self.got_sync = threading.Event()

    def _keep(self, method: str, context: grpc.ServicerContext) -> None:
        self.captured[method] = [
            (k, v) for k, v in context.invocation_metadata() if k.startswith("evalfed-")
        ]

    def GetStatus(self, request, context):
        self._keep("GetStatus", context)
        return super().GetStatus(request, context)

    def Sync(self, request, context):
        self._keep("Sync", context)
        self.got_sync.set()
        yield from super().Sync(request, context)


def publish(node, key: PrivateKey, audience=FOR_US_ONLY, task: str = "secret") -> str:
    with NodeClient(node.address, key) as client:
        return publish_records(client, [new_result_record(result(task=task), audience)])[0].id


def refusal(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


@pytest.fixture
def captured(make_node, serve_partner, federation: Federation):
    """The US node pulls from a hostile partner, which keeps the US node's signed calls."""
    partner = RecordingPartner(federation)
    us = make_node("us-aisi", peers=(serve_partner(partner),))
    assert partner.got_sync.wait(30), "the US node never pulled from the partner"
    return us, partner


@pytest.mark.timeout(60)
def test_a_partners_captured_sync_call_replayed_on_another_node_reads_nothing(
    captured, make_node, federation: Federation
) -> None:
    _, partner = captured
    uk = make_node("uk-aisi")
    publish(uk, federation.keys["uk-aisi"])  # restricted to us-aisi
    with connect_node(uk.address).channel() as channel:
        error = refusal(
            lambda: list(
                NodeStub(channel).Sync(
                    pb.SyncRequest(), metadata=partner.captured["Sync"], timeout=10
                )
            )
        )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "another node" in (error.details() or "")


@pytest.mark.timeout(60)
def test_a_partners_captured_status_call_replayed_on_the_callers_node_shows_no_operator_view(
    captured, federation: Federation
) -> None:
    us, partner = captured
    with connect_node(us.address).channel() as channel:
        error = refusal(
            lambda: NodeStub(channel).GetStatus(
                pb.GetStatusRequest(), metadata=partner.captured["GetStatus"], timeout=10
            )
        )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "another node" in (error.details() or "")


class RecordingProxy(grpc.GenericRpcHandler):
    """Something in the path that sees calls' credentials (a TLS-terminating proxy, a log):
    it forwards each call to the node as it came, keeps its credentials, and drops the calls
    of `drop` (as a lossy network would) before they arrive."""

    def __init__(self, upstream: grpc.Channel, drop: str) -> None:
        self.upstream = upstream
        self.drop = drop
        self.captured: dict[str, list[tuple[str, str | bytes]]] = {}

    def service(self, details):
        method = details.method
        metadata = [(k, v) for k, v in details.invocation_metadata if k.startswith("evalfed-")]

        def unary(request: bytes, context):
            self.captured[method] = metadata
            if method == self.drop:
                context.abort(grpc.StatusCode.UNAVAILABLE, "the call was lost on its way")
            return self.upstream.unary_unary(method, None, None)(
                request, metadata=tuple(metadata), timeout=10
            )

        return grpc.unary_unary_rpc_method_handler(unary)


@pytest.mark.timeout(60)
def test_a_captured_call_replayed_on_its_node_with_another_request_is_refused(
    make_node, federation: Federation
) -> None:
    uk = make_node("uk-aisi")
    secret = publish(uk, federation.keys["uk-aisi"])
    upstream = connect_node(uk.address).channel()
    proxy = RecordingProxy(upstream, "/evalfed.v1.Node/GetRecord")
    server = grpc.server(ThreadPoolExecutor(2), handlers=[proxy])
    address = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    server.start()
    try:
        with NodeClient(address, federation.keys["us-aisi"]) as client:
            assert client.status().institute == "uk-aisi"
            with pytest.raises(UnavailableError):
                client.get("0" * 64)
        credentials = proxy.captured["/evalfed.v1.Node/GetRecord"]
        replay = upstream.unary_unary("/evalfed.v1.Node/GetRecord", None, None)
        error = refusal(
            lambda: replay(
                pb.GetRecordRequest(id=secret).SerializeToString(),
                metadata=tuple(credentials),
                timeout=10,
            )
        )
    finally:
        server.stop(0)
        upstream.close()
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "another request" in (error.details() or "")


@pytest.mark.timeout(60)
def test_a_rotated_out_key_keeps_no_call_or_binding_authority(
    make_node, federation: Federation, tmp_path, capsys
) -> None:
    uk = make_node("uk-aisi")
    old = federation.keys["uk-aisi"]
    code, out, err = run_cli(capsys, "keys", "rotate", "--node", uk.address,
                             "--key", str(federation.key_path("uk-aisi")),
                             "--out", str(tmp_path / "keys"))  # fmt: skip
    assert code == 0, err
    assert "re-bound the node" in out
    new = load_private_key(next((tmp_path / "keys").glob("uk-aisi-*.key")))
    publish(uk, new, audience_from_text("uk-aisi"))
    with NodeClient(uk.address, new) as client:
        assert client.status().institute == "uk-aisi"
        membership = client.membership

    connection = connect_node(uk.address)
    with connection.channel(CallSigner(old, "uk-aisi", federation.charter.federation_id)) as ch:
        stub = NodeStub(ch)
        status = refusal(lambda: stub.GetStatus(pb.GetStatusRequest(), timeout=10))
        assert status.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "not the current key" in (status.details() or "")
        peers = refusal(lambda: stub.UpdatePeers(pb.UpdatePeersRequest(add=["x:1"]), timeout=10))
        assert peers.code() == grpc.StatusCode.UNAUTHENTICATED
        sync = refusal(lambda: list(stub.Sync(pb.SyncRequest(), timeout=10)))
        assert sync.code() == grpc.StatusCode.UNAUTHENTICATED

    binding = NodeBinding()
    binding.ParseFromString(connection.info.node_binding.payload)
    with pytest.raises(AuthenticationError, match="current key"):
        verify_binding(sign_binding(binding, old), membership)


GARBAGE = (
    b"\x0a\x05ab",  # a length-delimited field cut short
    b"\x08" + b"\xff" * 11,  # a varint longer than ten bytes
    b"\x0b",  # a group start with no end
    b"\x07\x00",  # wire type 7, which does not exist
)


@pytest.mark.timeout(60)
def test_undecodable_requests_get_invalid_argument_naming_the_message(
    make_node, federation: Federation
) -> None:
    node = make_node("us-aisi")
    methods = pb.DESCRIPTOR.services_by_name["Node"].methods
    with connect_node(node.address).channel() as channel:
        for method in methods:
            path = f"/evalfed.v1.Node/{method.name}"
            for garbage in GARBAGE:
                if method.server_streaming:
                    stream = channel.unary_stream(path, None, None)
                    error = refusal(lambda: list(stream(garbage, timeout=10)))  # noqa: B023
                else:
                    unary = channel.unary_unary(path, None, None)
                    error = refusal(lambda: unary(garbage, timeout=10))  # noqa: B023
                assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (path, garbage)
                assert method.input_type.full_name in (error.details() or ""), error.details()
