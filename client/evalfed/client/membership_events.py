"""Building membership records: endorsements, key rotations, revocations, expulsion votes.

Each is an ordinary record body; `publisher.publish_records` signs and appends it.
"""

from __future__ import annotations

from collections.abc import Mapping

from evalfed.core.joins import rotation_message
from evalfed.core.names import check_institute_id, is_hex64
from evalfed.core.records import MEMBERS_LANE, PUBLIC_LANE
from evalfed.core.timeutil import timestamp_of_us
from evalfed.keys import PrivateKey
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.record_pb2 import (
    Endorsement,
    Expulsion,
    KeyRevocation,
    KeyRotation,
    LaneHead,
    LaneHeads,
    Record,
)

Heads = Mapping[str, int]
"""One origin's lanes and, for each, its head seq: the members and public lanes by name,
restricted lanes by tag (`records.head_key`)."""


def lane_heads(heads: Heads, legacy_lanes: bool = False) -> LaneHeads:
    """`heads` as a record's `signed_up_to` (in key order, so the same heads sign the same).
    `legacy_lanes`: the origin has restricted lanes without a salt, which no tag can name."""
    named = []
    for key, seq in sorted(heads.items()):
        if key in (MEMBERS_LANE, PUBLIC_LANE):
            named.append(LaneHead(lane=key, seq=seq))
        elif is_hex64(key):
            named.append(LaneHead(tag=key, seq=seq))
        else:
            raise ValueError("lane heads name a restricted lane by its tag (records.lane_tag)")
    return LaneHeads(heads=named, legacy_lanes=legacy_lanes)


def endorsement(join_request: Envelope) -> Record:
    return Record(endorsement=Endorsement(join_request=join_request.SerializeToString()))


def rotation(
    federation_id: str,
    institute: str,
    old_key_id: str,
    new_key: PrivateKey,
    signed_up_to: Heads | None = None,
    legacy_lanes: bool = False,
) -> Record:
    """Names `new_key`, with its signature as proof that the institute holds it; outside the
    members lane the old key's records stop at `signed_up_to` (the institute's lane heads)."""
    possession = new_key.sign(
        rotation_message(federation_id, institute, old_key_id, new_key.public.raw)
    )
    body = KeyRotation(new_public_key=new_key.public.raw, possession=possession)
    if signed_up_to is not None:
        body.signed_up_to.CopyFrom(lane_heads(signed_up_to, legacy_lanes))
    return Record(rotation=body)


def revocation(
    key_id: str,
    reason: str = "",
    compromised_since_us: int | None = None,
    signed_up_to: Heads | None = None,
    legacy_lanes: bool = False,
) -> Record:
    body = KeyRevocation(key_id=key_id, reason=reason)
    if compromised_since_us is not None:
        body.compromised_since.CopyFrom(timestamp_of_us(compromised_since_us))
    if signed_up_to is not None:
        body.signed_up_to.CopyFrom(lane_heads(signed_up_to, legacy_lanes))
    return Record(revocation=body)


def expulsion(
    institute: str,
    reason: str = "",
    signed_up_to: Heads | None = None,
    legacy_lanes: bool = False,
) -> Record:
    """A vote to expel `institute`; `signed_up_to` is its lane heads as the voter holds them."""
    body = Expulsion(institute=check_institute_id(institute), reason=reason)
    if signed_up_to is not None:
        body.signed_up_to.CopyFrom(lane_heads(signed_up_to, legacy_lanes))
    return Record(expulsion=body)
