"""Placing records in their lanes: outside the members lane, where keys are valid by issue
time, a record issued before the one it follows is refused."""

from __future__ import annotations

import pytest

from evalfed.core.chain import Fit, HeldIds, place
from evalfed.core.checks import VerifiedRecord, check_envelope
from evalfed.core.errors import ChainError
from evalfed.core.membership import Membership
from evalfed.core.records import audience_from_text
from evalfed.v1.record_pb2 import Record
from tests.conftest import Federation
from tests.membership import signed_event
from tests.results import result


def lane_records(federation: Federation, audience: str, issued: list[int]) -> list[VerifiedRecord]:
    """US records 1, 2, ... of one audience's lane, chained, issued at these times."""
    membership = Membership(federation.charter, [])
    records, prev = [], ""
    for seq, at in enumerate(issued, start=1):
        body = Record(result=result(value=seq / 10), audience=audience_from_text(audience))
        envelope = signed_event(
            federation, body, "us-aisi", seq, prev, federation.keys["us-aisi"], at
        )
        records.append(check_envelope(envelope, membership))
        prev = records[-1].id
    return records


@pytest.mark.parametrize("audience", ["uk-aisi", "public"])
def test_a_record_issued_before_the_one_it_follows_is_refused(
    federation: Federation, audience: str
) -> None:
    first, second, third = lane_records(federation, audience, [2_000_000, 1_000_000, 2_000_000])
    held = HeldIds()
    assert place(first, held) is Fit.NEW
    with pytest.raises(ChainError, match="before the record it follows in its lane"):
        place(second, held)
    held.add("us-aisi", first.facts.lane, 2, second.id, 1_000_000, first.id)  # were it held
    assert place(third, held) is Fit.NEW


def test_in_the_members_lane_issue_times_may_go_back(federation: Federation) -> None:
    """There keys are valid by seq, so a clock set back harms nothing."""
    held = HeldIds()
    assert [place(r, held) for r in lane_records(federation, "", [2_000_000, 1_000_000])] == [
        Fit.NEW,
        Fit.NEW,
    ]


def test_a_gap_filler_the_next_record_does_not_name_is_a_fork(federation: Federation) -> None:
    first, second, third = lane_records(federation, "", [1_000_000, 2_000_000, 3_000_000])
    rival = lane_records(federation, "", [1_000_000, 2_500_000])[1]  # its prev: first
    rival_held = HeldIds()
    assert [place(r, rival_held) for r in (first, third)] == [Fit.NEW, Fit.NEW]
    held = HeldIds()
    assert [place(r, held) for r in (first, third, second)] == [Fit.NEW] * 3
    assert place(rival, rival_held) is Fit.FORK
