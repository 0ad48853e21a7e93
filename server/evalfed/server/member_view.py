"""The membership state as the ListMembers response shows it."""

from __future__ import annotations

from evalfed.core.limits import MAX_MEMBERS_PAGE
from evalfed.core.membership import MembershipState, Pending
from evalfed.core.timeutil import timestamp_of_us
from evalfed.server.pages import page_after
from evalfed.v1 import node_pb2 as pb


def members_response(
    state: MembershipState, page_size: int = 0, page_token: str = ""
) -> pb.ListMembersResponse:
    """One page of members, then pending requests (MAX_MEMBERS_PAGE at most)."""
    pending_by_key: dict[tuple[str, ...], Pending] = {
        ("1", p.request.institute, p.id): p for p in state.pending.values()
    }
    keys: list[tuple[str, ...]] = [("0", institute) for institute in sorted(state.members)]
    keys += sorted(pending_by_key)
    page, token = page_after(keys, page_size, page_token, MAX_MEMBERS_PAGE, "MAX_MEMBERS_PAGE")
    response = pb.ListMembersResponse(next_page_token=token)
    shown = keys[page]
    for institute in (k[1] for k in shown if k[0] == "0"):
        member = state.members[institute]
        status = "expelled" if member.expelled else member.status
        if not member.expelled and member.keys and all(p.revoked for p in member.keys):
            status = "revoked"
        info = response.members.add(
            institute=institute,
            status=status,
            name=member.name,
            country=member.country,
            address=member.address,
            endorsed_by=sorted(member.endorsed_by),
        )
        for period in member.keys:
            key = info.keys.add(
                key_id=period.key.key_id,
                from_seq=period.from_seq,
                until_seq=period.until_seq or 0,
                revoked=period.revoked,
            )
            if period.compromised_since_us is not None:
                key.compromised_since.CopyFrom(timestamp_of_us(period.compromised_since_us))
    for pending in (pending_by_key[k] for k in shown if k[0] == "1"):
        response.pending.add(
            id=pending.id,
            institute=pending.request.institute,
            name=pending.request.name,
            country=pending.request.country,
            address=pending.request.address,
            endorsed_by=sorted(pending.endorsed_by),
            threshold=state.threshold,
            request=pending.envelope,
        )
    return response
