"""The federation charter: building it, signing it, and checking that every founder signed it.

The federation id is the hex SHA-256 of the charter payload bytes, so every record bound to it
names exactly one set of founders and one admission threshold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from evalfed.core.errors import InvalidInputError, LimitError, SignatureError
from evalfed.core.limits import MAX_SIGNATURES
from evalfed.core.names import check_institute_id
from evalfed.keys import PrivateKey, PublicKey
from evalfed.keys.dsse import add_signature, verify_signatures
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.federation_pb2 import Charter, Founder

CHARTER_PAYLOAD_TYPE = "application/vnd.evalfed.charter.v1+protobuf"


@dataclass(frozen=True)
class VerifiedCharter:
    """A charter whose every founder signature checked out."""

    federation_id: str
    charter: Charter
    envelope: Envelope

    def founder_keys(self) -> dict[str, PublicKey]:
        return {f.institute: PublicKey(f.public_key) for f in self.charter.founders}


def build_charter(
    name: str, threshold: int, founders: Iterable[tuple[str, PublicKey]], created_at_us: int
) -> Charter:
    """A charter over `founders` (institute id, public key); the threshold must be reachable."""
    charter = Charter(name=name, threshold=threshold)
    charter.created_at.FromMicroseconds(created_at_us)
    seen: set[str] = set()
    for institute, key in founders:
        check_institute_id(institute)
        if institute in seen:
            raise InvalidInputError(f"founder {institute} is named twice; name each founder once")
        seen.add(institute)
        charter.founders.append(Founder(institute=institute, public_key=key.raw))
    if not charter.founders:
        raise InvalidInputError(
            "a charter needs at least one founder (--founder INSTITUTE=PUBFILE)"
        )
    if not 1 <= threshold <= len(charter.founders):
        raise InvalidInputError(
            f"threshold {threshold} must be between 1 and the number of founders "
            f"({len(charter.founders)})"
        )
    return charter


def charter_envelope(charter: Charter) -> Envelope:
    return Envelope(payload=charter.SerializeToString(), payload_type=CHARTER_PAYLOAD_TYPE)


def sign_charter(envelope: Envelope, key: PrivateKey) -> None:
    """Adds a founder's signature; a key that is not a founder's is refused."""
    charter = _parse(envelope)
    if key.public.raw not in {f.public_key for f in charter.founders}:
        raise SignatureError(
            f"key {key.key_id[:16]} is not a founder's key in this charter; "
            "only founders sign the charter"
        )
    add_signature(envelope, key)


def unsigned_founders(envelope: Envelope) -> list[str]:
    """The founders whose signature the charter still lacks."""
    charter = _parse(envelope)
    missing = []
    most = max(MAX_SIGNATURES, len(charter.founders))  # one signature per founder
    if len(envelope.signatures) > most:
        raise LimitError(
            f"the charter carries {len(envelope.signatures)} signatures for "
            f"{len(charter.founders)} founders, over MAX_SIGNATURES={most}"
        )
    for founder in charter.founders:
        try:
            verify_signatures(envelope, [PublicKey(founder.public_key)], most)
        except SignatureError:
            missing.append(founder.institute)
    return missing


def verify_charter(envelope: Envelope) -> VerifiedCharter:
    """Checks the payload type and that every founder signed; returns the charter with its id."""
    charter = _parse(envelope)
    missing = unsigned_founders(envelope)
    if missing:
        raise SignatureError(
            f"the charter lacks the signature of founder(s) {', '.join(missing)}; "
            "each founder runs `evalfed federation sign FILE --key KEYFILE`"
        )
    return VerifiedCharter(federation_id_of(envelope), charter, envelope)


def federation_id_of(envelope: Envelope) -> str:
    return hashlib.sha256(envelope.payload).hexdigest()


def _parse(envelope: Envelope) -> Charter:
    if envelope.payload_type != CHARTER_PAYLOAD_TYPE:
        raise InvalidInputError(
            f"not a federation charter (payload type {envelope.payload_type!r}, "
            f"expected {CHARTER_PAYLOAD_TYPE!r})"
        )
    charter = Charter()
    try:
        charter.ParseFromString(envelope.payload)
    except DecodeError:
        raise InvalidInputError("the charter payload is not a valid Charter message") from None
    return charter
