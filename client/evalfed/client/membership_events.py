"""Building membership records: endorsements, key rotations, revocations, expulsion votes.

Each is an ordinary record body; `publisher.publish_records` signs and appends it.
"""

from __future__ import annotations

from evalfed.core.joins import rotation_message
from evalfed.core.names import check_institute_id
from evalfed.core.timeutil import timestamp_of_us
from evalfed.keys import PrivateKey
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.record_pb2 import Endorsement, Expulsion, KeyRevocation, KeyRotation, Record


def endorsement(join_request: Envelope) -> Record:
    return Record(endorsement=Endorsement(join_request=join_request.SerializeToString()))


def rotation(federation_id: str, institute: str, old_key_id: str, new_key: PrivateKey) -> Record:
    """Names `new_key`, with its signature as proof that the institute holds it."""
    possession = new_key.sign(
        rotation_message(federation_id, institute, old_key_id, new_key.public.raw)
    )
    return Record(rotation=KeyRotation(new_public_key=new_key.public.raw, possession=possession))


def revocation(key_id: str, reason: str = "", compromised_since_us: int | None = None) -> Record:
    body = KeyRevocation(key_id=key_id, reason=reason)
    if compromised_since_us is not None:
        body.compromised_since.CopyFrom(timestamp_of_us(compromised_since_us))
    return Record(revocation=body)


def expulsion(institute: str, reason: str = "") -> Record:
    return Record(expulsion=Expulsion(institute=check_institute_id(institute), reason=reason))
