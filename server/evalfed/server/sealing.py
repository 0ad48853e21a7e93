"""Positions handed to callers sealed: a node's storage positions count every record it holds,
hidden ones too, so a position a caller keeps (a query page token, a fork evidence cursor)
is encrypted (AES-GCM) under a key only the node's key derives, and bound to what it is for
and to whom it was given."""

from __future__ import annotations

import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from evalfed.keys import PrivateKey

KEY_LABEL = b"evalfed sealed positions key v1"
"""What the node key signs (Ed25519 signatures are deterministic) to derive the sealing key:
the same key after a restart, and on every replica holding the node key."""
NONCE_BYTES = 12


class PositionSealer:
    """Seals and opens storage positions for one node."""

    def __init__(self, node_key: PrivateKey) -> None:
        self._aead = AESGCM(hashlib.sha256(node_key.sign(KEY_LABEL)).digest())

    def seal(self, pos: int, bound_to: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, pos.to_bytes(8, "big"), bound_to)

    def open(self, sealed: bytes, bound_to: bytes) -> int:
        """The position; ValueError when `sealed` is not one this node sealed for `bound_to`."""
        try:
            plain = self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], bound_to)
        except InvalidTag:
            raise ValueError("not sealed by this node for this use") from None
        return int.from_bytes(plain, "big")
