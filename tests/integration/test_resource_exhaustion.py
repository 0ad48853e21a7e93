"""Resource exhaustion: what one member (or a stranger) asks of a node stays bounded, each
bound is named when it is hit, and the node keeps answering everyone: lanes per origin,
status and member pages, join-request floods, follow streams, and embargo instants."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest

from evalfed.client.channel import CallSigner
from evalfed.client.node_client import NodeClient
from evalfed.client.transport import connect_node
from evalfed.core.errors import LimitError
from evalfed.core.limits import (
    MAX_LANES_PER_ORIGIN,
    MAX_MESSAGE_BYTES,
    MAX_PUBLISH_BATCH,
    MAX_STATUS_PAGE,
    MAX_STREAMS_PER_INSTITUTE,
)
from evalfed.core.records import audience_from_text, parse_record, record_lane, sign_record
from evalfed.core.timeutil import now_us, parse_iso_us, timestamp_of_us, timestamp_us
from evalfed.keys import PrivateKey
from evalfed.v1 import node_pb2 as pb
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.node_pb2_grpc import NodeStub
from evalfed.v1.record_pb2 import Record
from tests.conftest import Federation, run_cli, statements_run, wait_for
from tests.integration.test_cli import RESULT
from tests.membership import join_request
from tests.partners import CraftedPartner
from tests.results import result

HOUR_US = 3600 * 1_000_000
FIRST_HOUR = parse_iso_us("2100-01-01T00:00:00Z")


def lane_records(
    federation: Federation, count: int, start: int = 0, audience: str = "uk-aisi"
) -> list[Envelope]:
    """`count` records of US, each the first of its own lane: one audience, embargoes an
    hour apart (from the hour `start` after FIRST_HOUR)."""
    return [
        embargoed(federation, audience, FIRST_HOUR + i * HOUR_US, task=f"lane-{i}")
        for i in range(start, start + count)
    ]


def embargoed(
    federation: Federation, audience: str, embargo_until_us: int, task: str = "gpqa"
) -> Envelope:
    key = federation.keys["us-aisi"]
    record = Record(
        federation_id=federation.charter.federation_id,
        origin="us-aisi",
        seq=1,
        key_id=key.key_id,
        result=result(task=task),
        audience=audience_from_text(audience),
    )
    record.issued_at.CopyFrom(timestamp_of_us(now_us()))
    record.embargo_until.CopyFrom(timestamp_of_us(embargo_until_us))
    return sign_record(record, key)


def signed_stub(node, federation: Federation, institute: str) -> tuple[grpc.Channel, NodeStub]:
    signer = CallSigner(federation.keys[institute], institute, federation.charter.federation_id)
    channel = connect_node(node.address).channel(signer)
    return channel, NodeStub(channel)


def refusal(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


# -- lanes --------------------------------------------------------------------------------


def test_lanes_past_the_cap_are_refused_and_a_node_at_the_cap_syncs_and_pages_its_status(
    make_node, federation: Federation
) -> None:
    us = make_node("us-aisi")
    at_cap = lane_records(federation, MAX_LANES_PER_ORIGIN)
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        client.publish(at_cap)
        channel, stub = signed_stub(us, federation, "us-aisi")
        past = lane_records(federation, 1, start=MAX_LANES_PER_ORIGIN)
        with channel:
            error = refusal(lambda: stub.Publish(pb.PublishRequest(envelopes=past), timeout=30))
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert f"MAX_LANES_PER_ORIGIN={MAX_LANES_PER_ORIGIN}" in (error.details() or "")
        assert client.head("us-aisi", record_lane(parse_record(past[0]))).seq == 0
    assert us.store.count() == MAX_LANES_PER_ORIGIN

    uk = make_node("uk-aisi", peers=(us.address,))
    wait_for(uk, lambda: uk.store.count() == MAX_LANES_PER_ORIGIN)
    with NodeClient(uk.address, federation.keys["uk-aisi"]) as client:
        pages = []
        request = pb.GetStatusRequest(page_size=100)
        while True:
            page = client.stub.GetStatus(request, timeout=30)
            pages.append(page)
            if not page.next_page_token:
                break
            request.page_token = page.next_page_token
        assert [len(p.heads) for p in pages] == [100, 100, 56]
        assert all(p.ByteSize() < MAX_MESSAGE_BYTES for p in pages)
        assert all(len(p.peers[0].heads) == len(p.heads) for p in pages)  # the same logs
        assert len({(h.origin, h.lane) for p in pages for h in p.heads}) == MAX_LANES_PER_ORIGIN
        assert len(client.status().heads) == MAX_LANES_PER_ORIGIN  # the client pages through
        with pytest.raises(LimitError, match=f"MAX_STATUS_PAGE={MAX_STATUS_PAGE}"):
            client.status(page_size=MAX_STATUS_PAGE + 1)


def test_cursors_of_every_origin_at_the_lane_cap_fit_one_message() -> None:
    """The arithmetic of MAX_LANES_PER_ORIGIN: 193 origins at the cap, each cursor as large
    as its fields allow."""
    widest = pb.Cursor(origin="a" * 63, seq=2**64 - 1, id="f" * 64, lane="to:" + "f" * 32)
    request = pb.SyncRequest(have=[widest] * MAX_LANES_PER_ORIGIN * 193, follow=True)
    assert request.ByteSize() < MAX_MESSAGE_BYTES * 0.6


def test_a_partners_records_past_the_lane_cap_are_rejected_and_counted(
    make_node, serve_partner, federation: Federation
) -> None:
    envelopes = [e.SerializeToString() for e in lane_records(federation, MAX_LANES_PER_ORIGIN + 2)]
    address = serve_partner(CraftedPartner(federation, "ca-aisi", [envelopes]))
    uk = make_node("uk-aisi", peers=(address,))
    stats = uk.links.stats()[address]
    wait_for(uk, lambda: stats.received + sum(stats.rejected.values()) >= len(envelopes))
    assert dict(stats.rejected) == {"limit": 2}
    assert uk.store.count() == MAX_LANES_PER_ORIGIN


def test_a_publish_spanning_over_a_thousand_lanes_is_stored(
    make_node, federation: Federation
) -> None:
    lanes = 1001
    node = make_node("us-aisi", max_lanes_per_origin=lanes)
    envelopes = lane_records(federation, lanes)
    assert len(envelopes) <= MAX_PUBLISH_BATCH
    with NodeClient(node.address, federation.keys["us-aisi"]) as client:
        published = client.publish(envelopes)
        assert len(published) == lanes and not any(p.existed for p in published)
        again = client.publish(envelopes)  # each found where it is stored, in its own lane
        assert all(p.existed for p in again)
    assert node.store.count() == lanes


# -- embargoes ----------------------------------------------------------------------------


def node_refuses(node, federation: Federation, envelope: Envelope) -> str:
    """Why the node refuses to publish `envelope` (as INVALID_ARGUMENT)."""
    with NodeClient(node.address, federation.keys["us-aisi"]) as client:
        request = pb.PublishRequest(envelopes=[envelope])
        error = refusal(lambda: client.stub.Publish(request, timeout=30))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    return error.details() or ""


def cli_publish(tmp_path: Path, capsys, audience: str, embargo: str) -> tuple[int, str, str]:
    source = tmp_path / "r.json"
    source.write_text(json.dumps(RESULT))
    return run_cli(
        capsys, "publish", str(source), "--audience", audience, "--embargo-until", embargo
    )


@pytest.mark.parametrize("audience", ["public", "members"])
def test_an_embargo_on_a_record_everyone_sees_is_refused(
    node, federation: Federation, audience: str, cli_env, tmp_path: Path, capsys
) -> None:
    why = node_refuses(node, federation, embargoed(federation, audience, FIRST_HOUR))
    assert "embargo only applies to an audience of named institutes" in why
    code, out, err = cli_publish(tmp_path, capsys, audience, "2100-01-01")
    assert code != 0 and out == ""
    assert "embargo only applies to an audience of named institutes" in err
    assert node.store.count() == 0


def test_an_embargo_ends_on_a_whole_hour(
    node, federation: Federation, cli_env, tmp_path: Path, capsys
) -> None:
    odd = embargoed(federation, "uk-aisi", FIRST_HOUR + 90 * 60 * 1_000_000)
    assert "not on a whole hour" in node_refuses(node, federation, odd)
    code, out, err = cli_publish(tmp_path, capsys, "uk-aisi", "2100-01-01T01:30:00Z")
    assert code == 0, err
    assert "embargo rounded up to the next whole hour: 2100-01-01T02:00:00+00:00" in err
    with NodeClient(node.address, federation.keys["us-aisi"]) as client:
        record = parse_record(client.get(out.strip()).record.envelope)
    assert timestamp_us(record.embargo_until) == FIRST_HOUR + 2 * HOUR_US


# -- join requests ------------------------------------------------------------------------


class CountingPartner(CraftedPartner):
    """A partner with nothing to send that counts the sync streams opened to it."""

    def __init__(self, federation: Federation) -> None:
        super().__init__(federation, "uk-aisi", [])
        self.streams = 0

    def Sync(self, request, context):
        self.streams += 1
        yield from super().Sync(request, context)


def test_a_join_request_flood_is_capped_restarts_no_link_and_members_are_paged(
    make_node, serve_partner, federation: Federation
) -> None:
    partner = CountingPartner(federation)
    address = serve_partner(partner)
    node = make_node("us-aisi", peers=(address,), join_request_burst=80)
    wait_for(node, lambda: partner.streams == 1)
    stub = NodeStub(connect_node(node.address).channel())

    def submit(institute: str):
        request = join_request(federation, institute, PrivateKey.generate())
        return lambda: stub.SubmitJoinRequest(
            pb.SubmitJoinRequestRequest(request=request), timeout=30
        )

    for _ in range(4):
        submit("xx-aisi")()
    error = refusal(submit("xx-aisi"))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "MAX_PENDING_PER_INSTITUTE=4" in (error.details() or "")
    for i in range(60):
        submit(f"f{i}-aisi")()
    error = refusal(submit("late-aisi"))
    assert "MAX_PENDING_JOIN_REQUESTS=64" in (error.details() or "")
    details = ""
    for _ in range(20):  # the 81st call is over the burst
        details = refusal(submit("late-aisi")).details() or ""
        if "JOIN_REQUESTS_PER_HOUR" in details:
            break
    assert "JOIN_REQUESTS_PER_HOUR=10" in details

    assert node.links.reconnects == 0  # pending requests change no member's standing
    assert partner.streams == 1

    with NodeClient(node.address, federation.keys["us-aisi"]) as client:
        page = client.stub.ListMembers(pb.ListMembersRequest(page_size=10), timeout=30)
        assert len(page.members) + len(page.pending) == 10 and page.next_page_token
        listed = client.members(page_size=10)
        assert len(listed.members) == 3 and len(listed.pending) == 64
        assert len({p.id for p in listed.pending}) == 64
        with pytest.raises(LimitError, match="MAX_MEMBERS_PAGE=100"):
            client.members(page_size=101)


def test_an_envelope_with_too_many_signatures_is_refused_before_checking(
    node, federation: Federation
) -> None:
    request = join_request(federation, "jp-aisi", federation.keys["jp-aisi"])
    request.signatures.extend([request.signatures[0]] * 8)
    stub = NodeStub(connect_node(node.address).channel())
    error = refusal(
        lambda: stub.SubmitJoinRequest(pb.SubmitJoinRequestRequest(request=request), timeout=30)
    )
    assert "MAX_SIGNATURES=8" in (error.details() or "")
    with NodeClient(node.address, federation.keys["us-aisi"]) as client:
        assert not client.members().pending


# -- streams ------------------------------------------------------------------------------


def test_follow_streams_past_the_cap_are_refused_and_unary_calls_still_answer(
    node, federation: Federation
) -> None:
    channel, stub = signed_stub(node, federation, "uk-aisi")
    calls, refused = [], []
    try:
        for _ in range(17):
            call = stub.Sync(pb.SyncRequest(follow=True), timeout=20)
            calls.append(call)
            try:
                assert next(call).caught_up
            except grpc.RpcError as exc:
                refused.append(exc)
        assert len(refused) == 17 - MAX_STREAMS_PER_INSTITUTE
        assert {e.code() for e in refused} == {grpc.StatusCode.RESOURCE_EXHAUSTED}
        assert f"MAX_STREAMS_PER_INSTITUTE={MAX_STREAMS_PER_INSTITUTE}" in (
            refused[0].details() or ""
        )
        # The open streams leave workers for unary calls.
        assert stub.GetInfo(pb.GetInfoRequest(), timeout=10).institute == "us-aisi"
        assert list(stub.Query(pb.QueryRequest(), timeout=10).records) == []
        with NodeClient(node.address, federation.keys["ca-aisi"]) as ca:
            assert next(ca.follow()).caught_up  # another institute has its own slots
        for call in calls:
            call.cancel()
        # Slots come back as the streams end.
        wait_for(node, lambda: node.service.streams.open_streams("uk-aisi") == 0)
        again = stub.Sync(pb.SyncRequest(follow=True), timeout=20)
        calls.append(again)
        assert next(again).caught_up
    finally:
        for call in calls:
            call.cancel()
        channel.close()


def test_streams_past_the_node_wide_cap_are_refused(make_node, federation: Federation) -> None:
    node = make_node("us-aisi", max_streams=6)
    channels = [signed_stub(node, federation, name) for name in ("uk-aisi", "ca-aisi")]
    calls = []
    try:
        for (_, stub), wanted in zip(channels, (MAX_STREAMS_PER_INSTITUTE, 2), strict=True):
            for _ in range(wanted):
                calls.append(stub.Sync(pb.SyncRequest(follow=True), timeout=20))
                assert next(calls[-1]).caught_up
        error = refusal(lambda: next(channels[1][1].Sync(pb.SyncRequest(), timeout=20)))
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "MAX_STREAMS=6" in (error.details() or "")
        assert channels[1][1].GetInfo(pb.GetInfoRequest(), timeout=10).institute == "us-aisi"
    finally:
        for call in calls:
            call.cancel()
        for channel, _ in channels:
            channel.close()


def test_cursors_of_logs_the_node_does_not_hold_cost_it_no_lookups(
    node, federation: Federation
) -> None:
    made_up = [
        pb.Cursor(origin="uk-aisi", lane=f"to:{i:032x}", seq=1, id="ab" * 32) for i in range(2000)
    ]
    channel, stub = signed_stub(node, federation, "uk-aisi")
    with channel, statements_run(node.engine) as statements:
        batches = list(stub.Sync(pb.SyncRequest(have=made_up), timeout=30))
    assert batches[-1].caught_up
    assert len(statements) < 50
