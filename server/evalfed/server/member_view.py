"""The membership state as the ListMembers response shows it."""

from __future__ import annotations

from evalfed.core.membership import MembershipState
from evalfed.core.timeutil import timestamp_of_us
from evalfed.v1 import node_pb2 as pb


def members_response(state: MembershipState) -> pb.ListMembersResponse:
    response = pb.ListMembersResponse()
    for institute in sorted(state.members):
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
    for pending in sorted(state.pending.values(), key=lambda p: (p.request.institute, p.id)):
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
