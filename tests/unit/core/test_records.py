"""Building, signing and checking records against the membership, with no IO."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evalfed.core.checks import check_envelope
from evalfed.core.errors import InvalidInputError, SignatureError, UnknownSignerError
from evalfed.core.membership import Membership
from evalfed.core.records import (
    INSTITUTES,
    MEMBERS_LANE,
    PUBLIC_LANE,
    audience_from_text,
    audience_text,
    body_digest,
    check_lane,
    lane_of,
    lane_tag,
    record_id,
    sign_record,
)
from evalfed.core.timeutil import now_us, timestamp_of_us
from evalfed.core.validate import check_record
from evalfed.v1.record_pb2 import Audience, KeyRotation, LaneHead, Record
from tests.conftest import Federation
from tests.results import result


def make_record(federation: Federation, origin: str = "us-aisi", **fields: object) -> Record:
    record = Record(
        federation_id=federation.charter.federation_id,
        origin=origin,
        seq=1,
        key_id=federation.keys[origin].key_id,
        result=result(),
    )
    record.issued_at.CopyFrom(timestamp_of_us(now_us()))
    for name, value in fields.items():
        setattr(record, name, value)
    return record


def test_signed_record_checks_out(federation: Federation) -> None:
    envelope = sign_record(make_record(federation), federation.keys["us-aisi"])
    verified = check_envelope(envelope, Membership(federation.charter))
    assert verified.id == record_id(envelope.payload)
    assert verified.origin == "us-aisi" and verified.seq == 1
    assert verified.facts.model == "openai/gpt-4o-mini"


def test_flipped_payload_byte_fails(federation: Federation) -> None:
    envelope = sign_record(make_record(federation), federation.keys["us-aisi"])
    payload = bytearray(envelope.payload)
    payload[-3] ^= 0x01
    envelope.payload = bytes(payload)
    with pytest.raises((SignatureError, InvalidInputError)):
        check_envelope(envelope, Membership(federation.charter))


def test_flipped_signature_byte_fails(federation: Federation) -> None:
    envelope = sign_record(make_record(federation), federation.keys["us-aisi"])
    sig = bytearray(envelope.signatures[0].sig)
    sig[0] ^= 0x80
    envelope.signatures[0].sig = bytes(sig)
    with pytest.raises(SignatureError):
        check_envelope(envelope, Membership(federation.charter))


def test_record_claiming_another_origin_is_refused(federation: Federation) -> None:
    """US signs a record that says it comes from the UK: the UK's keys do not match."""
    record = make_record(federation, origin="us-aisi")
    record.origin = "uk-aisi"
    with pytest.raises(UnknownSignerError):
        check_envelope(
            sign_record(record, federation.keys["us-aisi"]), Membership(federation.charter)
        )


def test_non_member_is_refused(federation: Federation) -> None:
    record = make_record(federation)
    record.origin = "jp-aisi"
    record.key_id = federation.keys["jp-aisi"].key_id
    with pytest.raises(UnknownSignerError, match="not a member"):
        check_envelope(
            sign_record(record, federation.keys["jp-aisi"]), Membership(federation.charter)
        )


def test_other_federation_is_refused(federation: Federation) -> None:
    record = make_record(federation, federation_id="0" * 64)
    with pytest.raises(InvalidInputError, match="federation"):
        check_envelope(
            sign_record(record, federation.keys["us-aisi"]), Membership(federation.charter)
        )


def _prev_with_newline(record: Record) -> None:
    record.seq, record.prev = 2, "ab" * 32 + "\n"


def _audience_with_newline(record: Record) -> None:
    record.audience.scope = Audience.SCOPE_INSTITUTES
    record.audience.institutes.append("uk-aisi\n")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.result.model.ClearField("id"), "model.id"),
        (lambda r: r.result.task.ClearField("name"), "task.name"),
        (lambda r: r.ClearField("result"), "no body"),
        (lambda r: setattr(r, "seq", 2), "prev"),
        (lambda r: setattr(r, "prev", "ab" * 32), "no prev"),
        (lambda r: r.ClearField("issued_at"), "issued_at"),
        # A trailing newline is not part of a valid id or name.
        (_prev_with_newline, "needs prev"),
        (lambda r: setattr(r, "key_id", r.key_id + "\n"), "key_id"),
        (lambda r: setattr(r.result.source, "sha256", "ab" * 32 + "\n"), "sha256"),
        (_audience_with_newline, "institute id"),
    ],
)
def test_field_rules(federation: Federation, change, message: str) -> None:
    record = make_record(federation)
    change(record)
    with pytest.raises(InvalidInputError, match=message):
        check_envelope(
            sign_record(record, federation.keys["us-aisi"]), Membership(federation.charter)
        )


def test_wrong_payload_type(federation: Federation) -> None:
    envelope = sign_record(make_record(federation), federation.keys["us-aisi"])
    envelope.payload_type = "application/json"
    with pytest.raises(InvalidInputError, match="payload type"):
        check_envelope(envelope, Membership(federation.charter))


def test_audience_text_round_trip() -> None:
    assert audience_from_text("public").scope == Audience.SCOPE_PUBLIC
    assert audience_from_text("").scope == Audience.SCOPE_MEMBERS
    named = audience_from_text("uk-aisi, jp-aisi")
    assert list(named.institutes) == ["jp-aisi", "uk-aisi"]
    assert audience_text(named) == "jp-aisi,uk-aisi"
    with pytest.raises(InvalidInputError):
        audience_from_text("UK AISI")


def test_a_lane_names_an_audience_however_it_is_written() -> None:
    """The origin, order and repeats in a named audience do not change its lane; the embargo
    does; members and public have their own; check_lane takes exactly what lane_of gives."""
    lane = lane_of("us-aisi", INSTITUTES, ["uk-aisi", "ca-aisi"], None)
    assert lane == lane_of(
        "us-aisi", INSTITUTES, ["ca-aisi", "us-aisi", "uk-aisi", "ca-aisi"], None
    )
    assert lane != lane_of("us-aisi", INSTITUTES, ["uk-aisi"], None)
    assert lane != lane_of("us-aisi", INSTITUTES, ["uk-aisi", "ca-aisi"], 1)
    assert lane_of("us-aisi", Audience.SCOPE_MEMBERS, [], 5) == MEMBERS_LANE == ""
    assert lane_of("us-aisi", Audience.SCOPE_PUBLIC, [], None) == PUBLIC_LANE
    for good in (lane, MEMBERS_LANE, PUBLIC_LANE):
        assert check_lane(good) == good
    for bad in ("members", "to:uk-aisi", lane.upper(), lane + "0", "x" * 10_000):
        with pytest.raises(InvalidInputError, match="is not a lane"):
            check_lane(bad)


def test_a_lane_salt_is_for_restricted_lanes_and_lane_heads_name_them_by_tag(
    federation: Federation,
) -> None:
    """Membership records are read by every member: a restricted lane's name in their lane
    heads is refused (any member could match it against every small audience's)."""
    fed_id = federation.charter.federation_id
    salted = make_record(federation, lane_salt=b"s" * 16)
    salted.audience.CopyFrom(audience_from_text("uk-aisi"))
    assert check_record(salted, fed_id).lane.startswith("to:")
    for audience, salt, why in (
        ("uk-aisi", b"short", "a lane salt is 16 random bytes"),
        ("public", b"s" * 16, "only a restricted audience's records"),
        ("", b"s" * 16, "only a restricted audience's records"),
    ):
        bad = make_record(federation, lane_salt=salt)
        bad.audience.CopyFrom(audience_from_text(audience))
        with pytest.raises(InvalidInputError, match=why):
            check_record(bad, fed_id)
    restricted = lane_of("us-aisi", INSTITUTES, ["uk-aisi"], None)
    context = b"evalfed.lane-tag.v1\n"
    expected = hashlib.sha256(context + restricted.encode() + b"\n" + b"s" * 16).hexdigest()
    assert lane_tag(restricted, b"s" * 16) == expected
    for head, why in (
        (LaneHead(lane=restricted, seq=1), "by its name, which every member would see"),
        (LaneHead(lane="public", tag="a" * 64), "by the tag alone"),
        (LaneHead(tag="A" * 64), "by the tag alone"),
    ):
        rotation = KeyRotation(new_public_key=b"k" * 32, possession=b"p")
        rotation.signed_up_to.heads.append(head)
        record = make_record(federation)
        record.rotation.CopyFrom(rotation)
        with pytest.raises(InvalidInputError, match=why):
            check_record(record, fed_id)


NAMES = st.lists(st.sampled_from(["us-aisi", "uk-aisi", "ca-aisi", "jp-aisi", "kr-aisi"]))
EMBARGO = st.one_of(st.none(), st.integers(0, 2**62))


@given(NAMES, EMBARGO, NAMES, EMBARGO)
def test_two_audiences_share_a_lane_exactly_when_they_name_the_same_readers(
    one: list[str], one_embargo: int | None, other: list[str], other_embargo: int | None
) -> None:
    same = set(one) - {"us-aisi"} == set(other) - {"us-aisi"} and one_embargo == other_embargo
    lanes = [
        lane_of("us-aisi", INSTITUTES, n, e)
        for n, e in ((one, one_embargo), (other, other_embargo))
    ]
    assert (lanes[0] == lanes[1]) == same
    assert all(check_lane(lane) == lane for lane in lanes)


def test_body_digest_ignores_header_but_not_body(federation: Federation) -> None:
    a, b = make_record(federation), make_record(federation, seq=7)
    assert body_digest(a) == body_digest(b)
    b.result.scores[0].metrics[0].value = 0.9
    assert body_digest(a) != body_digest(b)


def test_overlong_scorer_and_metric_names_are_refused(federation: Federation) -> None:
    from evalfed.core.limits import MAX_TEXT
    from evalfed.core.validate import check_result

    long_scorer = result()
    long_scorer.scores[0].scorer = "s" * (MAX_TEXT + 1)
    long_metric = result()
    long_metric.scores[0].metrics[0].name = "m" * (MAX_TEXT + 1)
    for bad in (long_scorer, long_metric):
        with pytest.raises(InvalidInputError, match="MAX_TEXT"):
            check_result(bad)
