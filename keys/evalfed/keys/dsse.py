"""DSSE v1: the pre-authentication encoding, signing, and signature checks over envelopes."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from evalfed.core.errors import LimitError, SignatureError
from evalfed.core.limits import MAX_SIGNATURES
from evalfed.keys.ed25519 import PrivateKey, PublicKey
from evalfed.v1.envelope_pb2 import Envelope, Signature


def pae(payload_type: str, payload: bytes) -> bytes:
    """PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body."""
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(type_bytes), type_bytes, len(payload), payload)


def sign_envelope(payload_type: str, payload: bytes, keys: Iterable[PrivateKey]) -> Envelope:
    """An envelope over `payload` carrying one signature per key."""
    message = pae(payload_type, payload)
    return Envelope(
        payload=payload,
        payload_type=payload_type,
        signatures=[Signature(keyid=key.key_id, sig=key.sign(message)) for key in keys],
    )


def add_signature(envelope: Envelope, key: PrivateKey) -> None:
    """Adds `key`'s signature to `envelope` unless it already carries one by that key."""
    if any(s.keyid == key.key_id for s in envelope.signatures):
        return
    sig = key.sign(pae(envelope.payload_type, envelope.payload))
    envelope.signatures.append(Signature(keyid=key.key_id, sig=sig))


Verifier = Callable[[bytes, bytes], bool]


def verify_signatures(
    envelope: Envelope, trusted: Iterable[PublicKey], max_signatures: int = MAX_SIGNATURES
) -> set[str]:
    """The ids of the trusted keys that signed `envelope` (key ids in signatures are hints only).
    An envelope with more than `max_signatures` signatures is refused (LimitError) before any
    is tried.

    Each signature is tried against every trusted key, so a wrong or missing keyid cannot
    make a valid signature count twice or hide one. Raises SignatureError if none verifies.
    """
    if len(envelope.signatures) > max_signatures:
        raise LimitError(
            f"the envelope carries {len(envelope.signatures)} signatures, over "
            f"MAX_SIGNATURES={max_signatures}"
        )
    message = pae(envelope.payload_type, envelope.payload)
    keys = list(trusted)
    signed_by = {
        key.key_id for sig in envelope.signatures for key in keys if key.is_valid(sig.sig, message)
    }
    if not signed_by:
        raise SignatureError("no signature on the envelope verifies with a key trusted for it")
    return signed_by


def verify_with(envelope: Envelope, verifier: Verifier) -> bool:
    """True if any signature verifies with `verifier(sig, pae_message)` (for non-Ed25519 keys)."""
    message = pae(envelope.payload_type, envelope.payload)
    return any(verifier(sig.sig, message) for sig in envelope.signatures)
