"""Ed25519 key pairs: generation, PEM files (private ones mode 0600), and key ids."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evalfed.core.errors import KeyFileError, SignatureError

PRIVATE_FILE_MODE = 0o600


def key_id_of(raw_public_key: bytes) -> str:
    """The key id: lowercase hex SHA-256 of the raw 32-byte public key."""
    return hashlib.sha256(raw_public_key).hexdigest()


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key with its id."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise KeyFileError(f"an Ed25519 public key has 32 bytes, not {len(self.raw)}")

    @cached_property
    def key_id(self) -> str:
        return key_id_of(self.raw)

    @cached_property
    def _loaded(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.raw)

    def __getstate__(self) -> dict[str, bytes]:
        """Pickled as its raw bytes alone (the loaded key is made again on use)."""
        return {"raw": self.raw}

    def verify(self, signature: bytes, message: bytes) -> None:
        """Raises SignatureError unless `signature` is this key's over `message`."""
        try:
            self._loaded.verify(signature, message)
        except InvalidSignature:
            raise SignatureError(f"signature does not verify with key {self.key_id[:16]}") from None

    def is_valid(self, signature: bytes, message: bytes) -> bool:
        try:
            self._loaded.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def to_pem(self) -> bytes:
        return Ed25519PublicKey.from_public_bytes(self.raw).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class PrivateKey:
    """An Ed25519 private key. Its bytes are never printed, logged or exported."""

    def __init__(self, key: Ed25519PrivateKey, path: Path | None = None) -> None:
        self._key = key
        self.path = path
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public = PublicKey(raw)

    @classmethod
    def generate(cls) -> PrivateKey:
        return cls(Ed25519PrivateKey.generate())

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def __repr__(self) -> str:
        return f"PrivateKey(key_id={self.key_id[:16]}…)"

    def write(self, path: Path) -> None:
        """Writes the key as PKCS#8 PEM to a new file created with mode 0600."""
        pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_new_file(path, pem, PRIVATE_FILE_MODE)


def write_new_file(path: Path, data: bytes, mode: int) -> None:
    """Creates `path` with `mode` (never more open), refusing to overwrite."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists; refusing to overwrite it") from None
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, mode)


def generate_key_files(name: str, out_dir: Path) -> PrivateKey:
    """Creates `out_dir/name.key` (0600) and `out_dir/name.pub`; refuses to overwrite either."""
    out_dir.mkdir(parents=True, exist_ok=True)
    private_path, public_path = out_dir / f"{name}.key", out_dir / f"{name}.pub"
    for path in (private_path, public_path):
        if path.exists():
            raise KeyFileError(f"{path} already exists; refusing to overwrite it")
    key = PrivateKey.generate()
    key.write(private_path)
    write_new_file(public_path, key.public.to_pem(), 0o644)
    key.path = private_path
    return key


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"key file {path} does not exist") from None
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None


def read_private_file(path: Path) -> bytes:
    """The bytes of a private file, refusing one that others can read."""
    data = _read(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077 and b"PUBLIC KEY" not in data:
        raise KeyFileError(
            f"{path} is readable by others (mode {mode:04o}); run `chmod 600 {path}` and retry"
        )
    return data


def load_private_key(path: Path | str) -> PrivateKey:
    """Loads a private key, refusing files that others can read or that hold a public key."""
    path = Path(path)
    data = read_private_file(path)
    if b"PUBLIC KEY" in data:
        raise KeyFileError(
            f"{path} holds a public key, but a private key is needed here "
            f"(use the .key file that `evalfed keys generate` wrote)"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise KeyFileError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} is not an Ed25519 key")
    return PrivateKey(key, path)


def load_public_key(path: Path | str) -> PublicKey:
    """Loads a public key from a PEM file (a private key file also yields its public key)."""
    path = Path(path)
    data = _read(path)
    if b"PRIVATE KEY" in data:
        return load_private_key(path).public
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise KeyFileError(f"{path} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path} is not an Ed25519 key")
    return PublicKey(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
