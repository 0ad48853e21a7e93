"""C2SP signed notes, tlog checkpoints, Ed25519 cosignatures and tlog-proof texts. No IO.

A signed note (c2sp.org/signed-note) is UTF-8 text ending in a newline, a blank line, and
signature lines "— NAME BASE64(KEYHASH4 || SIGNATURE)". The key hash is
SHA-256(NAME || "\\n" || TYPE || PUBLIC_KEY)[:4], with TYPE 0x01 for Ed25519 signatures over
the text and 0x04 for timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature), whose
signature is an 8-byte big-endian POSIX time followed by an Ed25519 signature over
"cosignature/v1\\ntime T\\n" + the text. A verifier key is written "NAME+KEYHASH_HEX+
BASE64(TYPE || PUBLIC_KEY)".

A checkpoint (c2sp.org/tlog-checkpoint) is a note whose text is the log's origin, its tree
size in decimal, its root hash in base64, and optional extension lines. A tlog-proof
(c2sp.org/tlog-proof@v1) carries a leaf index, its inclusion proof and the signed
checkpoint it leads to, so a record can be checked offline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from evalfed.core.errors import InvalidInputError, LimitError, SignatureError
from evalfed.core.limits import (
    MAX_NOTE_BYTES,
    MAX_NOTE_SIGNATURES,
    MAX_PROOF_HASHES,
    MAX_TLOG_PROOF_BYTES,
)
from evalfed.core.tlog import HASH_SIZE, MAX_TREE_SIZE, verify_inclusion
from evalfed.keys import PrivateKey, PublicKey

SIG_ED25519 = 0x01
SIG_COSIGNATURE_V1 = 0x04
SIGNATURE_PREFIX = "\u2014 "
COSIGNATURE_HEADER = "cosignature/v1\n"
TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
MAX_TIMESTAMP = 2**63 - 1
_ED25519_SIG_SIZE = 64
_TIMESTAMP_SIZE = 8


def valid_key_name(name: str) -> bool:
    """Key names are non-empty and hold no Unicode space and no plus."""
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name)


def key_hash(name: str, sig_type: int, public_key: bytes) -> bytes:
    """The 4-byte key hash (key ID) of a key: SHA-256(name || 0x0A || type || key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()[:4]


def cosignature_message(text: str, timestamp: int) -> bytes:
    """What an Ed25519 cosigner signs for the checkpoint text `text` at POSIX time
    `timestamp`."""
    _check_timestamp(timestamp)
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{text}".encode()


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key's name and hash, and the signature bytes after the hash."""

    name: str
    key_hash: bytes
    signature: bytes

    def line(self) -> str:
        encoded = base64.b64encode(self.key_hash + self.signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {encoded}\n"

    @property
    def timestamp(self) -> int:
        """The time a cosignature (type 0x04) states; meaningless for other types."""
        return int.from_bytes(self.signature[:_TIMESTAMP_SIZE], "big")


@dataclass(frozen=True)
class Note:
    """A note's text (with its final newline) and its signature lines, checked or not."""

    text: str
    signatures: tuple[NoteSignature, ...] = ()

    def to_bytes(self) -> bytes:
        if not self.signatures:
            raise InvalidInputError("a signed note has at least one signature")
        return (self.text + "\n" + "".join(s.line() for s in self.signatures)).encode()

    def with_signature(self, signature: NoteSignature) -> Note:
        """This note with `signature` last, in place of any by the same key."""
        others = tuple(
            s
            for s in self.signatures
            if (s.name, s.key_hash) != (signature.name, signature.key_hash)
        )
        return Note(self.text, (*others, signature))


def parse_note(data: bytes) -> Note:
    """A signed note's text and signature lines, unchecked; raises InvalidInputError when
    the bytes are not a well-formed note."""
    if len(data) > MAX_NOTE_BYTES:
        raise LimitError(
            f"a signed note has at most {MAX_NOTE_BYTES} bytes (MAX_NOTE_BYTES), not {len(data)}"
        )
    try:
        message = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError("a signed note is UTF-8 text") from None
    _check_note_text(message)
    split = message.rfind("\n\n")
    if split < 0:
        raise InvalidInputError("a signed note has a blank line before its signature lines")
    text, lines = message[: split + 1], message[split + 2 :]
    if not lines.endswith("\n"):
        raise InvalidInputError("a signed note ends with signature lines, each ending in a newline")
    rows = lines[:-1].split("\n")
    if len(rows) > MAX_NOTE_SIGNATURES:
        raise LimitError(
            f"a signed note has at most {MAX_NOTE_SIGNATURES} signatures "
            f"(MAX_NOTE_SIGNATURES), not {len(rows)}"
        )
    return Note(text, tuple(_parse_signature_line(row) for row in rows))


def parse_signature_line(line: str) -> NoteSignature:
    """One signature line ("— NAME BASE64", with or without its newline), unchecked."""
    if len(line) > MAX_NOTE_BYTES:
        raise LimitError(f"a signature line has at most {MAX_NOTE_BYTES} bytes (MAX_NOTE_BYTES)")
    row = line.removesuffix("\n")
    if "\n" in row:
        raise InvalidInputError("a signature line is one line")
    return _parse_signature_line(row)


def _parse_signature_line(row: str) -> NoteSignature:
    if not row.startswith(SIGNATURE_PREFIX):
        raise InvalidInputError(
            f"a signature line starts with an em dash and a space: {row[:80]!r}"
        )
    name, _, encoded = row[len(SIGNATURE_PREFIX) :].partition(" ")
    if not valid_key_name(name):
        raise InvalidInputError(f"a key name is non-empty, without spaces or '+': {name[:80]!r}")
    raw = _decode_base64(encoded, "a signature")
    if len(raw) < 5:
        raise InvalidInputError(f"the signature by {name} is shorter than a key hash and a byte")
    return NoteSignature(name, raw[:4], raw[4:])


def _check_note_text(text: str) -> None:
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise InvalidInputError("a signed note holds no control character but newline")


def _check_signable(text: str) -> None:
    _check_note_text(text)
    if not text.endswith("\n"):
        raise InvalidInputError("a note's text ends with a newline")


def _decode_base64(value: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInputError(f"{what} is standard base64: {value[:80]!r}") from None
    if base64.b64encode(raw).decode() != value:
        raise InvalidInputError(f"{what} is in canonical base64: {value[:80]!r}")
    return raw


def _check_timestamp(timestamp: int) -> None:
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise InvalidInputError(f"a cosignature time is between 0 and 2^63-1, not {timestamp}")


@dataclass(frozen=True)
class NoteVerifier:
    """A key that may sign notes: its name, public key and signature type."""

    name: str
    key: PublicKey
    sig_type: int = SIG_ED25519

    def __post_init__(self) -> None:
        if not valid_key_name(self.name):
            raise InvalidInputError(
                f"a key name is non-empty, without spaces or '+': {self.name[:80]!r}"
            )
        if self.sig_type not in (SIG_ED25519, SIG_COSIGNATURE_V1):
            raise InvalidInputError(
                f"note keys here are Ed25519 (type 0x01) or Ed25519 cosigners (type 0x04), "
                f"not type {self.sig_type:#04x}"
            )

    @property
    def key_hash(self) -> bytes:
        return key_hash(self.name, self.sig_type, self.key.raw)

    def vkey(self) -> str:
        encoded = base64.b64encode(bytes([self.sig_type]) + self.key.raw).decode()
        return f"{self.name}+{self.key_hash.hex()}+{encoded}"

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """The verifier a key string "NAME+KEYHASH+BASE64(TYPE || KEY)" stands for."""
        name, _, rest = vkey.partition("+")
        hash_hex, _, encoded = rest.partition("+")
        if len(hash_hex) != 8 or hash_hex.strip("0123456789abcdefABCDEF"):
            raise InvalidInputError(f"a verifier key is NAME+KEYHASH+KEY: {vkey[:120]!r}")
        raw = _decode_base64(encoded, "a verifier key's key")
        if len(raw) != 33:
            raise InvalidInputError(
                f"a verifier key holds a type byte and a 32-byte Ed25519 key, not {len(raw)} bytes"
            )
        verifier = cls(name, PublicKey(raw[1:]), raw[0])
        if verifier.key_hash != bytes.fromhex(hash_hex):
            raise InvalidInputError(
                f"the verifier key {name}+{hash_hex} names the wrong key hash (the key's is "
                f"{verifier.key_hash.hex()})"
            )
        return verifier

    def verifies(self, text: str, signature: NoteSignature) -> bool:
        """Whether `signature` is this key's over the note text `text`."""
        sig = signature.signature
        if self.sig_type == SIG_ED25519:
            return len(sig) == _ED25519_SIG_SIZE and self.key.is_valid(sig, text.encode())
        if len(sig) != _TIMESTAMP_SIZE + _ED25519_SIG_SIZE or signature.timestamp > MAX_TIMESTAMP:
            return False
        message = cosignature_message(text, signature.timestamp)
        return self.key.is_valid(sig[_TIMESTAMP_SIZE:], message)


@dataclass(frozen=True)
class _NamedKey:
    name: str
    key: PrivateKey
    sig_type: ClassVar[int]

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, self.key.public, self.sig_type)


class NoteSigner(_NamedKey):
    """Signs note texts with an Ed25519 key under a name (type 0x01)."""

    sig_type = SIG_ED25519

    def sign(self, text: str) -> NoteSignature:
        _check_signable(text)
        return NoteSignature(self.name, self.verifier.key_hash, self.key.sign(text.encode()))


class Cosigner(_NamedKey):
    """Cosigns checkpoint texts with an Ed25519 key under a name (type 0x04)."""

    sig_type = SIG_COSIGNATURE_V1

    def cosign(self, text: str, timestamp: int) -> NoteSignature:
        _check_signable(text)
        signature = self.key.sign(cosignature_message(text, timestamp))
        return NoteSignature(
            self.name,
            self.verifier.key_hash,
            timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + signature,
        )


@dataclass(frozen=True)
class OpenedNote:
    """A note whose signatures by known keys all verified (at least one did)."""

    note: Note
    verified: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]

    def signed_by(self, verifier: NoteVerifier) -> NoteSignature | None:
        for sig in self.verified:
            if (sig.name, sig.key_hash) == (verifier.name, verifier.key_hash):
                return sig
        return None


def open_note(data: bytes, verifiers: Iterable[NoteVerifier]) -> OpenedNote:
    """Parses a signed note and checks every signature by a key in `verifiers`.

    Signatures by other keys (another name, or another key hash) are kept unverified, as the
    spec asks. Raises SignatureError when a known key's signature fails, or when no known
    key signed.
    """
    note = parse_note(data)
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    for verifier in verifiers:
        slot = (verifier.name, verifier.key_hash)
        if known.setdefault(slot, verifier) != verifier:
            raise InvalidInputError(
                f"two different keys are named {verifier.name} with key hash "
                f"{verifier.key_hash.hex()}: fix the list of trusted keys"
            )
    verified: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    for sig in note.signatures:
        signer = known.get((sig.name, sig.key_hash))
        if signer is None:
            unverified.append(sig)
        elif not signer.verifies(note.text, sig):
            raise SignatureError(
                f"the signature by {sig.name}+{sig.key_hash.hex()} does not verify: the note "
                "was changed after signing, or the signature is not that key's"
            )
        elif sig not in verified:
            verified.append(sig)
    if not verified:
        names = ", ".join(sorted(f"{n}+{h.hex()}" for n, h in known)) or "none"
        raise SignatureError(f"the note has no signature by a trusted key (trusted: {names})")
    return OpenedNote(note, tuple(verified), tuple(unverified))


# --- checkpoints ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, size and root hash, with opaque extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for line in (self.origin, *self.extensions):
            if not line or "\n" in line:
                raise InvalidInputError("checkpoint lines are non-empty and hold no newline")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise InvalidInputError(f"a tree size is between 0 and 2^63-1, not {self.size}")
        if len(self.root_hash) != HASH_SIZE:
            raise InvalidInputError(f"a root hash has {HASH_SIZE} bytes, not {len(self.root_hash)}")

    def text(self) -> str:
        root = base64.b64encode(self.root_hash).decode()
        return "".join(
            f"{line}\n" for line in (self.origin, str(self.size), root, *self.extensions)
        )


def parse_checkpoint(text: str) -> Checkpoint:
    """The checkpoint a note text states; raises InvalidInputError for one the spec rejects
    (fewer than three lines, an empty line, a size with a sign, leading zero or other
    digits, a root that is not 32 bytes of canonical base64, no final newline)."""
    _check_note_text(text)
    if not text.endswith("\n"):
        raise InvalidInputError("a checkpoint's text ends with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or not all(lines):
        raise InvalidInputError(
            "a checkpoint is at least three non-empty lines: origin, tree size, root hash"
        )
    origin, size_text, root_text, *extensions = lines
    if (
        len(size_text) > 19
        or size_text.strip("0123456789")
        or (size_text.startswith("0") and size_text != "0")
    ):
        raise InvalidInputError(
            f"a checkpoint's tree size is decimal digits with no leading zero: {size_text[:40]!r}"
        )
    size = int(size_text)
    if size > MAX_TREE_SIZE:
        raise InvalidInputError(f"a tree size is at most 2^63-1, not {size_text[:40]}")
    root = _decode_base64(root_text, "a checkpoint's root hash")
    if len(root) != HASH_SIZE:
        raise InvalidInputError(f"a checkpoint's root hash has {HASH_SIZE} bytes, not {len(root)}")
    return Checkpoint(origin, size, root, tuple(extensions))


@dataclass(frozen=True)
class Cosignature:
    """A cosigner's checked statement that at `timestamp` this was the largest consistent
    tree it had seen of the log."""

    name: str
    key_hash: bytes
    timestamp: int


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    note: Note
    cosignatures: tuple[Cosignature, ...]


def sign_checkpoint(checkpoint: Checkpoint, log: NoteSigner) -> bytes:
    """The checkpoint as a note signed by the log's key."""
    return Note(checkpoint.text(), (log.sign(checkpoint.text()),)).to_bytes()


def add_cosignature(signed: bytes, cosigner: Cosigner, timestamp: int) -> bytes:
    """The signed checkpoint `signed` with `cosigner`'s cosignature at `timestamp` (replacing
    an older one by the same key). The caller has checked consistency first."""
    note = parse_note(signed)
    parse_checkpoint(note.text)
    return note.with_signature(cosigner.cosign(note.text, timestamp)).to_bytes()


def open_checkpoint(
    data: bytes, origin: str, log: NoteVerifier, cosigners: Iterable[NoteVerifier] = ()
) -> SignedCheckpoint:
    """Checks a signed checkpoint of log `origin`: the log's key must have signed it, and
    every cosignature by a known cosigner must verify. Raises SignatureError or
    InvalidInputError otherwise."""
    cosigners = tuple(cosigners)
    if log.sig_type != SIG_ED25519 or any(c.sig_type != SIG_COSIGNATURE_V1 for c in cosigners):
        raise InvalidInputError("a log signs with type 0x01 keys and cosigners with type 0x04")
    opened = open_note(data, (log, *cosigners))
    if opened.signed_by(log) is None:
        raise SignatureError(
            f"the checkpoint is not signed by the log's key {log.name}+{log.key_hash.hex()}"
        )
    checkpoint = parse_checkpoint(opened.note.text)
    if checkpoint.origin != origin:
        raise InvalidInputError(
            f"the checkpoint is of the log {checkpoint.origin[:120]!r}, not {origin[:120]!r}"
        )
    cosignatures = tuple(
        Cosignature(sig.name, sig.key_hash, sig.timestamp)
        for c in cosigners
        if (sig := opened.signed_by(c)) is not None
    )
    return SignedCheckpoint(checkpoint, opened.note, cosignatures)


# --- tlog-proof -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TlogProof:
    """A leaf's index, its inclusion proof, and the signed checkpoint it leads to (kept as
    the bytes received), with optional unauthenticated extra data."""

    index: int
    inclusion: tuple[bytes, ...]
    checkpoint: bytes
    extra: bytes | None = None

    def to_bytes(self) -> bytes:
        lines = [TLOG_PROOF_HEADER]
        if self.extra is not None:
            lines.append("extra " + base64.b64encode(self.extra).decode())
        lines.append(f"index {self.index}")
        lines.extend(base64.b64encode(h).decode() for h in self.inclusion)
        return ("\n".join(lines) + "\n\n").encode() + self.checkpoint


def parse_tlog_proof(data: bytes) -> TlogProof:
    """A c2sp.org/tlog-proof@v1 text's parts; the checkpoint is checked by
    `verify_tlog_proof`, not here."""
    if len(data) > MAX_TLOG_PROOF_BYTES:
        raise LimitError(
            f"a tlog-proof has at most {MAX_TLOG_PROOF_BYTES} bytes (MAX_TLOG_PROOF_BYTES), "
            f"not {len(data)}"
        )
    head, sep, checkpoint = data.partition(b"\n\n")
    if not sep:
        raise InvalidInputError("a tlog-proof has a blank line before its checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise InvalidInputError("a tlog-proof's proof lines are ASCII") from None
    if lines[0] != TLOG_PROOF_HEADER:
        raise InvalidInputError(f"a tlog-proof starts with the line {TLOG_PROOF_HEADER!r}")
    rest = lines[1:]
    extra = None
    if rest and rest[0].startswith("extra "):
        extra = _decode_base64(rest.pop(0)[len("extra ") :], "a tlog-proof's extra data")
    if not rest or not rest[0].startswith("index "):
        raise InvalidInputError("a tlog-proof names its leaf on an 'index N' line")
    index_text = rest.pop(0)[len("index ") :]
    if (
        not index_text
        or len(index_text) > 19
        or index_text.strip("0123456789")
        or (index_text.startswith("0") and index_text != "0")
        or int(index_text) >= MAX_TREE_SIZE
    ):
        raise InvalidInputError(
            f"a tlog-proof's index is decimal digits with no leading zero: {index_text[:40]!r}"
        )
    if len(rest) > MAX_PROOF_HASHES:
        raise LimitError(
            f"an inclusion proof has at most {MAX_PROOF_HASHES} hashes (MAX_PROOF_HASHES), "
            f"not {len(rest)}"
        )
    hashes = tuple(_decode_base64(line, "an inclusion proof hash") for line in rest)
    if any(len(h) != HASH_SIZE for h in hashes):
        raise InvalidInputError(f"inclusion proof hashes have {HASH_SIZE} bytes")
    return TlogProof(int(index_text), hashes, checkpoint, extra)


def verify_tlog_proof(
    proof: TlogProof,
    leaf: bytes,
    origin: str,
    log: NoteVerifier,
    cosigners: Sequence[NoteVerifier] = (),
) -> SignedCheckpoint:
    """Checks that leaf hash `leaf` is at `proof.index` in the log `origin` as its signed
    checkpoint states; returns the checkpoint with its checked cosignatures (whether enough
    of them is a policy the caller applies). Raises ProofError, SignatureError or
    InvalidInputError."""
    signed = open_checkpoint(proof.checkpoint, origin, log, cosigners)
    cp = signed.checkpoint
    verify_inclusion(leaf, proof.index, cp.size, proof.inclusion, cp.root_hash)
    return signed
