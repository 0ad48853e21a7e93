"""Building membership records: endorsements, key rotations, revocations, expulsion votes.

Each is an ordinary record body; `publisher.publish_records` signs and appends it.
"""

from __future__ import annotations

from collections.abc import Mapping

from evalfed.core.joins import rotation_message
from evalfed.core.names import check_institute_id
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
"""One origin's lanes and, for each, its head seq."""


def lane_heads(heads: Heads) -> LaneHeads:
    """`heads` as a record's `signed_up_to` (in lane order, so the same heads sign the same)."""
    return LaneHeads(heads=[LaneHead(lane=lane, seq=seq) for lane, seq in sorted(heads.items())])


def endorsement(join_request: Envelope) -> Record:
    return Record(endorsement=Endorsement(join_request=join_request.SerializeToString()))


def rotation(
    federation_id: str,
    institute: str,
    old_key_id: str,
    new_key: PrivateKey,
    signed_up_to: Heads | None = None,
) -> Record:
    """Names `new_key`, with its signature as proof that the institute holds it; outside the
    members lane the old key's records stop at `signed_up_to` (the institute's lane heads)."""
    possession = new_key.sign(
        rotation_message(federation_id, institute, old_key_id, new_key.public.raw)
    )
    body = KeyRotation(new_public_key=new_key.public.raw, possession=possession)
    if signed_up_to is not None:
        body.signed_up_to.CopyFrom(lane_heads(signed_up_to))
    return Record(rotation=body)


def revocation(
    key_id: str,
    reason: str = "",
    compromised_since_us: int | None = None,
    signed_up_to: Heads | None = None,
) -> Record:
    body = KeyRevocation(key_id=key_id, reason=reason)
    if compromised_since_us is not None:
        body.compromised_since.CopyFrom(timestamp_of_us(compromised_since_us))
    if signed_up_to is not None:
        body.signed_up_to.CopyFrom(lane_heads(signed_up_to))
    return Record(revocation=body)


def expulsion(institute: str, reason: str = "", signed_up_to: Heads | None = None) -> Record:
    """A vote to expel `institute`; `signed_up_to` is its lane heads as the voter holds them."""
    body = Expulsion(institute=check_institute_id(institute), reason=reason)
    if signed_up_to is not None:
        body.signed_up_to.CopyFrom(lane_heads(signed_up_to))
    return Record(expulsion=body)
