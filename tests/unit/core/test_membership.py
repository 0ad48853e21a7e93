"""Membership derivation: thresholds of distinct institutes, keys by log position, and the
same state from the same records in any order."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalfed.client import membership_events as events
from evalfed.core.errors import UnknownSignerError
from evalfed.core.membership import Membership, derive
from evalfed.core.records import INSTITUTES, lane_of, lane_tag, record_id
from evalfed.core.timeutil import now_us
from evalfed.keys import PrivateKey
from evalfed.v1.envelope_pb2 import Envelope
from tests.conftest import Federation
from tests.membership import join_request, signed_event
from tests.results import result

JP = PrivateKey.generate()
KR = PrivateKey.generate()
SALT, OTHER_SALT = b"s" * 16, b"o" * 16


class Log:
    """One institute's log, built record by record."""

    def __init__(self, federation: Federation, origin: str) -> None:
        self.federation, self.origin, self.key = federation, origin, federation.keys[origin]
        self.seq, self.prev = 0, ""
        self.envelopes: list[Envelope] = []

    def add(self, body, key: PrivateKey | None = None, at: int | None = None) -> Envelope:
        self.seq += 1
        envelope = signed_event(self.federation, body, self.origin, self.seq, self.prev,
                                key or self.key, at)  # fmt: skip
        self.prev = record_id(envelope.payload)
        self.envelopes.append(envelope)
        return envelope


def state_of(federation: Federation, envelopes) -> object:
    state = derive(federation.charter, envelopes)
    return (
        sorted(
            (m.institute, m.status, m.expelled_at_us, sorted(m.endorsed_by),
             [(p.key.key_id, p.from_seq, p.until_seq, p.revoked) for p in m.keys])
            for m in state.members.values()
        ),
        sorted((p.request.institute, sorted(p.endorsed_by)) for p in state.pending.values()),
    )  # fmt: skip


def history(federation: Federation) -> list[Envelope]:
    """JP joins (US twice, then UK), then JP endorses KR, CA endorses KR; UK rotates;
    US and JP vote to expel CA."""
    us, uk, ca, jp = (Log(federation, o) for o in ("us-aisi", "uk-aisi", "ca-aisi", "jp-aisi"))
    jp.key = JP
    jp_request = join_request(federation, "jp-aisi", JP)
    kr_request = join_request(federation, "kr-aisi", KR)
    us.add(events.endorsement(jp_request))
    us.add(events.endorsement(jp_request))
    uk.add(events.endorsement(jp_request))
    jp.add(events.endorsement(kr_request))
    ca.add(events.endorsement(kr_request))
    new_uk = PrivateKey.generate()
    fed_id = federation.charter.federation_id
    uk.add(events.rotation(fed_id, "uk-aisi", uk.key.key_id, new_uk))
    uk.add(events.expulsion("ca-aisi"), key=new_uk)
    us.add(events.expulsion("ca-aisi"))
    return us.envelopes + uk.envelopes + ca.envelopes + jp.envelopes


def test_history_gives_the_expected_state(federation: Federation) -> None:
    state = derive(federation.charter, history(federation))
    members = state.members
    assert members["jp-aisi"].status == "admitted"
    assert members["jp-aisi"].endorsed_by == {"us-aisi", "uk-aisi"}
    assert members["kr-aisi"].endorsed_by == {"jp-aisi", "ca-aisi"}
    uk_keys = members["uk-aisi"].keys
    assert [(p.from_seq, p.until_seq) for p in uk_keys] == [(1, 2), (3, None)]
    assert members["ca-aisi"].expelled
    assert not state.pending


def test_one_institute_twice_is_one_endorsement(federation: Federation) -> None:
    us = Log(federation, "us-aisi")
    request = join_request(federation, "jp-aisi", JP)
    us.add(events.endorsement(request))
    us.add(events.endorsement(request))
    membership = Membership(federation.charter, us.envelopes)
    assert not membership.is_member("jp-aisi")
    assert "pending admission: 1 of 2" in membership.not_member_reason("jp-aisi")


def test_pending_institutes_endorsements_count_for_nothing(federation: Federation) -> None:
    """KR's request endorsed by pending JP and one member stays pending; JP's own key can't
    supply approvals for itself either."""
    us, jp = Log(federation, "us-aisi"), Log(federation, "jp-aisi")
    jp.key = JP
    jp.add(events.endorsement(join_request(federation, "jp-aisi", JP)))
    jp.add(events.endorsement(join_request(federation, "kr-aisi", KR)))
    us.add(events.endorsement(join_request(federation, "kr-aisi", KR)))
    membership = Membership(federation.charter, us.envelopes + jp.envelopes)
    assert not membership.is_member("jp-aisi")
    assert not membership.is_member("kr-aisi")


def test_rotated_out_key_cannot_sign_later_records(federation: Federation) -> None:
    us = Log(federation, "us-aisi")
    new = PrivateKey.generate()
    fed_id = federation.charter.federation_id
    us.add(events.rotation(fed_id, "us-aisi", us.key.key_id, new))
    membership = Membership(federation.charter, us.envelopes)
    old_id = federation.keys["us-aisi"].key_id
    assert membership.signing_key("us-aisi", old_id, 1, 0).key_id == old_id
    with pytest.raises(UnknownSignerError, match="rotated out at seq 1"):
        membership.signing_key("us-aisi", old_id, 2, 0)
    assert membership.signing_key("us-aisi", new.key_id, 2, 0).key_id == new.key_id


def test_outside_the_members_lane_a_rotation_ends_the_old_key_at_its_issue_time(
    federation: Federation,
) -> None:
    """A public or restricted record has no place in the members lane, where the rotation
    is: there the old key signs what was issued before the rotation, the new key what after."""
    us = Log(federation, "us-aisi")
    new = PrivateKey.generate()
    before = now_us()
    us.add(events.rotation(federation.charter.federation_id, "us-aisi", us.key.key_id, new))
    after = now_us() + 1
    membership = Membership(federation.charter, us.envelopes)
    old_id = federation.keys["us-aisi"].key_id
    for lane in ("public", lane_of("us-aisi", INSTITUTES, ["uk-aisi"], None)):
        assert membership.signing_key("us-aisi", old_id, 7, before - 1, lane).key_id == old_id
        with pytest.raises(UnknownSignerError, match="rotated out at 20"):
            membership.signing_key("us-aisi", old_id, 1, after, lane)
        assert membership.signing_key("us-aisi", new.key_id, 1, after, lane).key_id == new.key_id
        with pytest.raises(UnknownSignerError, match="signs from 20"):
            membership.signing_key("us-aisi", new.key_id, 1, before - 1, lane)


def test_rotation_without_proof_of_possession_is_ignored(federation: Federation) -> None:
    us = Log(federation, "us-aisi")
    body = events.rotation(federation.charter.federation_id, "us-aisi", us.key.key_id, JP)
    body.rotation.possession = KR.sign(b"something else")
    us.add(body)
    membership = Membership(federation.charter, us.envelopes)
    assert [k.key_id for k in membership.keys_for("us-aisi")] == [us.key.key_id]


def test_compromised_key_voids_what_it_signed_since(federation: Federation) -> None:
    us = Log(federation, "us-aisi")
    new = PrivateKey.generate()
    old_id = us.key.key_id
    us.add(events.rotation(federation.charter.federation_id, "us-aisi", old_id, new))
    us.add(events.revocation(old_id, "leaked", compromised_since_us=5_000), key=new)
    membership = Membership(federation.charter, us.envelopes)
    assert membership.signing_key("us-aisi", old_id, 1, 4_999)
    with pytest.raises(UnknownSignerError, match="compromised since"):
        membership.signing_key("us-aisi", old_id, 1, 5_000)
    assert membership.institute_of_key(old_id) is None


def test_results_are_not_membership_records(federation: Federation) -> None:
    from evalfed.v1.record_pb2 import Record

    us = Log(federation, "us-aisi")
    us.add(Record(result=result()))
    assert state_of(federation, us.envelopes) == state_of(federation, [])


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_order_and_duplicates_give_the_same_state(federation: Federation, data) -> None:
    records = history(federation)
    expected = state_of(federation, records)
    shuffled = data.draw(st.permutations(records))
    repeats = data.draw(st.lists(st.sampled_from(records), max_size=5))
    assert state_of(federation, list(shuffled) + repeats) == expected


YEAR_US = 365 * 24 * 3600 * 1_000_000


def test_an_endorsement_signed_in_a_compromise_window_admits_nobody(
    federation: Federation,
) -> None:
    """US's endorsement is signed after the time its key is later said to be compromised
    since: once the revocation is known, JP's admission falls away, whatever the order in
    which the records were applied (the revocation comes later in US's log)."""
    us, uk = Log(federation, "us-aisi"), Log(federation, "uk-aisi")
    request = join_request(federation, "jp-aisi", JP)
    leak = now_us() - 60_000_000
    us.add(events.endorsement(request), at=leak + 1)
    uk.add(events.endorsement(request))
    before = Membership(federation.charter, us.envelopes + uk.envelopes)
    assert before.is_member("jp-aisi")
    new = PrivateKey.generate()
    old_id = us.key.key_id
    us.add(events.rotation(federation.charter.federation_id, "us-aisi", old_id, new))
    us.add(events.revocation(old_id, "leaked", compromised_since_us=leak), key=new)
    after = Membership(federation.charter, us.envelopes + uk.envelopes)
    assert not after.is_member("jp-aisi")
    assert "pending admission: 1 of 2" in after.not_member_reason("jp-aisi")
    assert after.signing_key("us-aisi", new.key_id, 4, now_us()).key_id == new.key_id


def test_a_backdated_expulsion_vote_does_not_move_the_expulsion_back(
    federation: Federation,
) -> None:
    """US's vote, the last in the canonical order, claims ten years ago; UK voted now. CA
    is expelled from when both had voted: now, so its records of the years before stand."""
    us, uk = Log(federation, "us-aisi"), Log(federation, "uk-aisi")
    now = now_us()
    uk.add(events.expulsion("ca-aisi"), at=now)
    us.add(events.expulsion("ca-aisi"), at=now - 10 * YEAR_US)
    state = derive(federation.charter, us.envelopes + uk.envelopes)
    assert state.members["ca-aisi"].expelled_at_us == now
    ca_id = federation.keys["ca-aisi"].key_id
    assert state.signing_key("ca-aisi", ca_id, 1, now - YEAR_US)
    with pytest.raises(UnknownSignerError, match="expelled"):
        state.signing_key("ca-aisi", ca_id, 1, now)


def test_a_rotation_naming_lane_heads_ends_the_old_key_by_position(
    federation: Federation,
) -> None:
    """Outside the members lane the old key signs up to the heads the rotation names (a
    restricted lane by its tag), and nothing past them however early the record says it was
    issued: nor in a fresh lane, nor under another salt, nor without a salt; the new key the
    rest."""
    us = Log(federation, "us-aisi")
    new = PrivateKey.generate()
    old_id = us.key.key_id
    restricted = lane_of("us-aisi", INSTITUTES, ["uk-aisi"], None)
    fresh = lane_of("us-aisi", INSTITUTES, ["jp-aisi"], None)
    heads = {"public": 3, lane_tag(restricted, SALT): 5}
    us.add(events.rotation(federation.charter.federation_id, "us-aisi", old_id, new, heads))
    membership = Membership(federation.charter, us.envelopes)
    long_ago = now_us() - 5 * YEAR_US
    assert membership.signing_key("us-aisi", old_id, 3, now_us(), "public").key_id == old_id
    assert membership.signing_key("us-aisi", old_id, 5, long_ago, restricted, SALT)
    for lane, seq, salt in (
        ("public", 4, b""),
        (restricted, 6, SALT),
        (restricted, 2, OTHER_SALT),
        (restricted, 2, b""),
        (fresh, 1, OTHER_SALT),
        (fresh, 1, b""),
    ):
        with pytest.raises(UnknownSignerError, match="rotated out at"):
            membership.signing_key("us-aisi", old_id, seq, long_ago, lane, salt)
        assert membership.signing_key("us-aisi", new.key_id, seq, long_ago, lane, salt)
    with pytest.raises(UnknownSignerError, match="signs from seq 4 of its lane"):
        membership.signing_key("us-aisi", new.key_id, 3, now_us(), "public")
    with pytest.raises(UnknownSignerError, match="signs from seq 6 of its lane"):
        membership.signing_key("us-aisi", new.key_id, 5, now_us(), restricted, SALT)


def test_lanes_begun_before_lane_salts_keep_the_time_rule_when_the_rotation_says_so(
    federation: Federation,
) -> None:
    """With `legacy_lanes`, a restricted record without a salt is judged by issue time (as
    before lane heads); salted lanes still by position."""
    us = Log(federation, "us-aisi")
    new = PrivateKey.generate()
    old_id = us.key.key_id
    legacy = lane_of("us-aisi", INSTITUTES, ["uk-aisi"], None)
    fed_id = federation.charter.federation_id
    before = now_us()
    us.add(events.rotation(fed_id, "us-aisi", old_id, new, {"public": 1}, legacy_lanes=True))
    after = now_us() + 1
    membership = Membership(federation.charter, us.envelopes)
    assert membership.signing_key("us-aisi", old_id, 9, before - 1, legacy).key_id == old_id
    with pytest.raises(UnknownSignerError, match="rotated out at 20"):
        membership.signing_key("us-aisi", old_id, 9, after, legacy)
    with pytest.raises(UnknownSignerError, match="rotated out at seq 0"):
        membership.signing_key("us-aisi", old_id, 1, before - 1, legacy, SALT)
    assert membership.signing_key("us-aisi", new.key_id, 10, after, legacy)


def test_lane_heads_never_name_a_restricted_lane(federation: Federation) -> None:
    """Only the members and public lanes go by name; a restricted lane by its tag, which
    depends on the lane's salt."""
    restricted = lane_of("us-aisi", INSTITUTES, ["uk-aisi"], None)
    with pytest.raises(ValueError, match="by its tag"):
        events.lane_heads({restricted: 1})
    tag = lane_tag(restricted, SALT)
    assert len(tag) == 64 and tag != lane_tag(restricted, OTHER_SALT)
    named = events.lane_heads({"": 1, "public": 2, tag: 3})
    assert [(h.lane, h.tag, h.seq) for h in named.heads] == [
        ("", "", 1), ("", tag, 3), ("public", "", 2)
    ]  # fmt: skip


def test_an_expelled_member_signs_nothing_past_the_heads_its_votes_name(
    federation: Federation,
) -> None:
    """The votes name CA's heads as each voter holds them; per lane the highest counts, and
    a backdated record past them (a fresh lane among them) is void."""
    us, uk = Log(federation, "us-aisi"), Log(federation, "uk-aisi")
    shared = lane_of("ca-aisi", INSTITUTES, ["uk-aisi"], None)
    fresh = lane_of("ca-aisi", INSTITUTES, ["jp-aisi"], None)
    tag = lane_tag(shared, SALT)
    uk.add(events.expulsion("ca-aisi", signed_up_to={"": 2, "public": 7, tag: 3}))
    us.add(events.expulsion("ca-aisi", signed_up_to={"": 4, "public": 5}))
    membership = Membership(federation.charter, us.envelopes + uk.envelopes)
    ca_id = federation.keys["ca-aisi"].key_id
    long_ago = now_us() - 5 * YEAR_US
    assert membership.signing_key("ca-aisi", ca_id, 7, long_ago, "public")
    assert membership.signing_key("ca-aisi", ca_id, 4, long_ago)
    assert membership.signing_key("ca-aisi", ca_id, 3, long_ago, shared, SALT)
    for lane, seq, salt in (
        ("public", 8, b""),
        ("", 5, b""),
        (shared, 4, SALT),
        (shared, 1, b""),
        (fresh, 1, OTHER_SALT),
    ):
        with pytest.raises(UnknownSignerError, match="expulsion votes name seq"):
            membership.signing_key("ca-aisi", ca_id, seq, long_ago, lane, salt)
