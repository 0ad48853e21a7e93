"""Real nodes: a key rotation names the origin's lane heads, in the members lane that every
member reads, without naming the restricted lanes (whose names any member could compute for
every small audience); and the rotated-out key still cannot backdate into them."""

from __future__ import annotations

import os
from itertools import combinations
from pathlib import Path

import pytest

from evalfed.client import membership_events as events
from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.core.errors import InvalidInputError
from evalfed.core.records import INSTITUTES, audience_from_text, lane_of, parse_record, record_id
from evalfed.core.timeutil import now_us
from evalfed.keys import PrivateKey
from evalfed.server.storage.store import Viewer
from evalfed.v1.node_pb2 import QueryRequest
from tests.conftest import FOUNDERS, OUTSIDERS, Federation, wait_for
from tests.integration.test_membership_order import relay, rotate_by_cli
from tests.membership import signed_event
from tests.results import result

PUBLIC = audience_from_text("public")
TO_UK = audience_from_text("uk-aisi")
DAY_US = 24 * 3600 * 1_000_000


def candidate_lanes(origin: str) -> set[str]:
    """Every restricted lane `origin` could have without an embargo: one per audience."""
    others = sorted(set(FOUNDERS + OUTSIDERS) - {origin})
    return {
        lane_of(origin, INSTITUTES, audience, None)
        for size in range(1, len(others) + 1)
        for audience in combinations(others, size)
    }


def test_a_rotation_names_no_restricted_lane_and_still_ends_the_old_key_there(
    make_node, serve_partner, federation: Federation, tmp_path: Path, capsys
) -> None:
    """US shares two records with UK alone, then rotates its key by the CLI. CA, a member
    outside that audience, reads the rotation record and finds no restricted lane's name in
    it. The old key then signs, backdated, a record past the UK-only lane's head, one opening
    a fresh restricted lane and one in a lane with no salt: UK refuses all three, and keeps
    the honest records of both keys."""
    us = make_node("us-aisi")
    uk = make_node("uk-aisi", peers=(us.address,))
    old = federation.keys["us-aisi"]
    with NodeClient(us.address, old) as client:
        honest = [o.id for o in publish_records(client, [
            new_result_record(result(task="to-uk-1"), TO_UK),
            new_result_record(result(task="to-uk-2"), TO_UK),
            new_result_record(result(task="public"), PUBLIC),
        ])]  # fmt: skip
        salt = parse_record(client.get(honest[1]).record.envelope).lane_salt
    new = rotate_by_cli(capsys, us, federation, tmp_path)

    with NodeClient(us.address, federation.keys["ca-aisi"]) as ca:
        seen = list(ca.query(QueryRequest()))
    assert not {honest[0], honest[1]} & {r.id for r in seen}
    rotations = [r for r in seen if parse_record(r.envelope).WhichOneof("body") == "rotation"]
    assert len(rotations) == 1
    payload = rotations[0].envelope.payload
    named = [name for name in candidate_lanes("us-aisi") if name.encode() in payload]
    assert named == [], f"the rotation names restricted lanes {named}"
    heads = parse_record(rotations[0].envelope).rotation.signed_up_to.heads
    named_heads = sorted((h.lane, h.seq, bool(h.tag)) for h in heads)
    assert named_heads == [("", 2, True), ("public", 1, False)]

    wait_for(uk, lambda: len(uk.service.membership.state.members["us-aisi"].keys) == 2)
    with NodeClient(us.address, new) as client:
        honest.append(
            publish_records(client, [new_result_record(result(task="to-uk-3"), TO_UK)])[0].id
        )
    wait_for(uk, lambda: uk.store.get(honest[3], Viewer("uk-aisi")) is not None)

    before = now_us() - 30 * DAY_US
    past_head = new_result_record(result(task="past-head"), TO_UK)
    past_head.lane_salt = salt
    fresh = new_result_record(result(task="fresh"), audience_from_text("uk-aisi,ca-aisi"))
    fresh.lane_salt = os.urandom(16)
    unsalted = new_result_record(result(task="unsalted"), audience_from_text("jp-aisi"))
    forged = [
        signed_event(federation, past_head, "us-aisi", 3, honest[1], old, before),
        signed_event(federation, fresh, "us-aisi", 1, "", old, before),
        signed_event(federation, unsalted, "us-aisi", 1, "", old, before),
    ]
    attack = relay(serve_partner, uk, federation, *forged)
    wait_for(uk, lambda: uk.links.stats()[attack].rejected["unknownsigner"] == len(forged))
    assert all(uk.store.get(record_id(e.payload), Viewer("uk-aisi")) is None for e in forged)
    rows = [uk.store.get(i, Viewer("uk-aisi")) for i in honest]
    assert all(row is not None and row.void_reason == "" for row in rows)


def test_a_lane_begun_before_lane_salts_keeps_its_records_through_a_rotation(
    make_node, federation: Federation, tmp_path: Path, capsys
) -> None:
    """US has a UK-only lane without a salt (published before lane salts) and rotates by the
    CLI: the rotation says the origin has such lanes, names none of them, and UK keeps the old
    key's records there. A rotation naming that lane in plain is refused."""
    us = make_node("us-aisi")
    uk = make_node("uk-aisi", peers=(us.address,))
    old = federation.keys["us-aisi"]
    first = signed_event(federation, new_result_record(result(task="legacy-1"), TO_UK),
                         "us-aisi", 1, "", old)  # fmt: skip
    second = signed_event(federation, new_result_record(result(task="legacy-2"), TO_UK),
                          "us-aisi", 2, record_id(first.payload), old)  # fmt: skip
    legacy = [first, second]
    with NodeClient(us.address, old) as client:
        client.publish(legacy)
        plain = events.rotation(federation.charter.federation_id, "us-aisi", old.key_id,
                                PrivateKey.generate(), {})  # fmt: skip
        plain.rotation.signed_up_to.heads.add(lane=lane_of("us-aisi", INSTITUTES, ["uk-aisi"],
                                                           None), seq=2)  # fmt: skip
        with pytest.raises(InvalidInputError, match="which every member would see"):
            publish_records(client, [plain])
    rotate_by_cli(capsys, us, federation, tmp_path)
    with NodeClient(us.address, federation.keys["ca-aisi"]) as ca:
        rotation = next(
            parse_record(r.envelope).rotation
            for r in ca.query(QueryRequest())
            if parse_record(r.envelope).WhichOneof("body") == "rotation"
        )
    assert rotation.signed_up_to.legacy_lanes and not rotation.signed_up_to.heads
    wait_for(uk, lambda: len(uk.service.membership.state.members["us-aisi"].keys) == 2)
    wait_for(uk, lambda: all(uk.store.get(record_id(e.payload), Viewer("uk-aisi")) for e in legacy))
    rows = [uk.store.get(record_id(e.payload), Viewer("uk-aisi")) for e in legacy]
    assert all(row is not None and row.void_reason == "" for row in rows)
