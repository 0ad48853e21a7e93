"""Node bindings: an institute's signed statement that a node (its call key, its TLS
certificate) speaks for it. This is what ties transport identity to membership, with no CA."""

from __future__ import annotations

from google.protobuf.message import DecodeError

from evalfed.core.errors import AuthenticationError, LimitError
from evalfed.core.membership import Membership
from evalfed.keys import PrivateKey, PublicKey
from evalfed.keys.dsse import sign_envelope, verify_signatures
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.federation_pb2 import NodeBinding

BINDING_PAYLOAD_TYPE = "application/vnd.evalfed.node-binding.v1+protobuf"


def sign_binding(binding: NodeBinding, institute_key: PrivateKey) -> Envelope:
    return sign_envelope(BINDING_PAYLOAD_TYPE, binding.SerializeToString(), [institute_key])


def verify_binding(
    envelope: Envelope, membership: Membership, own_key: PublicKey | None = None
) -> NodeBinding:
    """The binding, if the current key of the institute it names signed it for this federation.

    `own_key` is the caller's own key: a binding it signed is the caller's own node, trusted
    while the institute's admission is pending (never once it was admitted).
    """
    if envelope.payload_type != BINDING_PAYLOAD_TYPE:
        raise AuthenticationError("the node binding has the wrong payload type")
    binding = NodeBinding()
    try:
        binding.ParseFromString(envelope.payload)
    except DecodeError:
        raise AuthenticationError("the node binding is not a valid NodeBinding") from None
    if binding.federation_id != membership.federation_id:
        raise AuthenticationError("the node binding is for another federation")
    keys = membership.keys_for(binding.institute)
    if not keys and own_key is not None and binding.institute not in membership.state.members:
        keys = [own_key]
    if not keys:
        raise AuthenticationError(
            f"the node speaks for {binding.institute}, but "
            f"{no_current_key_reason(membership, binding.institute)}"
        )
    try:
        verify_signatures(envelope, keys)
    except LimitError as exc:
        raise AuthenticationError(f"the node binding is refused: {exc}") from None
    except Exception:
        raise AuthenticationError(
            f"the node binding is not signed by the current key of {binding.institute} "
            "(a rotated-out or revoked key binds no node)"
        ) from None
    if len(binding.node_public_key) != 32:
        raise AuthenticationError("the node binding's key is not an Ed25519 key")
    return binding


def no_current_key_reason(membership: Membership, institute: str) -> str:
    """Why no key speaks for `institute` now."""
    member = membership.state.members.get(institute)
    if member is not None and not member.expelled:
        return f"every key of {institute} is revoked, so nothing speaks for it"
    return membership.not_member_reason(institute)


def node_key_of(binding: NodeBinding) -> PublicKey:
    return PublicKey(binding.node_public_key)
