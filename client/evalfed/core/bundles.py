"""Offline checking of a record bundle against a federation charter."""

from __future__ import annotations

from evalfed.core.charter import VerifiedCharter
from evalfed.core.checks import VerifiedRecord, check_envelope
from evalfed.core.errors import InvalidInputError, SignatureError
from evalfed.core.membership import Membership
from evalfed.core.records import record_id
from evalfed.v1.envelope_pb2 import Bundle


def verify_bundle(bundle: Bundle, charter: VerifiedCharter) -> VerifiedRecord:
    """The bundled record, if it belongs to this federation and its author's signature holds."""
    if bundle.federation_id != charter.federation_id:
        raise InvalidInputError(
            f"the bundle is for federation {bundle.federation_id[:16]}, "
            f"not {charter.federation_id[:16]} (the charter given)"
        )
    actual = record_id(bundle.record.payload)
    if bundle.record_id != actual:
        raise SignatureError(
            f"the record's payload hashes to {actual[:16]}, not the bundled id "
            f"{bundle.record_id[:16]}: the payload was altered"
        )
    return check_envelope(bundle.record, Membership(charter, bundle.membership))
