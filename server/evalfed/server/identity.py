"""A node's own identity: its call-signing key, its TLS key and certificate, and the
institute's signed binding of both. Created once by `node init`; the institute's private key
is used for that signature and never stored."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evalfed.core.binding import sign_binding
from evalfed.core.codec import envelope_from_json, to_json
from evalfed.core.timeutil import now_us, timestamp_of_us
from evalfed.keys import PrivateKey, PublicKey, load_private_key, load_public_key
from evalfed.keys.ed25519 import PRIVATE_FILE_MODE, read_private_file, write_new_file
from evalfed.keys.tls import cert_sha256, make_self_signed_cert
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.federation_pb2 import NodeBinding

NODE_KEY = "node.key"
TLS_KEY = "tls.key"
TLS_CERT = "tls.crt"
BINDING = "node-binding.json"
INSTITUTE_KEY = "institute.pub"


@dataclass
class NodeIdentity:
    """What a node proves itself with, to partners and to clients.

    The binding can be replaced while the node runs (after its institute rotates or revokes
    the key that signed it); the node key and certificate stay.
    """

    data_dir: Path
    institute: str
    institute_key: PublicKey
    key: PrivateKey
    binding: Envelope
    tls_key_pem: bytes
    tls_cert_pem: bytes

    @property
    def binding_bytes(self) -> bytes:
        return self.binding.SerializeToString()

    def names_this_node(self, binding: NodeBinding) -> bool:
        return (
            binding.institute == self.institute
            and binding.node_public_key == self.key.public.raw
            and binding.tls_cert_sha256 == cert_sha256(self.tls_cert_pem)
        )

    def replace_binding(self, envelope: Envelope) -> None:
        """Uses and stores a new binding (checked by the caller)."""
        temporary = self.data_dir / (BINDING + ".new")
        temporary.write_text(to_json(envelope))
        temporary.replace(self.data_dir / BINDING)
        self.binding = envelope


def create_identity(
    data_dir: Path, institute: str, institute_key: PrivateKey, federation_id: str, address: str
) -> None:
    """Writes the node's keys (0600), certificate and the institute-signed binding."""
    node_key = PrivateKey.generate()
    node_key.write(data_dir / NODE_KEY)
    write_new_file(data_dir / INSTITUTE_KEY, institute_key.public.to_pem(), 0o644)
    tls_key_pem, tls_cert_pem = make_self_signed_cert()
    write_new_file(data_dir / TLS_KEY, tls_key_pem, PRIVATE_FILE_MODE)
    write_new_file(data_dir / TLS_CERT, tls_cert_pem, 0o644)
    binding = NodeBinding(
        federation_id=federation_id,
        institute=institute,
        node_public_key=node_key.public.raw,
        tls_cert_sha256=cert_sha256(tls_cert_pem),
        address=address,
    )
    binding.issued_at.CopyFrom(timestamp_of_us(now_us()))
    (data_dir / BINDING).write_text(to_json(sign_binding(binding, institute_key)))


def load_identity(data_dir: Path, institute: str) -> NodeIdentity:
    return NodeIdentity(
        data_dir=data_dir,
        institute=institute,
        institute_key=load_public_key(data_dir / INSTITUTE_KEY),
        key=load_private_key(data_dir / NODE_KEY),
        binding=envelope_from_json((data_dir / BINDING).read_text(), "the node binding"),
        tls_key_pem=read_private_file(data_dir / TLS_KEY),
        tls_cert_pem=(data_dir / TLS_CERT).read_bytes(),
    )
