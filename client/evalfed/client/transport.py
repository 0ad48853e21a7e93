"""Reaching a node: TLS pinned to the certificate its institute's signed binding names.

There is no certificate authority. The client takes the certificate the node presents, opens
a TLS channel that trusts exactly that certificate, asks the node for its charter and node
binding, and checks that an active key of a member institute signed a binding naming that
certificate. A node that answers only in plain gRPC is accepted on loopback alone, for demos.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import ssl
from dataclasses import dataclass

import grpc
from google.protobuf.message import DecodeError

from evalfed.client.channel import CallSigner, open_channel
from evalfed.client.status import error_of
from evalfed.core.binding import node_key_of, verify_binding
from evalfed.core.charter import verify_charter
from evalfed.core.errors import AuthenticationError, UnavailableError
from evalfed.core.membership import Membership
from evalfed.keys import PublicKey
from evalfed.keys.tls import TLS_SERVER_NAME
from evalfed.v1 import node_pb2 as pb
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.federation_pb2 import NodeBinding
from evalfed.v1.node_pb2_grpc import NodeStub

HANDSHAKE_TIMEOUT_S = 10.0


@dataclass
class NodeConnection:
    """A checked connection: the node's info, its federation, and whether it is plain gRPC."""

    address: str
    info: pb.GetInfoResponse
    membership: Membership
    credentials: grpc.ChannelCredentials | None
    options: list[tuple[str, str]]
    callee_key_id: str = ""
    """The node's call key id, from its binding: signed calls are made for this node alone."""

    @property
    def insecure(self) -> bool:
        return self.credentials is None

    def channel(self, signer: CallSigner | None = None) -> grpc.Channel:
        return open_channel(
            self.address, signer, self.credentials, self.options, self.callee_key_id
        )


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def is_loopback(address: str) -> bool:
    host, _ = _split(address)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fetch_certificate(address: str) -> bytes | None:
    """The certificate (DER) the node presents, or None when it does not speak TLS. It is
    pinned afterwards (the node's binding names its digest), not checked against certificate
    authorities, so no store of them is loaded (that took 17 to 27 ms of every connection)."""
    host, port = _split(address)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    try:
        with (
            socket.create_connection((host, port), timeout=HANDSHAKE_TIMEOUT_S) as raw,
            context.wrap_socket(raw, server_hostname=TLS_SERVER_NAME) as tls,
        ):
            return tls.getpeercert(binary_form=True)
    except ssl.SSLError:
        return None
    except OSError as exc:
        raise UnavailableError(f"cannot reach the node at {address}: {exc}") from None


def connect_node(
    address: str, expected: Membership | None = None, own_key: PublicKey | None = None
) -> NodeConnection:
    """Opens and checks a connection to the node at `address`.

    With `expected`, the node must serve that federation, and its binding is checked against
    the membership records `expected` holds together with those the node sends (never the
    node's alone); without it, the node's own charter is taken once its signatures check out.
    With `own_key`, a node bound by that key (the caller's own, still pending admission) is
    accepted too.
    """
    der = fetch_certificate(address)
    credentials: grpc.ChannelCredentials | None = None
    options: list[tuple[str, str]] = []
    if der is not None:
        pem = ssl.DER_cert_to_PEM_cert(der).encode()
        credentials = grpc.ssl_channel_credentials(root_certificates=pem)
        options = [("grpc.ssl_target_name_override", TLS_SERVER_NAME)]
    elif not is_loopback(address):
        raise AuthenticationError(
            f"the node at {address} does not speak TLS; plain gRPC is accepted on loopback only"
        )
    with open_channel(address, None, credentials, options) as channel:
        try:
            info = NodeStub(channel).GetInfo(pb.GetInfoRequest(), timeout=HANDSHAKE_TIMEOUT_S)
        except grpc.RpcError as exc:
            raise error_of(exc, address) from None
    membership = Membership(verify_charter(info.charter), info.membership)
    if expected is not None:
        if membership.federation_id != expected.federation_id:
            raise AuthenticationError(
                f"the node at {address} serves federation {membership.federation_id[:16]}, "
                f"not {expected.federation_id[:16]} (your federation file)"
            )
        # What the caller holds stays: a node cannot hide a revocation by leaving it out.
        membership = Membership(expected.charter, [*expected.state.records, *info.membership])
    callee_key_id = _claimed_node_key_id(info.node_binding)
    if der is not None:
        binding = verify_binding(info.node_binding, membership, own_key)
        callee_key_id = node_key_of(binding).key_id
        if binding.institute != info.institute:
            raise AuthenticationError(f"the node at {address} is bound to {binding.institute}")
        if binding.tls_cert_sha256 != hashlib.sha256(der).hexdigest():
            raise AuthenticationError(
                f"the TLS certificate of {address} is not the one {binding.institute} bound to "
                "its node; someone may be in the middle"
            )
    return NodeConnection(address, info, membership, credentials, options, callee_key_id)


def _claimed_node_key_id(envelope: Envelope) -> str:
    """The key id of the node key an unchecked binding names, or "" when it names none: on
    plain loopback (demos), the node is taken at its word."""
    binding = NodeBinding()
    try:
        binding.ParseFromString(envelope.payload)
    except DecodeError:
        return ""
    return node_key_of(binding).key_id if len(binding.node_public_key) == 32 else ""
