"""Reading from a real node: queries with filters and paging, audiences, bundles."""

from __future__ import annotations

import pytest

from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.core.bundles import verify_bundle
from evalfed.core.errors import InvalidInputError, NotFoundError, SignatureError
from evalfed.core.records import audience_from_text
from evalfed.v1.node_pb2 import QueryRequest
from tests.conftest import Federation
from tests.results import result


def test_query_filters_and_paging(us_client: NodeClient) -> None:
    bodies = [
        new_result_record(result(model=model, task=task, value=i / 10), audience_from_text(""))
        for i, (model, task) in enumerate(
            [(m, t) for m in ("openai/gpt-4o", "anthropic/claude") for t in ("gpqa", "mmlu", "hle")]
        )
    ]
    outcomes = publish_records(us_client, bodies)
    ids = [o.id for o in outcomes]
    by_model = list(us_client.query(QueryRequest(model="anthropic/claude")))
    assert {r.id for r in by_model} == set(ids[3:])
    by_task = list(us_client.query(QueryRequest(task="mmlu")))
    assert {r.id for r in by_task} == {ids[1], ids[4]}
    both = list(us_client.query(QueryRequest(model="openai/gpt-4o", task="hle")))
    assert [r.id for r in both] == [ids[2]]
    assert list(us_client.query(QueryRequest(origin="uk-aisi"))) == []

    first = us_client.query_page(QueryRequest(page_size=4))
    assert len(first.records) == 4 and first.next_page_token
    second = us_client.query_page(QueryRequest(page_size=4, page_token=first.next_page_token))
    assert len(second.records) == 2 and not second.next_page_token
    paged = [r.id for r in first.records] + [r.id for r in second.records]
    assert paged == list(reversed(ids))


def test_bad_page_token(us_client: NodeClient) -> None:
    with pytest.raises(InvalidInputError, match="page_token"):
        us_client.query_page(QueryRequest(page_token="garbage!"))


def test_audience_decides_who_sees(node, federation: Federation) -> None:
    with NodeClient(node.address, federation.keys["us-aisi"]) as us:
        public, members, us_only = (
            publish_records(us, [new_result_record(result(task=t), audience_from_text(a))])[0].id
            for t, a in (("a", "public"), ("b", "members"), ("c", "us-aisi"))
        )
        assert {r.id for r in us.query(QueryRequest())} == {public, members, us_only}
    with NodeClient(node.address, federation.keys["uk-aisi"]) as uk:
        assert {r.id for r in uk.query(QueryRequest())} == {public, members}
        with pytest.raises(NotFoundError):
            uk.get(us_only)
    with NodeClient(node.address) as anonymous:
        assert {r.id for r in anonymous.query(QueryRequest())} == {public}
        with pytest.raises(NotFoundError):
            anonymous.get(members)


def test_past_embargo_widens_to_members(node, federation: Federation) -> None:
    with NodeClient(node.address, federation.keys["us-aisi"]) as us:
        past = 3600 * 10**6  # the first whole hour
        body = new_result_record(result(), audience_from_text("us-aisi"), embargo_until_us=past)
        embargoed = publish_records(us, [body])[0].id
        future = new_result_record(
            result(task="later"), audience_from_text("us-aisi"), embargo_until_us=past * 10**9
        )
        hidden = publish_records(us, [future])[0].id
    with NodeClient(node.address, federation.keys["uk-aisi"]) as uk:
        assert {r.id for r in uk.query(QueryRequest())} == {embargoed}
        with pytest.raises(NotFoundError):
            uk.get(hidden)


def test_bundle_verifies_offline_and_detects_tampering(
    us_client: NodeClient, federation: Federation
) -> None:
    outcome = publish_records(us_client, [new_result_record(result(), audience_from_text(""))])[0]
    bundle = us_client.get(outcome.id, bundle=True).bundle
    verified = verify_bundle(bundle, federation.charter)
    assert verified.id == outcome.id

    for part in ("payload", "sig"):
        tampered = type(bundle)()
        tampered.CopyFrom(bundle)
        if part == "payload":
            data = bytearray(tampered.record.payload)
            data[20] ^= 0x01
            tampered.record.payload = bytes(data)
        else:
            data = bytearray(tampered.record.signatures[0].sig)
            data[5] ^= 0x01
            tampered.record.signatures[0].sig = bytes(data)
        with pytest.raises((SignatureError, InvalidInputError)):
            verify_bundle(tampered, federation.charter)


def test_get_unknown_and_malformed_ids(us_client: NodeClient) -> None:
    with pytest.raises(NotFoundError):
        us_client.get("ab" * 32)
    with pytest.raises(InvalidInputError, match="64 lowercase hex"):
        us_client.get("not-an-id")
