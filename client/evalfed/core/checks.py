"""Checking one signed record: bytes in, a verified record or an error out. No IO.

Like python-tuf's trusted metadata set, this module never fetches or stores anything:
the caller supplies the membership state the check is made against.
"""

from __future__ import annotations

from functools import cached_property
from typing import NamedTuple

from google.protobuf.message import DecodeError

from evalfed.core.errors import InvalidInputError, SignatureError
from evalfed.core.limits import MAX_SIGNATURES
from evalfed.core.membership import Membership, MembershipState
from evalfed.core.records import (
    LogKey,
    RecordFacts,
    body_digest,
    parse_record,
    record_id,
)
from evalfed.core.validate import check_record
from evalfed.keys import PublicKey
from evalfed.keys.dsse import verify_signatures
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.record_pb2 import Record


class VerifiedRecord:
    """A record whose fields and author signature checked out against the membership.

    It holds the envelope bytes as received and the record's indexed facts; the parsed
    envelope and record are made again from the bytes only when asked for (a record checked
    in another process crosses over as id, facts and bytes).
    """

    def __init__(
        self,
        id: str,
        facts: RecordFacts,
        envelope_bytes: bytes,
        body_digest: str | None = None,
        parsed: tuple[Envelope, Record] | None = None,
        lane_salt: bytes | None = None,
    ) -> None:
        self.id = id
        self.facts = facts
        self.envelope_bytes = envelope_bytes
        if body_digest is not None:
            self.__dict__["body_digest"] = body_digest
        if parsed is not None:
            self.__dict__["envelope"], self.__dict__["record"] = parsed
        if lane_salt is not None:
            self.__dict__["lane_salt"] = lane_salt

    @property
    def origin(self) -> str:
        return self.facts.origin

    @property
    def seq(self) -> int:
        return self.facts.seq

    @property
    def prev(self) -> str:
        return self.facts.prev

    @property
    def log(self) -> LogKey:
        """The log it belongs to: (origin, lane)."""
        return self.facts.origin, self.facts.lane

    @cached_property
    def envelope(self) -> Envelope:
        return decode_envelope(self.envelope_bytes)

    @cached_property
    def record(self) -> Record:
        return parse_record(self.envelope)

    @cached_property
    def body_digest(self) -> str:
        return body_digest(self.record)

    @cached_property
    def lane_salt(self) -> bytes:
        return self.record.lane_salt


def decode_envelope(data: bytes) -> Envelope:
    envelope = Envelope()
    try:
        envelope.ParseFromString(data)
    except DecodeError:
        raise InvalidInputError("not a valid evalfed.v1.Envelope message") from None
    return envelope


class FieldsChecked(NamedTuple):
    """A record whose envelope and fields checked out, and the key that must have signed it."""

    envelope: Envelope
    record: Record
    facts: RecordFacts
    key: PublicKey


def check_fields(envelope: Envelope, membership: Membership | MembershipState) -> FieldsChecked:
    """Everything but the signature: the envelope's type and size, the record's fields, and
    which key of its origin may sign it."""
    if not envelope.signatures:
        raise SignatureError("the envelope carries no signature")
    if len(envelope.signatures) > MAX_SIGNATURES:
        raise InvalidInputError(
            f"the envelope carries {len(envelope.signatures)} signatures, over "
            f"MAX_SIGNATURES={MAX_SIGNATURES}"
        )
    record = parse_record(envelope)
    facts = check_record(record, membership.federation_id)
    key = membership.signing_key(
        facts.origin, facts.key_id, facts.seq, facts.issued_at_us, facts.lane, record.lane_salt
    )
    return FieldsChecked(envelope, record, facts, key)


def check_signature(checked: FieldsChecked, received_bytes: bytes | None = None) -> VerifiedRecord:
    """The verified record, once the signature by the key `check_fields` found holds.
    `received_bytes`, when given, are the bytes the envelope was decoded from (kept as they
    are)."""
    envelope = checked.envelope
    data = envelope.SerializeToString() if received_bytes is None else received_bytes
    record = checked.record
    return VerifiedRecord(
        signed_id(checked),
        checked.facts,
        data,
        parsed=(envelope, record),
        lane_salt=record.lane_salt,
    )


def signed_id(checked: FieldsChecked) -> str:
    """The record's id, once the signature by the key `check_fields` found holds."""
    verify_signatures(checked.envelope, [checked.key])
    return record_id(checked.envelope.payload)


def check_envelope(
    envelope: Envelope,
    membership: Membership | MembershipState,
    received_bytes: bytes | None = None,
) -> VerifiedRecord:
    """Parses and checks one record envelope: type, fields, and a signature by its origin."""
    return check_signature(check_fields(envelope, membership), received_bytes)
