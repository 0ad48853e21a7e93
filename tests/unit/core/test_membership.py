"""Membership derivation: thresholds of distinct institutes, keys by log position, and the
same state from the same records in any order."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalfed.client import membership_events as events
from evalfed.core.errors import UnknownSignerError
from evalfed.core.membership import Membership, derive
from evalfed.core.records import INSTITUTES, lane_of, record_id
from evalfed.core.timeutil import now_us
from evalfed.keys import PrivateKey
from evalfed.v1.envelope_pb2 import Envelope
from tests.conftest import Federation
from tests.membership import join_request, signed_event
from tests.results import result

JP = PrivateKey.generate()
KR = PrivateKey.generate()


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
