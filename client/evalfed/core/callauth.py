"""Signed calls: how a caller proves which member institute it speaks for, per RPC.

Each call carries the institute, the key id, a time and a random nonce in its metadata, and an
Ed25519 signature over those, the federation id and the method name, domain-separated with DSSE's
PAE. The node checks the key against the membership, the time against its clock and the nonce
against the ones it has seen, so a captured call cannot be replayed elsewhere or later.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from evalfed.core.binding import node_key_of, verify_binding
from evalfed.core.checks import decode_envelope
from evalfed.core.errors import AuthenticationError, InvalidInputError
from evalfed.core.membership import Membership
from evalfed.keys import PrivateKey, PublicKey
from evalfed.keys.dsse import pae
from evalfed.v1.federation_pb2 import NodeBinding

CALL_PAYLOAD_TYPE = "application/vnd.evalfed.call.v1"
MAX_CLOCK_SKEW_S = 300
"""How far a call's time may be from the node's clock."""

INSTITUTE = "evalfed-institute"
KEY_ID = "evalfed-key-id"
TIME = "evalfed-time"
NONCE = "evalfed-nonce"
SIGNATURE = "evalfed-signature-bin"
BINDING = "evalfed-binding-bin"

BindingCheck = Callable[[bytes], NodeBinding]


@dataclass(frozen=True)
class CallIdentity:
    institute: str
    key_id: str
    nonce: str
    time_s: int


def call_message(
    federation_id: str, method: str, institute: str, key_id: str, time_s: int, nonce: str
) -> bytes:
    text = "\n".join((federation_id, method, institute, key_id, str(time_s), nonce))
    return pae(CALL_PAYLOAD_TYPE, text.encode())


def sign_call(
    key: PrivateKey,
    institute: str,
    federation_id: str,
    method: str,
    time_s: int,
    binding: bytes = b"",
) -> list[tuple[str, str | bytes]]:
    """The metadata that authenticates one call by `institute`.

    A person signs with the institute's key; a node signs with its own key and sends the
    institute's binding of that key along.
    """
    nonce = secrets.token_hex(16)
    message = call_message(federation_id, method, institute, key.key_id, time_s, nonce)
    metadata: list[tuple[str, str | bytes]] = [
        (INSTITUTE, institute),
        (KEY_ID, key.key_id),
        (TIME, str(time_s)),
        (NONCE, nonce),
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


def check_call(
    metadata: Mapping[str, str | bytes],
    method: str,
    membership: Membership,
    now_s: int,
    check_binding: BindingCheck | None = None,
    own: tuple[str, PublicKey] | None = None,
) -> CallIdentity:
    """The verified caller of a signed call; raises AuthenticationError saying what failed.

    `own` is a node's own institute and key: its operator may call it while the institute's
    admission is still pending.
    """
    try:
        institute = str(metadata[INSTITUTE])
        key_id = str(metadata[KEY_ID])
        time_s = int(str(metadata[TIME]))
        nonce = str(metadata[NONCE])
        signature = metadata[SIGNATURE]
    except (KeyError, ValueError):
        raise AuthenticationError(
            "the call's credentials are incomplete; use an evalfed client with --key"
        ) from None
    if not isinstance(signature, bytes):
        raise AuthenticationError("the call signature must be binary metadata")
    if abs(now_s - time_s) > MAX_CLOCK_SKEW_S:
        raise AuthenticationError(
            f"the call's time is {abs(now_s - time_s)} s from this node's clock "
            f"(MAX_CLOCK_SKEW_S={MAX_CLOCK_SKEW_S}); check the caller's clock"
        )
    key = _signing_key(metadata, institute, key_id, membership, check_binding, own)
    message = call_message(membership.federation_id, method, institute, key_id, time_s, nonce)
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
    if not member_keys and own is not None and own[0] == institute:
        member_keys = [own[1]]
    if not member_keys:
        raise AuthenticationError(membership.not_member_reason(institute))
    keys = [k for k in member_keys if k.key_id == key_id]
    if not keys:
        raise AuthenticationError(f"key {key_id[:16]} is not an active key of {institute}")
    return keys[0]
