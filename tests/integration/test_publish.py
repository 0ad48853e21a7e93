"""A real node on port 0, driven through the client library: publishing and its refusals."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import grpc
import pytest

from evalfed.client.channel import CallSigner
from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import (
    FIRST_BATCH_RECORDS,
    new_result_record,
    publish_groups,
    publish_records,
)
from evalfed.core.errors import (
    ConflictError,
    InvalidInputError,
    LimitError,
    PermissionDeniedError,
)
from evalfed.core.limits import MAX_PUBLISH_BATCH
from evalfed.core.records import audience_from_text, parse_record, record_id, record_lane
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.node_pb2 import PublishRequest, QueryRequest
from evalfed.v1.node_pb2_grpc import NodeStub
from evalfed.v1.record_pb2 import Record
from tests.conftest import Federation
from tests.membership import signed_event
from tests.results import result
from tests.results import signed_record as signed

MEMBERS = audience_from_text("")


def test_publish_then_get(us_client: NodeClient) -> None:
    outcomes = publish_records(
        us_client, [new_result_record(result(value=v), MEMBERS) for v in (0.1, 0.2, 0.3)]
    )
    assert [o.seq for o in outcomes] == [1, 2, 3]
    assert not any(o.existed for o in outcomes)
    head = us_client.head()
    assert (head.seq, head.id) == (3, outcomes[-1].id)
    fetched = us_client.get(outcomes[1].id).record
    assert record_id(fetched.envelope.payload) == outcomes[1].id


def test_each_audience_is_chained_in_its_own_lane(us_client: NodeClient) -> None:
    """Mixed audiences in one publish: each lane counts from 1 and chains its own records,
    the heads say so, and a second publish continues each lane where it stopped."""
    audiences = ["", "public", "uk-aisi", "", "uk-aisi,us-aisi", "public", ""]
    bodies = [new_result_record(result(value=i / 10), audience_from_text(a))
              for i, a in enumerate(audiences)]  # fmt: skip
    outcomes = publish_records(us_client, bodies)
    assert [o.seq for o in outcomes] == [1, 1, 1, 2, 2, 2, 3]
    lanes = {a: record_lane(b) for a, b in zip(audiences, bodies, strict=True)}
    for lane, last in ((lanes[""], 6), (lanes["public"], 5), (lanes["uk-aisi"], 4)):
        head = us_client.head(lane=lane)
        assert (head.lane, head.seq, head.id) == (lane, outcomes[last].seq, outcomes[last].id)
    records = {o.id: us_client.get(o.id).record.envelope for o in outcomes}
    assert parse_record(records[outcomes[4].id]).prev == outcomes[2].id
    assert parse_record(records[outcomes[5].id]).prev == outcomes[1].id
    more = publish_records(us_client, [new_result_record(result(value=0.9), MEMBERS)])
    assert more[0].seq == 4 and us_client.head().id == more[0].id


def test_a_record_at_another_lanes_head_is_a_conflict(
    us_client: NodeClient, federation: Federation
) -> None:
    """Seq and prev count within the record's own lane: a public record signed to follow the
    members lane's head does not fit, and nothing is stored."""
    first = publish_records(us_client, [new_result_record(result(), MEMBERS)])[0]
    with pytest.raises(ConflictError, match="does not extend the head of us-aisi"):
        us_client.publish([signed(federation, 2, first.id, value=0.7, audience="public")])
    assert us_client.head(lane="public").seq == 0


def test_a_backdated_record_outside_the_members_lane_is_refused(
    us_client: NodeClient, federation: Federation
) -> None:
    """Keys outside the members lane are valid by issue time, so a lane's issue times may not
    go back: a record issued before its lane's head is refused and nothing is stored."""
    lane_of_uk = audience_from_text("uk-aisi")
    key = federation.keys["us-aisi"]
    first = signed_event(
        federation, Record(result=result(value=0.1), audience=lane_of_uk), "us-aisi", 1, "", key
    )
    us_client.publish([first])
    back = signed_event(
        federation,
        Record(result=result(value=0.2), audience=lane_of_uk),
        "us-aisi",
        2,
        record_id(first.payload),
        key,
        issued_at_us=1_000_000,
    )
    with pytest.raises(ConflictError, match="before the record it follows in its lane"):
        us_client.publish([back])
    assert us_client.head(lane=record_lane(parse_record(first))).seq == 1


def test_publish_that_drops_its_lanes_salt_is_refused(
    us_client: NodeClient, federation: Federation
) -> None:
    """An ended key may add unsalted (legacy) records to restricted lanes: not to a salted one."""
    first = signed(federation, 1, "", audience="uk-aisi", lane_salt=bytes(range(16)))
    us_client.publish([first])
    unsalted = signed(federation, 2, record_id(first.payload), value=0.6, audience="uk-aisi")
    with pytest.raises(ConflictError, match="salt"):
        us_client.publish([unsalted])
    assert us_client.head(lane=record_lane(parse_record(first))).seq == 1


def test_same_envelope_again_returns_existing_id(
    us_client: NodeClient, federation: Federation
) -> None:
    envelope = signed(federation, 1, "")
    first = us_client.publish([envelope])[0]
    again = us_client.publish([envelope])[0]
    assert (again.id, again.existed) == (first.id, True)
    assert us_client.head().seq == 1


def test_same_result_again_creates_no_duplicate(
    us_client: NodeClient, federation: Federation
) -> None:
    first = publish_records(us_client, [new_result_record(result(), MEMBERS)])[0]
    again = publish_records(us_client, [new_result_record(result(), MEMBERS)])[0]
    assert again.existed and again.id == first.id
    assert us_client.head().seq == 1
    # Also when the client does not check first: the node refuses to store the body twice.
    envelope = signed(federation, 2, first.id)
    published = us_client.publish([envelope])[0]
    assert published.existed and published.id == first.id
    assert us_client.head().seq == 1


def test_a_result_given_twice_in_one_publish_is_stored_once(us_client: NodeClient) -> None:
    """Across batches and within one (the first batch holds FIRST_BATCH_RECORDS)."""
    first = [new_result_record(result(value=i / 1000), MEMBERS) for i in range(FIRST_BATCH_RECORDS)]
    extra = new_result_record(result(value=0.999), MEMBERS)
    outcomes = publish_records(us_client, [*first, first[0], extra, extra, first[-1]])
    assert [o.seq for o in outcomes[: len(first)]] == list(range(1, len(first) + 1))
    assert not any(o.existed for o in outcomes[: len(first)])
    repeat, added, extra_again, last_again = outcomes[len(first) :]
    assert (added.seq, added.existed) == (len(first) + 1, False)
    assert (repeat.id, repeat.existed) == (outcomes[0].id, True)
    assert (extra_again.id, extra_again.existed) == (added.id, True)
    assert (last_again.id, last_again.existed) == (outcomes[len(first) - 1].id, True)
    assert us_client.head().seq == len(first) + 1


def test_conflicting_head_gets_failed_precondition_with_head(
    us_client: NodeClient, federation: Federation
) -> None:
    first = us_client.publish([signed(federation, 1, "")])[0]
    rival = signed(federation, 1, "", value=0.9)
    with pytest.raises(ConflictError) as caught:
        us_client.publish([rival])
    assert caught.value.head_seq == 1 and caught.value.head_id == first.id
    assert "read the head" in str(caught.value)
    with pytest.raises(grpc.RpcError) as raw:
        signer = CallSigner(federation.keys["us-aisi"], "us-aisi", us_client.federation_id)
        NodeStub(us_client.connection.channel(signer)).Publish(PublishRequest(envelopes=[rival]))
    assert raw.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert us_client.head().seq == 1


def test_pipelined_batches_that_arrive_out_of_order_are_all_stored(
    us_client: NodeClient, federation: Federation
) -> None:
    """A publisher sends batch k+1 before batch k is answered: a small batch k+1 is checked
    before a large batch k and reaches the store first. The node keeps it until batch k is
    stored instead of refusing it (the publisher would have to sign everything again)."""
    chain = signed_chain(federation, 400)
    late_small = us_client.publish_async(chain[300:])
    early_large = us_client.publish_async(chain[:300])
    assert [p.seq for p in late_small.result()] == list(range(301, 401))
    assert [p.seq for p in early_large.result()] == list(range(1, 301))
    head = us_client.head()
    assert (head.seq, head.id) == (400, record_id(chain[-1].payload))


def test_a_batch_beyond_the_head_with_none_before_it_is_refused(
    us_client: NodeClient, federation: Federation
) -> None:
    """The wait is only for batches still on their way: with none, a gap is a conflict."""
    chain = signed_chain(federation, 3)
    with pytest.raises(ConflictError, match="does not extend the head") as caught:
        us_client.publish(chain[2:])
    assert caught.value.head_seq == 0
    assert us_client.head().seq == 0


def signed_chain(federation: Federation, count: int) -> list[Envelope]:
    """US's first `count` records, each following the one before."""
    chain: list[Envelope] = []
    for seq in range(1, count + 1):
        prev = record_id(chain[-1].payload) if chain else ""
        chain.append(signed(federation, seq, prev, value=seq / count))
    return chain


def test_publisher_retries_when_head_moves(us_client: NodeClient, federation: Federation) -> None:
    """Another publisher appends between our head read and our publish: we re-sign and land."""
    us_client.publish([signed(federation, 1, "")])
    outcome = publish_records(us_client, [new_result_record(result(value=0.7), MEMBERS)])[0]
    assert outcome.seq == 2


def test_a_head_moved_mid_stream_is_read_again_and_the_rest_re_signed(
    us_client: NodeClient, federation: Federation
) -> None:
    """Another publisher appends while the stream has batches at the node: the batches it
    displaced are signed again at the new head, and every result is stored once."""
    count = FIRST_BATCH_RECORDS + 100
    bodies = [new_result_record(result(value=i / count), MEMBERS) for i in range(count)]
    rival = new_result_record(result(task="rival"), MEMBERS)

    def groups() -> Iterator[tuple[int, list[Record]]]:
        for i, body in enumerate(bodies):
            if i == FIRST_BATCH_RECORDS:  # the first batch is signed and sent by now
                with NodeClient(us_client.address, federation.keys["us-aisi"]) as other:
                    publish_records(other, [rival])
            yield i, [body]

    outcomes = [o for _, (o,) in publish_groups(us_client, groups(), count)]

    assert not any(o.existed for o in outcomes)
    assert sorted(o.seq for o in outcomes) != list(range(1, count + 1))  # the rival took one
    assert len({o.id for o in outcomes}) == count
    assert us_client.head().seq == count + 1
    stored = {r.id for r in us_client.query(QueryRequest(origin="us-aisi", page_size=1000))}
    assert {o.id for o in outcomes} < stored and len(stored) == count + 1


def test_a_long_stream_lets_go_of_what_the_node_holds(us_client: NodeClient) -> None:
    """Publishing a folder of a million files must not keep them all: once the node has
    stored a batch, its files' results are let go (the node finds any repeat of them)."""

    class Bodies(list[Record]):
        """A group's bodies, which a weak reference can watch."""

    held: list[weakref.ref[Bodies]] = []

    def groups() -> Iterator[tuple[int, Bodies]]:
        for i in range(3 * FIRST_BATCH_RECORDS):
            bodies = Bodies([new_result_record(result(value=i / 1000), MEMBERS)])
            held.append(weakref.ref(bodies))
            yield i, bodies

    for tag, _ in publish_groups(us_client, groups(), 3 * FIRST_BATCH_RECORDS):
        if tag == 2 * FIRST_BATCH_RECORDS:  # the first batch is stored by now
            gc.collect()
            assert [ref() for ref in held[:FIRST_BATCH_RECORDS]] == [None] * FIRST_BATCH_RECORDS
            break


def test_batch_is_atomic(us_client: NodeClient, federation: Federation) -> None:
    one = signed(federation, 1, "")
    broken = signed(federation, 3, record_id(one.payload), value=0.6)
    with pytest.raises(ConflictError):
        us_client.publish([one, broken])
    assert us_client.head().seq == 0
    assert list(us_client.query(QueryRequest())) == []


def test_other_institutes_record_is_refused(node, federation: Federation) -> None:
    with (
        NodeClient(node.address, federation.keys["uk-aisi"]) as uk,
        pytest.raises(PermissionDeniedError, match="own institute's node"),
    ):
        publish_records(uk, [new_result_record(result(), MEMBERS)])
    with NodeClient(node.address, federation.keys["us-aisi"]) as us:
        assert us.head().seq == 0


def test_unknown_signer_is_refused(us_client: NodeClient, federation: Federation) -> None:
    envelope = signed(federation, 1, "")
    envelope.signatures[0].sig = federation.keys["jp-aisi"].sign(b"anything")
    with pytest.raises(InvalidInputError, match="signature"):
        us_client.publish([envelope])
    assert us_client.head().seq == 0


def test_flipped_byte_is_refused(us_client: NodeClient, federation: Federation) -> None:
    envelope = signed(federation, 1, "")
    payload = bytearray(envelope.payload)
    payload[10] ^= 0x01
    envelope.payload = bytes(payload)
    with pytest.raises(InvalidInputError):
        us_client.publish([envelope])
    assert us_client.head().seq == 0


def test_empty_and_oversized_batches(us_client: NodeClient, federation: Federation) -> None:
    with pytest.raises(InvalidInputError, match="no envelopes"):
        us_client.publish([])
    envelope = signed(federation, 1, "")
    with pytest.raises(LimitError, match="MAX_PUBLISH_BATCH"):
        us_client.publish([envelope] * (MAX_PUBLISH_BATCH + 1))
