"""Join requests and key-possession proofs: statements a key signs about itself."""

from __future__ import annotations

import hashlib

from google.protobuf.message import DecodeError

from evalfed.core.errors import InvalidInputError, SignatureError
from evalfed.core.names import check_institute_id
from evalfed.keys import PrivateKey, PublicKey
from evalfed.keys.dsse import pae, sign_envelope, verify_signatures
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.federation_pb2 import JoinRequest

JOIN_PAYLOAD_TYPE = "application/vnd.evalfed.join-request.v1+protobuf"
ROTATION_PAYLOAD_TYPE = "application/vnd.evalfed.key-rotation.v1"


def sign_join_request(request: JoinRequest, key: PrivateKey) -> Envelope:
    """The request signed by the key it names, which proves the newcomer holds it."""
    if request.public_key != key.public.raw:
        raise InvalidInputError("a join request is signed by the key it asks to register")
    return sign_envelope(JOIN_PAYLOAD_TYPE, request.SerializeToString(), [key])


def join_request_id(envelope: Envelope) -> str:
    return hashlib.sha256(envelope.payload).hexdigest()


def verify_join_request(envelope: Envelope, federation_id: str) -> JoinRequest:
    """The request, if it is for this federation and signed by the key it names."""
    if envelope.payload_type != JOIN_PAYLOAD_TYPE:
        raise InvalidInputError(
            f"not a join request (payload type {envelope.payload_type!r}); "
            "make one with `evalfed members request`"
        )
    request = JoinRequest()
    try:
        request.ParseFromString(envelope.payload)
    except DecodeError:
        raise InvalidInputError("the join request payload is not a valid JoinRequest") from None
    check_institute_id(request.institute)
    if request.federation_id != federation_id:
        raise InvalidInputError(
            f"the join request of {request.institute} is for another federation "
            f"({request.federation_id[:16] or 'none'}, not {federation_id[:16]})"
        )
    if len(request.public_key) != 32:
        raise InvalidInputError("the join request's public key is not a raw Ed25519 key")
    try:
        verify_signatures(envelope, [PublicKey(request.public_key)])
    except SignatureError:
        raise SignatureError(
            f"the join request of {request.institute} is not signed by the key it names"
        ) from None
    return request


def rotation_message(federation_id: str, institute: str, old_key_id: str, new_key: bytes) -> bytes:
    """What the new key signs in a rotation to prove the institute holds it."""
    text = f"{federation_id}\n{institute}\n{old_key_id}\n{new_key.hex()}".encode()
    return pae(ROTATION_PAYLOAD_TYPE, text)
