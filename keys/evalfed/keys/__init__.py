"""Ed25519 keys, their ids and files, and DSSE signing."""

from evalfed.keys.dsse import pae, sign_envelope, verify_signatures
from evalfed.keys.ed25519 import (
    PrivateKey,
    PublicKey,
    generate_key_files,
    key_id_of,
    load_private_key,
    load_public_key,
)

__all__ = [
    "PrivateKey",
    "PublicKey",
    "generate_key_files",
    "key_id_of",
    "load_private_key",
    "load_public_key",
    "pae",
    "sign_envelope",
    "verify_signatures",
]
