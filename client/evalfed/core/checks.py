"""Checking one signed record: bytes in, a verified record or an error out. No IO.

Like python-tuf's trusted metadata set, this module never fetches or stores anything:
the caller supplies the membership state the check is made against.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from google.protobuf.message import DecodeError

from evalfed.core.errors import InvalidInputError, SignatureError
from evalfed.core.limits import MAX_SIGNATURES
from evalfed.core.membership import Membership
from evalfed.core.records import RecordFacts, body_digest, facts_of, parse_record, record_id
from evalfed.core.timeutil import timestamp_us
from evalfed.core.validate import check_record
from evalfed.keys.dsse import verify_signatures
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.record_pb2 import Record


@dataclass(frozen=True)
class VerifiedRecord:
    """A record whose fields and author signature checked out against the membership."""

    id: str
    record: Record
    envelope: Envelope
    received_bytes: bytes | None = None
    """The envelope exactly as received, when it came as bytes (stored as is)."""

    @property
    def envelope_bytes(self) -> bytes:
        if self.received_bytes is not None:
            return self.received_bytes
        return self.envelope.SerializeToString()

    @property
    def origin(self) -> str:
        return self.record.origin

    @property
    def seq(self) -> int:
        return self.record.seq

    @cached_property
    def facts(self) -> RecordFacts:
        return facts_of(self.record)

    @cached_property
    def body_digest(self) -> str:
        return body_digest(self.record)


def decode_envelope(data: bytes) -> Envelope:
    envelope = Envelope()
    try:
        envelope.ParseFromString(data)
    except DecodeError:
        raise InvalidInputError("not a valid evalfed.v1.Envelope message") from None
    return envelope


def check_envelope(
    envelope: Envelope, membership: Membership, received_bytes: bytes | None = None
) -> VerifiedRecord:
    """Parses and checks one record envelope: type, fields, and a signature by its origin.
    `received_bytes`, when given, are the bytes `envelope` was decoded from."""
    if not envelope.signatures:
        raise SignatureError("the envelope carries no signature")
    if len(envelope.signatures) > MAX_SIGNATURES:
        raise InvalidInputError(
            f"the envelope carries {len(envelope.signatures)} signatures, over "
            f"MAX_SIGNATURES={MAX_SIGNATURES}"
        )
    record = parse_record(envelope)
    check_record(record, membership.federation_id)
    key = membership.signing_key(
        record.origin, record.key_id, record.seq, timestamp_us(record.issued_at)
    )
    verify_signatures(envelope, [key])
    return VerifiedRecord(record_id(envelope.payload), record, envelope, received_bytes)
