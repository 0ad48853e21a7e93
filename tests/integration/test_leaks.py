"""No caller learns of a record outside its audience: a member outside it, an expelled member
and an anonymous caller each try every RPC of the node service (enumerated from its
descriptor, so a new RPC cannot be missed) and never see the record, its id, or a head or count
that reveals it."""

from __future__ import annotations

import threading

import grpc
import pytest

from evalfed.client import membership_events as events
from evalfed.client.channel import CallSigner
from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.client.transport import connect_node
from evalfed.core.checkpoints import checkpoint_signer
from evalfed.core.checks import decode_envelope
from evalfed.core.note import Checkpoint, sign_checkpoint
from evalfed.core.records import (
    audience_from_text,
    body_digest,
    parse_record,
    record_id,
    record_lane,
)
from evalfed.server.storage.store import Viewer
from evalfed.v1 import node_pb2 as pb
from evalfed.v1.envelope_pb2 import CheckpointNote
from evalfed.v1.node_pb2_grpc import NodeStub
from tests.conftest import Federation, wait_for
from tests.partners import CraftedPartner
from tests.results import result

SERVICE = pb.DESCRIPTOR.services_by_name["Node"]


def requests_for(
    secret_id: str, secret_digest: str, secret_lane: str, checkpoint: bytes = b""
) -> dict[str, object]:
    """One probing request per RPC; a new RPC without an entry here fails the test.
    `checkpoint` is a signed checkpoint of the lane, for Cosign."""
    held = pb.Cursor(origin="us-aisi", lane=secret_lane, seq=1, id=secret_id)
    return {
        "Publish": pb.PublishRequest(),
        "GetRecord": pb.GetRecordRequest(id=secret_id, bundle=True),
        "Query": pb.QueryRequest(),
        "GetHead": pb.GetHeadRequest(origin="us-aisi", lane=secret_lane),
        "FindExisting": pb.FindExistingRequest(body_digests=[secret_digest]),
        "GetInfo": pb.GetInfoRequest(),
        "Sync": pb.SyncRequest(have=[held]),
        "GetStatus": pb.GetStatusRequest(),
        "UpdatePeers": pb.UpdatePeersRequest(),
        "SubmitJoinRequest": pb.SubmitJoinRequestRequest(),
        "ListMembers": pb.ListMembersRequest(),
        "UpdateBinding": pb.UpdateBindingRequest(),
        "GetCheckpoint": pb.GetCheckpointRequest(origin="us-aisi", lane=secret_lane),
        "GetProof": pb.GetProofRequest(record_id=secret_id),
        "Cosign": pb.CosignRequest(checkpoint=CheckpointNote(note=checkpoint), old_size=1),
    }


def call(channel: grpc.Channel, method: str, request: object) -> bytes:
    """Everything the caller gets back: response bytes, or the error's code and message."""
    stub = NodeStub(channel)
    try:
        if SERVICE.methods_by_name[method].server_streaming:
            # The records sent (a batch's embargo timestamp changes from call to call).
            # With the origin lines of the checkpoints sent, sorted (their cosignatures, and so
            # their order, change with time).
            batches = list(getattr(stub, method)(request, timeout=10))
            origins = sorted(c.note.split(b"\n", 1)[0] for b in batches for c in b.checkpoints)
            return b"".join(e for batch in batches for e in batch.envelopes) + b"".join(origins)
        return getattr(stub, method)(request, timeout=10).SerializeToString()
    except grpc.RpcError as exc:
        return f"{exc.code().name}: {exc.details()}".encode()


@pytest.fixture
def secret_world(make_node, federation: Federation):
    """CA is expelled (US and UK voted: US seq 1 of its members lane); then US publishes
    records to the public, to all members, to itself alone (the secret), and after the secret
    once more to all members and to the public. Returns the US node, the five ids in that
    order, and the secret's body digest."""
    us = make_node("us-aisi", log_trees=True)
    uk = make_node("uk-aisi", peers=(us.address,))
    with NodeClient(uk.address, federation.keys["uk-aisi"]) as client:
        publish_records(client, [events.expulsion("ca-aisi", "test")])
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        client.update_peers([uk.address], [])
        publish_records(client, [events.expulsion("ca-aisi", "test")])
        wait_for(us, lambda: not us.service.membership.is_member("ca-aisi"))
        bodies = [
            new_result_record(result(task=t), audience_from_text(a))
            for t, a in (
                ("open", "public"),
                ("shared", "members"),
                ("secret", "us-aisi"),
                ("shared-after", "members"),
                ("open-after", "public"),
            )
        ]
        ids = [o.id for o in publish_records(client, bodies)]
    return us, ids, body_digest(bodies[2])


def test_no_rpc_reveals_a_record_outside_the_audience(secret_world, federation: Federation) -> None:
    us, ids, secret_digest = secret_world
    secret_id = ids[2]
    secret = us.store.get(secret_id, Viewer("us-aisi"))
    secret_log = ("us-aisi", secret.lane)  # its checkpoint exists, and must not show
    assert us.indexer.wait_until(lambda: us.indexer.trees.checkpoint(secret_log) is not None, 30)
    fed_id = federation.charter.federation_id
    decoy_log = checkpoint_signer(fed_id, ("us-aisi", DECOY_LANE), us.service.identity.key)
    decoy_checkpoint = sign_checkpoint(Checkpoint(decoy_log.name, 1, b"\x01" * 32), decoy_log)
    secret_checkpoint = us.indexer.trees.checkpoint(secret_log).note
    requests = requests_for(secret_id, secret_digest, secret.lane, secret_checkpoint)
    decoys = requests_for(DECOY_ID, DECOY_ID, DECOY_LANE, decoy_checkpoint)
    assert set(requests) == {m.name for m in SERVICE.methods}, "a new RPC needs a probe here"
    connection = connect_node(us.address)
    callers = {
        "member outside the audience": CallSigner(federation.keys["uk-aisi"], "uk-aisi", fed_id),
        "expelled member": CallSigner(federation.keys["ca-aisi"], "ca-aisi", fed_id),
        "anonymous": None,
    }
    for who, signer in callers.items():
        with connection.channel(signer) as channel:
            for method, request in requests.items():
                answer = call(channel, method, request)
                decoy = call(channel, method, decoys[method])
                # Asking about the secret must look exactly like asking about nothing.
                assert _masked(answer, secret_id, secret.lane) == _masked(
                    decoy, DECOY_ID, DECOY_LANE
                ), (
                    who,
                    method,
                )
                for needle in (bytes.fromhex(secret_id), secret.envelope):
                    assert needle not in answer, f"{who} learned the secret record via {method}"

    with connection.channel(callers["member outside the audience"]) as channel:
        members_head = pb.GetHeadRequest(origin="us-aisi")
        head = pb.GetHeadResponse.FromString(call(channel, "GetHead", members_head))
        status = pb.GetStatusResponse.FromString(call(channel, "GetStatus", requests["GetStatus"]))
    assert (head.seq, head.id) == (3, ids[3])
    assert status.records == 6 and not status.peers
    us_heads = {(h.lane, h.seq) for h in status.heads if h.origin == "us-aisi"}
    assert us_heads == {("", 3), ("public", 2)}


def test_the_logs_a_caller_sees_have_no_gap_where_a_hidden_record_is(
    secret_world, federation: Federation
) -> None:
    """Each lane a caller outside the secret's audience receives is whole: seq 1, 2, 3 ...
    each naming the one before as prev, so nothing in it points at the secret."""
    us, ids, _ = secret_world
    fed_id = federation.charter.federation_id
    with connect_node(us.address).channel(
        CallSigner(federation.keys["uk-aisi"], "uk-aisi", fed_id)
    ) as channel:
        synced = [
            data for batch in NodeStub(channel).Sync(pb.SyncRequest(), timeout=10)
            for data in batch.envelopes
        ]  # fmt: skip
    with connect_node(us.address).channel(None) as channel:
        queried = NodeStub(channel).Query(pb.QueryRequest(page_size=100), timeout=10).records
    for who, envelopes, expected in (
        ("member outside the audience", synced, {ids[0], ids[1], ids[3], ids[4]}),
        ("anonymous", [r.envelope.SerializeToString() for r in queried], {ids[0], ids[4]}),
    ):
        records = {record_id(e.payload): parse_record(e) for e in map(decode_envelope, envelopes)}
        assert expected <= set(records) and ids[2] not in records, who
        logs: dict[tuple[str, str], dict[int, tuple[str, str]]] = {}
        for rid, record in records.items():
            logs.setdefault((record.origin, record_lane(record)), {})[record.seq] = (
                rid,
                record.prev,
            )
        for key, chain in logs.items():
            assert sorted(chain) == list(range(1, len(chain) + 1)), (who, key)
            for seq, (_, prev) in chain.items():
                assert prev == (chain[seq - 1][0] if seq > 1 else ""), (who, key, seq)


DECOY_ID = "ab" * 32
DECOY_LANE = "to:" + "0" * 32


def _masked(answer: bytes, record_id: str, lane: str) -> bytes:
    masked = answer.replace(record_id.encode(), b"<id>").replace(bytes.fromhex(record_id), b"<id>")
    return masked.replace(lane.encode(), b"<lane>")


class RecordingPartner(CraftedPartner):
    """A partner (UK, outside the secret's audience) that keeps the sync requests it gets."""

    def __init__(self, federation: Federation) -> None:
        super().__init__(federation, "uk-aisi", [])
        self.requests: list[pb.SyncRequest] = []
        self.asked = threading.Event()

    def Sync(self, request, context):
        self.requests.append(request)
        self.asked.set()
        yield from super().Sync(request, context)


def test_sync_cursors_name_no_record_the_partner_may_not_see(
    secret_world, federation: Federation, serve_partner
) -> None:
    """The cursors a node sends when it asks a partner for records stop at the last record the
    partner may see: the secret's lane is neither named nor counted."""
    us, ids, _ = secret_world
    partner = RecordingPartner(federation)
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        client.update_peers([serve_partner(partner)], [])
    assert partner.asked.wait(10), "the node never asked the partner for records"
    request = partner.requests[0]
    us_cursors = {c.lane: (c.seq, c.id) for c in request.have if c.origin == "us-aisi"}
    assert us_cursors == {"": (3, ids[3]), "public": (2, ids[4])}
    assert ids[2].encode() not in request.SerializeToString()
