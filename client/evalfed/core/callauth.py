"""Signed calls: how a caller proves which member institute it speaks for, per RPC.

Each call carries the institute, the key id, a time, a random nonce, the key id of the node it
is meant for (the callee) and the SHA-256 of its serialized request in its metadata, and an
Ed25519 signature over those, the federation id and the method name, domain-separated with
DSSE's PAE. The node checks the key against the membership (only an institute's current key, or
a node key its current key bound, speaks for it), the callee against its own node key, the
digest against the request bytes it received, the time against its clock and the nonce against
the ones it has seen: a captured call runs nowhere else, for no other request, and only once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from evalfed.core.binding import no_current_key_reason, node_key_of, verify_binding
from evalfed.core.checks import decode_envelope
from evalfed.core.errors import AuthenticationError, InvalidInputError
from evalfed.core.membership import Membership
from evalfed.core.names import check_institute_id
from evalfed.keys import PrivateKey, PublicKey
from evalfed.keys.dsse import pae
from evalfed.v1.federation_pb2 import NodeBinding

CALL_PAYLOAD_TYPE = "application/vnd.evalfed.call.v2"
MAX_CLOCK_SKEW_S = 300
"""How far a call's time may be from the node's clock."""

INSTITUTE = "evalfed-institute"
KEY_ID = "evalfed-key-id"
TIME = "evalfed-time"
NONCE = "evalfed-nonce"
CALLEE = "evalfed-callee"
REQUEST_SHA256 = "evalfed-request-sha256"
SIGNATURE = "evalfed-signature-bin"
BINDING = "evalfed-binding-bin"

_HEX64 = re.compile(r"[0-9a-f]{64}")
_NONCE = re.compile(r"[0-9a-f]{32}")

BindingCheck = Callable[[bytes], NodeBinding]


@dataclass(frozen=True)
class CallIdentity:
    institute: str
    key_id: str
    nonce: str
    time_s: int


def request_digest(request: bytes) -> str:
    """The lowercase hex SHA-256 of a request's serialized bytes, as sent on the wire."""
    return hashlib.sha256(request).hexdigest()


def call_message(
    federation_id: str,
    method: str,
    institute: str,
    key_id: str,
    time_s: int,
    nonce: str,
    callee_key_id: str,
    request_sha256: str,
) -> bytes:
    """The bytes a call's signature covers: PAE of the fields joined by newlines."""
    fields = (federation_id, method, institute, key_id, str(time_s), nonce, callee_key_id,
              request_sha256)  # fmt: skip
    return pae(CALL_PAYLOAD_TYPE, "\n".join(fields).encode())


def sign_call(
    key: PrivateKey,
    institute: str,
    federation_id: str,
    method: str,
    time_s: int,
    callee_key_id: str,
    request: bytes,
    binding: bytes = b"",
) -> list[tuple[str, str | bytes]]:
    """The metadata that authenticates one call by `institute` to the node whose key id is
    `callee_key_id`, carrying exactly the serialized `request`.

    A person signs with the institute's key; a node signs with its own key and sends the
    institute's binding of that key along.
    """
    nonce = secrets.token_hex(16)
    digest = request_digest(request)
    message = call_message(
        federation_id, method, institute, key.key_id, time_s, nonce, callee_key_id, digest
    )
    metadata: list[tuple[str, str | bytes]] = [
        (INSTITUTE, institute),
        (KEY_ID, key.key_id),
        (TIME, str(time_s)),
        (NONCE, nonce),
        (CALLEE, callee_key_id),
        (REQUEST_SHA256, digest),
        (SIGNATURE, key.sign(message)),
    ]
    if binding:
        metadata.append((BINDING, binding))
    return metadata


def binding_checker(membership: Membership) -> BindingCheck:
    """Checks serialized node bindings against `membership`."""

    def check(data: bytes) -> NodeBinding:
        try:
            envelope = decode_envelope(data)
        except InvalidInputError:
            raise AuthenticationError("the node binding is not a valid envelope") from None
        return verify_binding(envelope, membership)

    return check


def is_signed_call(metadata: Mapping[str, str | bytes]) -> bool:
    return SIGNATURE in metadata


def claimed_institute(metadata: Mapping[str, str | bytes]) -> str | None:
    """The institute a signed call claims to speak for, before anything is checked."""
    value = metadata.get(INSTITUTE)
    return value if isinstance(value, str) and is_signed_call(metadata) else None


def check_call(
    metadata: Mapping[str, str | bytes],
    method: str,
    membership: Membership,
    now_s: int,
    callee_key_id: str,
    request_sha256: str,
    check_binding: BindingCheck | None = None,
    own: tuple[str, PublicKey] | None = None,
) -> CallIdentity:
    """The verified caller of a signed call to the node `callee_key_id`, whose request bytes
    hash to `request_sha256`; raises AuthenticationError saying what failed.

    `own` is a node's own institute and key: its operator may call it with that key while the
    institute's admission is still pending (never once it was admitted).
    """
    try:
        institute = str(metadata[INSTITUTE])
        key_id = str(metadata[KEY_ID])
        time_text = str(metadata[TIME])
        nonce = str(metadata[NONCE])
        signed_callee = str(metadata[CALLEE])
        signed_digest = str(metadata[REQUEST_SHA256])
        signature = metadata[SIGNATURE]
    except KeyError:
        raise AuthenticationError(
            "the call's credentials are incomplete; use an evalfed client with --key"
        ) from None
    if not (
        _is_institute_id(institute)
        and _HEX64.fullmatch(key_id)
        and time_text.isdigit()
        and _NONCE.fullmatch(nonce)
        and _HEX64.fullmatch(signed_digest)
        and (signed_callee == "" or _HEX64.fullmatch(signed_callee))
    ):
        raise AuthenticationError(
            "the call's credentials are malformed; use an evalfed client with --key"
        )
    if not isinstance(signature, bytes):
        raise AuthenticationError("the call signature must be binary metadata")
    if signed_callee != callee_key_id:
        raise AuthenticationError(
            "the call was signed for another node (its callee key id is not this node's); "
            "a signed call is valid only at the node it was made to"
        )
    if signed_digest != request_sha256:
        raise AuthenticationError(
            "the call was signed for another request (the request's SHA-256 differs); "
            "sign each request as sent"
        )
    time_s = int(time_text)
    if abs(now_s - time_s) > MAX_CLOCK_SKEW_S:
        raise AuthenticationError(
            f"the call's time is {abs(now_s - time_s)} s from this node's clock "
            f"(MAX_CLOCK_SKEW_S={MAX_CLOCK_SKEW_S}); check the caller's clock"
        )
    key = _signing_key(metadata, institute, key_id, membership, check_binding, own)
    message = call_message(
        membership.federation_id, method, institute, key_id, time_s, nonce, callee_key_id,
        request_sha256,
    )  # fmt: skip
    if not key.is_valid(signature, message):
        raise AuthenticationError("the call signature does not verify")
    return CallIdentity(institute, key_id, nonce, time_s)


def _signing_key(
    metadata: Mapping[str, str | bytes],
    institute: str,
    key_id: str,
    membership: Membership,
    check_binding: BindingCheck | None,
    own: tuple[str, PublicKey] | None,
) -> PublicKey:
    binding_bytes = metadata.get(BINDING)
    if binding_bytes is not None:
        if not isinstance(binding_bytes, bytes):
            raise AuthenticationError("the node binding must be binary metadata")
        binding = (check_binding or binding_checker(membership))(binding_bytes)
        node_key = node_key_of(binding)
        if binding.institute != institute or node_key.key_id != key_id:
            raise AuthenticationError("the call's key is not the one its node binding names")
        return node_key
    member_keys = membership.keys_for(institute)
    if (
        not member_keys
        and own is not None
        and own[0] == institute
        and institute not in membership.state.members
    ):
        member_keys = [own[1]]
    if not member_keys:
        raise AuthenticationError(no_current_key_reason(membership, institute))
    keys = [k for k in member_keys if k.key_id == key_id]
    if not keys:
        raise AuthenticationError(
            f"key {key_id[:16]} is not the current key of {institute} (a rotated-out or "
            "revoked key speaks for no one); sign with the institute's current key"
        )
    return keys[0]


def _is_institute_id(text: str) -> bool:
    try:
        check_institute_id(text)
    except InvalidInputError:
        return False
    return True
