"""Signed notes, checkpoints, cosignatures and tlog-proof texts: the published examples
byte for byte, what the specs reject, and that any change to a signed note is caught."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from evalfed.core import note as notes
from evalfed.core import tlog
from evalfed.core.errors import InvalidInputError, LimitError, ProofError, SignatureError
from evalfed.core.limits import MAX_NOTE_BYTES, MAX_NOTE_SIGNATURES
from evalfed.keys import PrivateKey

FIXTURES = Path(__file__).parents[2] / "fixtures/tlog"
GO = json.loads((FIXTURES / "go-note-vectors.json").read_text(encoding="utf-8"))
MESSAGE = (GO["text"] + "\n" + GO["peter_sig_line"]).encode()
EM = "\u2014"


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _peter_key() -> PrivateKey:
    """The published test key: 'PRIVATE+KEY+name+hash+' then base64(0x01 || seed)."""
    raw = base64.b64decode(GO["peter_skey"].split("+", 4)[4])
    assert raw[0] == notes.SIG_ED25519
    return PrivateKey(Ed25519PrivateKey.from_private_bytes(raw[1:]))


def _peter() -> notes.NoteVerifier:
    return notes.NoteVerifier.from_vkey(GO["peter_vkey"])


def test_published_verifier_key_and_key_hash() -> None:
    peter = _peter()
    assert peter.name == "PeterNeumann"
    assert peter.key_hash.hex() == GO["peter_key_hash"] == "c74f20a3"
    assert peter.vkey() == GO["peter_vkey"]
    assert peter.key_hash == notes.key_hash("PeterNeumann", 0x01, _peter_key().public.raw)
    assert notes.NoteVerifier.from_vkey(GO["enoch_vkey"]).key_hash.hex() == "af0cfe78"


def test_published_note_verifies_with_its_published_key() -> None:
    opened = notes.open_note(MESSAGE, [_peter()])
    assert opened.note.text == GO["text"]
    assert [s.name for s in opened.verified] == ["PeterNeumann"]
    assert opened.verified[0].key_hash.hex() == "c74f20a3"
    assert opened.note.to_bytes() == MESSAGE


def test_signing_the_published_text_with_the_published_key_gives_the_published_line() -> None:
    signer = notes.NoteSigner("PeterNeumann", _peter_key())
    assert signer.verifier.vkey() == GO["peter_vkey"]
    assert signer.sign(GO["text"]).line() == GO["peter_sig_line"]


def test_signatures_by_unknown_keys_are_kept_unverified() -> None:
    both = (GO["text"] + "\n" + GO["peter_sig_line"] + GO["enoch_sig_line"]).encode()
    opened = notes.open_note(both, [_peter()])
    assert [s.name for s in opened.verified] == ["PeterNeumann"]
    assert [s.name for s in opened.unverified] == ["EnochRoot"]
    enoch = notes.NoteVerifier.from_vkey(GO["enoch_vkey"])
    assert len(notes.open_note(both, [_peter(), enoch]).verified) == 2
    with pytest.raises(SignatureError, match="no signature by a trusted key"):
        notes.open_note(both, [])
    # Same name, another key: ignored, as the spec asks; so the note has no trusted signature.
    impostor = notes.NoteVerifier("PeterNeumann", PrivateKey.generate().public)
    with pytest.raises(SignatureError, match="no signature by a trusted key"):
        notes.open_note(MESSAGE, [impostor])


def test_a_changed_note_or_signature_fails() -> None:
    changed_text = MESSAGE.replace(b"cryptography", b"cryptographY")
    with pytest.raises(SignatureError, match="does not verify"):
        notes.open_note(changed_text, [_peter()])
    parsed = notes.parse_note(MESSAGE)
    sig = parsed.signatures[0]
    forged = notes.NoteSignature(
        sig.name, sig.key_hash, bytes([sig.signature[0] ^ 1]) + sig.signature[1:]
    )
    with pytest.raises(SignatureError, match="PeterNeumann\\+c74f20a3 does not verify"):
        notes.open_note(notes.Note(parsed.text, (forged,)).to_bytes(), [_peter()])


@pytest.mark.parametrize(
    "message",
    [
        GO["text"],
        GO["text"] + "\n",
        GO["text"] + "\n" + GO["peter_sig_line"][:-1],
        "\x01" + GO["text"] + "\n" + GO["peter_sig_line"],
        GO["text"] + "\n" + GO["peter_sig_line"].replace("PeterNeumann", "Bad Name"),
        GO["text"] + "\n" + GO["peter_sig_line"] + "Unexpected line.\n",
        GO["text"] + "\n" + GO["peter_sig_line"].replace("PeterNeumann", "Peter+Neumann"),
        GO["text"] + "\n" + GO["peter_sig_line"].replace(EM, "-"),
        GO["text"].replace("\n", "\r\n", 1) + "\n" + GO["peter_sig_line"],
        GO["text"] + "\n" + GO["peter_sig_line"].replace("AM=", "AN="),  # non-canonical base64
        GO["text"] + "\n" + f"{EM} PeterNeumann AAAA\n",  # a key hash and no signature
    ],
    ids=[
        "no-signatures",
        "blank-line-only",
        "no-final-newline",
        "control-character",
        "space-in-name",
        "line-after-signatures",
        "plus-in-name",
        "hyphen-not-em-dash",
        "carriage-return",
        "non-canonical-base64",
        "empty-signature",
    ],
)
def test_malformed_notes_are_refused(message: str) -> None:
    with pytest.raises(InvalidInputError):
        notes.open_note(message.encode(), [_peter()])


def test_note_limits() -> None:
    invalid_utf8 = b"\xff" + MESSAGE
    with pytest.raises(InvalidInputError, match="UTF-8"):
        notes.parse_note(invalid_utf8)
    many = (GO["text"] + "\n" + GO["peter_sig_line"] * (MAX_NOTE_SIGNATURES + 1)).encode()
    with pytest.raises(LimitError, match="MAX_NOTE_SIGNATURES"):
        notes.parse_note(many)
    assert (
        len(notes.parse_note((GO["text"] + "\n" + GO["peter_sig_line"] * 16).encode()).signatures)
        == 16
    )
    with pytest.raises(LimitError, match="MAX_NOTE_BYTES"):
        notes.parse_note(b"a" * (MAX_NOTE_BYTES + 1))


def test_the_c2sp_signed_note_example_parses_byte_exact() -> None:
    """The spec publishes no key for this example, so it is parsed, not verified."""
    data = _fixture("c2sp-signed-note-example.txt")
    parsed = notes.parse_note(data)
    assert parsed.text == (
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\n"
        "ed è subito sera.\n"
    )
    assert [s.name for s in parsed.signatures] == ["quasimodo.example/salvatore"]
    assert parsed.signatures[0].key_hash.hex() == "367ba04b"
    assert len(parsed.signatures[0].signature) == 64
    assert parsed.to_bytes() == data


def test_the_c2sp_checkpoint_and_cosignature_examples_parse_byte_exact() -> None:
    data = _fixture("c2sp-cosignature-example.txt")
    parsed = notes.parse_note(data)
    checkpoint = notes.parse_checkpoint(parsed.text)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root_hash == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.text() == parsed.text
    log, witness = parsed.signatures
    assert (log.name, log.key_hash.hex(), len(log.signature)) == (
        "example.com/behind-the-sofa",
        "033de0ae",
        64,
    )
    assert (witness.name, witness.key_hash.hex()) == ("witness.example.com/w1", "8d66cf3f")
    assert witness.timestamp == 1679315147
    assert len(witness.signature) == 8 + 64
    assert notes.cosignature_message(parsed.text, witness.timestamp) == _fixture(
        "c2sp-cosignature-message-example.txt"
    )
    assert parsed.to_bytes() == data
    assert notes.parse_note(_fixture("c2sp-checkpoint-example.txt")).text == parsed.text


@pytest.mark.parametrize(
    "text",
    [
        "example.com/log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
        "example.com/log\n20852163\n",
        "\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n020852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n+20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n 5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n\u0663\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n9223372036854775808\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n" + "9" * 5000 + "\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
        "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n",
        "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jx\n",
        "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\nextension\n",
        "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\t\n",
    ],
    ids=[
        "no-final-newline",
        "two-lines",
        "empty-origin",
        "leading-zero",
        "plus-sign",
        "negative",
        "space",
        "arabic-digit",
        "over-2^63-1",
        "5000-digits",
        "unpadded-root",
        "non-canonical-root",
        "short-root",
        "empty-extension-line",
        "control-character",
    ],
)
def test_checkpoints_the_spec_rejects_are_refused(text: str) -> None:
    with pytest.raises(InvalidInputError):
        notes.parse_checkpoint(text)


def test_checkpoint_of_an_empty_log_and_with_extension_lines() -> None:
    empty = notes.Checkpoint("evalfed.example/us-aisi/public", 0, tlog.EMPTY_ROOT)
    assert (
        empty.text()
        == "evalfed.example/us-aisi/public\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    )
    assert notes.parse_checkpoint(empty.text()) == empty
    extended = notes.Checkpoint("o", 3, b"\x01" * 32, ("ext one", "ext two"))
    assert notes.parse_checkpoint(extended.text()) == extended


class Log:
    """A log of record ids with its stored hashes, its key and two cosigning partners."""

    origin = "evalfed.example/us-aisi/members"

    def __init__(self, size: int) -> None:
        self.ids = [hashlib.sha256(b"record %d" % i).hexdigest() for i in range(size)]
        self.store = tlog.MemoryHashStore()
        for record_id in self.ids:
            self.store.append(tlog.record_leaf_hash(record_id))
        self.signer = notes.NoteSigner(self.origin, PrivateKey.generate())
        self.uk = notes.Cosigner("evalfed.example/uk-aisi", PrivateKey.generate())
        self.ca = notes.Cosigner("evalfed.example/ca-aisi", PrivateKey.generate())

    def checkpoint(self, size: int) -> bytes:
        root = tlog.tree_hash(size, self.store)
        return notes.sign_checkpoint(notes.Checkpoint(self.origin, size, root), self.signer)

    def open(self, data: bytes) -> notes.SignedCheckpoint:
        return notes.open_checkpoint(
            data, self.origin, self.signer.verifier, [self.uk.verifier, self.ca.verifier]
        )


def test_cosigned_checkpoint_round_trip_and_tampering() -> None:
    log = Log(11)
    signed = notes.add_cosignature(log.checkpoint(11), log.uk, 1_764_700_000)
    signed = notes.add_cosignature(signed, log.ca, 1_764_700_005)
    opened = log.open(signed)
    assert opened.checkpoint.size == 11
    assert [(c.name, c.timestamp) for c in opened.cosignatures] == [
        ("evalfed.example/uk-aisi", 1_764_700_000),
        ("evalfed.example/ca-aisi", 1_764_700_005),
    ]
    # A newer cosignature by the same key replaces the older one.
    again = notes.add_cosignature(signed, log.uk, 1_764_700_100)
    assert len(notes.parse_note(again).signatures) == 3
    times = {c.name: c.timestamp for c in log.open(again).cosignatures}
    assert times == {
        "evalfed.example/uk-aisi": 1_764_700_100,
        "evalfed.example/ca-aisi": 1_764_700_005,
    }

    # Moving a cosignature's time breaks it.
    parsed = notes.parse_note(signed)
    uk = parsed.signatures[1]
    moved = notes.NoteSignature(
        uk.name, uk.key_hash, (1_764_700_001).to_bytes(8, "big") + uk.signature[8:]
    )
    with pytest.raises(SignatureError, match="uk-aisi"):
        log.open(notes.Note(parsed.text, (parsed.signatures[0], moved)).to_bytes())
    # A cosigner's key used as a plain note key has another key hash: not the log's signature.
    with pytest.raises(SignatureError, match="no signature by a trusted key"):
        notes.open_checkpoint(
            notes.Note(parsed.text, (uk,)).to_bytes(),
            log.origin,
            notes.NoteVerifier(log.uk.name, log.uk.key.public),
        )
    # Signed by cosigners only: refused, the log itself must sign.
    with pytest.raises(SignatureError, match="not signed by the log's key"):
        log.open(notes.Note(parsed.text, parsed.signatures[1:]).to_bytes())
    with pytest.raises(InvalidInputError, match=r"not 'evalfed\.example/jp-aisi/members'"):
        notes.open_checkpoint(signed, "evalfed.example/jp-aisi/members", log.signer.verifier)


def test_cosigner_verifier_keys_use_type_0x04() -> None:
    cosigner = notes.Cosigner("witness.example/w1", PrivateKey.generate())
    vkey = cosigner.verifier.vkey()
    assert base64.b64decode(vkey.split("+", 2)[2])[0] == 0x04
    assert notes.NoteVerifier.from_vkey(vkey) == cosigner.verifier
    assert (
        cosigner.verifier.key_hash
        != notes.NoteVerifier(cosigner.name, cosigner.key.public).key_hash
    )
    for bad in (vkey.replace("+", "-", 1), vkey[:-4], "w1+00000000+" + vkey.split("+", 2)[2]):
        with pytest.raises(InvalidInputError):
            notes.NoteVerifier.from_vkey(bad)


def test_the_c2sp_tlog_proof_example_parses_byte_exact() -> None:
    data = _fixture("c2sp-tlog-proof-example.txt")
    proof = notes.parse_tlog_proof(data)
    assert proof.index == 73894
    assert proof.extra is not None and proof.extra.startswith(b"age-v1.2.1-darwin-arm64.tar.gz")
    assert proof.inclusion[0] == base64.b64decode("gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=")
    assert len(proof.inclusion) == 5
    assert proof.checkpoint.startswith(b"example.com/fancylog\n109482\n")
    assert proof.to_bytes() == data


def test_a_record_proof_verifies_offline_and_a_tampered_one_fails() -> None:
    log = Log(13)
    signed = notes.add_cosignature(log.checkpoint(13), log.uk, 1_764_700_000)
    index = 6
    proof = notes.TlogProof(index, tuple(tlog.inclusion_proof(index, 13, log.store)), signed)
    text = proof.to_bytes()
    leaf = tlog.record_leaf_hash(log.ids[index])
    cosigners = [log.uk.verifier, log.ca.verifier]
    checked = notes.verify_tlog_proof(
        notes.parse_tlog_proof(text), leaf, log.origin, log.signer.verifier, cosigners
    )
    assert [c.name for c in checked.cosignatures] == ["evalfed.example/uk-aisi"]

    damaged = _flip_base64_line(text, line=3)
    with pytest.raises(ProofError):
        notes.verify_tlog_proof(
            notes.parse_tlog_proof(damaged), leaf, log.origin, log.signer.verifier
        )
    with pytest.raises(ProofError):
        other = tlog.record_leaf_hash(log.ids[index + 1])
        notes.verify_tlog_proof(
            notes.parse_tlog_proof(text), other, log.origin, log.signer.verifier
        )
    grown = text.replace(b"\n13\n", b"\n14\n")
    with pytest.raises(SignatureError):
        notes.verify_tlog_proof(
            notes.parse_tlog_proof(grown), leaf, log.origin, log.signer.verifier
        )


def _flip_base64_line(text: bytes, line: int) -> bytes:
    lines = text.split(b"\n")
    raw = bytearray(base64.b64decode(lines[line]))
    raw[0] ^= 0x10
    lines[line] = base64.b64encode(bytes(raw))
    return b"\n".join(lines)


@pytest.mark.parametrize(
    "data",
    [
        b"c2sp.org/tlog-proof@v2\nindex 1\n\nx",
        b"c2sp.org/tlog-proof@v1\nindex 01\n\nx",
        b"c2sp.org/tlog-proof@v1\nindex -1\n\nx",
        b"c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\nx",
        b"c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\nx",
        b"c2sp.org/tlog-proof@v1\nindex 1\n",
        b"c2sp.org/tlog-proof@v1\n\nx",
    ],
    ids=[
        "version",
        "leading-zero",
        "negative",
        "bad-extra",
        "short-hash",
        "no-checkpoint",
        "no-index",
    ],
)
def test_malformed_tlog_proofs_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidInputError):
        notes.parse_tlog_proof(data)


@settings(max_examples=40, deadline=None)
@given(
    lines=st.lists(
        st.text(st.characters(min_codepoint=0x20, exclude_categories=["Cs"]), max_size=30),
        min_size=1,
        max_size=5,
    ),
    data=st.data(),
)
def test_any_changed_byte_of_a_signed_note_is_caught(lines: list[str], data: st.DataObject) -> None:
    text = "".join(f"{line}\n" for line in lines)
    signer = notes.NoteSigner("evalfed.example/us-aisi", _peter_key())
    signed = notes.Note(text, (signer.sign(text),)).to_bytes()
    assert notes.open_note(signed, [signer.verifier]).note.text == text
    position = data.draw(st.integers(0, len(signed) - 1), label="position")
    flipped = bytearray(signed)
    flipped[position] ^= 1 << data.draw(st.integers(0, 6), label="bit")
    with pytest.raises((InvalidInputError, SignatureError)):
        opened = notes.open_note(bytes(flipped), [signer.verifier])
        assert opened.note.text != text  # a change that still parses and verifies must not exist
