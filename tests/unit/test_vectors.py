"""The code against the conformance vectors of PROTOCOL.md (tests/vectors/*.json)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import json_format

from evalfed.core.bundles import verify_bundle
from evalfed.core.callauth import call_message, request_digest
from evalfed.core.charter import verify_charter
from evalfed.core.checkpoints import (
    checkpoint_signer,
    log_origin,
    witness_cosigner,
    witness_name,
    witness_verifier,
)
from evalfed.core.checks import check_envelope
from evalfed.core.codec import bundle_from_json, envelope_from_json
from evalfed.core.errors import EvalfedError
from evalfed.core.membership import Membership
from evalfed.core.note import (
    Checkpoint,
    NoteVerifier,
    add_cosignature,
    cosignature_message,
    open_checkpoint,
    parse_checkpoint,
    parse_tlog_proof,
    sign_checkpoint,
    verify_tlog_proof,
)
from evalfed.core.records import lane_of, lane_tag, record_id
from evalfed.core.tlog import (
    MemoryHashStore,
    consistency_proof,
    inclusion_proof,
    record_leaf_hash,
    root_of,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)
from evalfed.core.witness import check_split_view
from evalfed.core.witness_policy import parse_policy
from evalfed.keys import PrivateKey, PublicKey
from evalfed.keys.dsse import pae
from evalfed.v1.envelope_pb2 import Envelope, SplitViewEvidence
from evalfed.v1.record_pb2 import Audience
from tests.vectors import generate

FOLDER = Path(generate.__file__).parent


def vectors(name: str) -> Any:
    return json.loads((FOLDER / name).read_text())


def key(name: str) -> PrivateKey:
    entry = next(k for k in vectors("keys.json")["keys"] if k["name"] == name)
    return PrivateKey(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(entry["seed_hex"])))


def charter_of() -> Any:
    return verify_charter(envelope_from_json(json.dumps(vectors("charter.json")["envelope"])))


def test_keys_from_their_seeds() -> None:
    for entry in vectors("keys.json")["keys"]:
        public = key(entry["name"]).public
        assert public.raw.hex() == entry["public_key_hex"]
        assert public.key_id == entry["key_id"]


def test_pae_bytes() -> None:
    for case in vectors("pae.json")["cases"]:
        payload = base64.b64decode(case["payload_b64"])
        assert pae(case["payload_type"], payload).hex() == case["pae_hex"]


def test_dsse_example_is_among_the_pae_cases() -> None:
    expected = b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".hex()
    assert expected in [c["pae_hex"] for c in vectors("pae.json")["cases"]]


def test_charter_and_federation_id() -> None:
    assert charter_of().federation_id == vectors("charter.json")["federation_id"]


def test_record_envelopes_signatures_and_ids() -> None:
    membership = Membership(charter_of())
    for case in vectors("envelopes.json")["cases"]:
        payload = base64.b64decode(case["payload_b64"])
        message = pae(case["payload_type"], payload)
        assert message.hex() == case["pae_hex"]
        signature = base64.b64decode(case["signature_b64"])
        assert key(case["signer"]).sign(message) == signature
        assert record_id(payload) == case["record_id"]
        envelope = envelope_from_json(json.dumps(case["envelope_json"]))
        parsed = Envelope()
        parsed.ParseFromString(base64.b64decode(case["envelope_protobuf_b64"]))
        assert parsed == envelope and envelope.payload == payload
        assert check_envelope(envelope, membership).id == case["record_id"]


def test_lane_names() -> None:
    for case in vectors("lanes.json")["cases"]:
        scope = Audience.Scope.Value(case["scope"])
        lane = lane_of(case["origin"], scope, case["institutes"], case["embargo_until_us"])
        assert lane == case["lane"], case


def test_lane_tags() -> None:
    for case in vectors("lanes.json")["tags"]:
        assert lane_tag(case["lane"], bytes.fromhex(case["salt_hex"])) == case["tag"], case


def test_call_signing_messages() -> None:
    public = PublicKey(key("us-aisi").public.raw)
    for case in vectors("call_signing.json")["cases"]:
        message = call_message(
            case["federation_id"],
            case["method"],
            case["institute"],
            case["key_id"],
            case["time_s"],
            case["nonce"],
            case["callee_key_id"],
            request_digest(base64.b64decode(case["request_b64"])),
        )
        assert request_digest(base64.b64decode(case["request_b64"])) == case["request_sha256"]
        assert message.hex() == case["message_hex"]
        assert public.is_valid(base64.b64decode(case["signature_b64"]), message)


def test_bundle_verdicts() -> None:
    charter = charter_of()
    verdicts = {}
    for case in vectors("bundles.json")["cases"]:
        try:
            verified = verify_bundle(bundle_from_json(json.dumps(case["bundle"])), charter)
            verdict = {"valid": True, "record_id": verified.id}
        except EvalfedError as exc:
            verdict = {"valid": False, "error": type(exc).__name__}
        assert verdict == case["verdict"], case["name"]
        verdicts[case["name"]] = verdict["valid"]
    assert verdicts["valid"] and not any(v for n, v in verdicts.items() if n != "valid")


@pytest.mark.parametrize("name", sorted(generate.all_vectors()))
def test_the_generator_still_writes_the_committed_vectors(name: str) -> None:
    """A change to the protocol shows here: regenerate with `make vectors` and review."""
    assert (FOLDER / name).read_text() == generate.text_of(generate.all_vectors()[name])


# --- transparency.json ---------------------------------------------------------------------


def _reference_root(leaves: list[bytes]) -> bytes:
    """RFC 9162 MTH, written from the RFC apart from evalfed.core.tlog."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(
        b"\x01" + _reference_root(leaves[:k]) + _reference_root(leaves[k:])
    ).digest()


def _reference_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 9162 PATH(m, D[n])."""
    if len(leaves) == 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < k:
        return [*_reference_path(index, leaves[:k]), _reference_root(leaves[k:])]
    return [*_reference_path(index - k, leaves[k:]), _reference_root(leaves[:k])]


def _reference_subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    """RFC 9162 SUBPROOF(m, D[n], b)."""
    if m == len(leaves):
        return [] if whole else [_reference_root(leaves)]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m <= k:
        return [*_reference_subproof(m, leaves[:k], whole), _reference_root(leaves[k:])]
    return [*_reference_subproof(m - k, leaves[k:], False), _reference_root(leaves[:k])]


def _verdict(check: Any, *args: Any) -> dict[str, Any]:
    try:
        found = check(*args)
    except EvalfedError as exc:
        return {"valid": False, "error": type(exc).__name__}
    return {"valid": True, **(found or {})}


def _hashes(hexes: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in hexes]


def _node_key(institute: str) -> PrivateKey:
    return key(f"{institute}-node")


def test_transparency_leaves_and_roots_of_fixed_record_ids() -> None:
    tree = vectors("transparency.json")["tree"]
    expected_ids = [
        hashlib.sha256(f"evalfed test vector record {i}".encode()).hexdigest() for i in range(7)
    ]
    assert tree["record_ids"] == expected_ids
    leaves = [record_leaf_hash(rid) for rid in tree["record_ids"]]
    assert [leaf.hex() for leaf in leaves] == tree["leaf_hashes"]
    store = MemoryHashStore()
    for leaf in leaves:
        store.append(leaf)
    assert [r["size"] for r in tree["roots"]] == list(range(8))
    for entry in tree["roots"]:
        size = entry["size"]
        assert tree_hash(size, store).hex() == root_of(leaves[:size]).hex() == entry["root"]
        if size:
            assert _reference_root(leaves[:size]).hex() == entry["root"]
    assert tree["roots"][0]["root"] == hashlib.sha256(b"").hexdigest()


def test_transparency_inclusion_and_consistency_proofs() -> None:
    tree = vectors("transparency.json")["tree"]
    leaves = _hashes(tree["leaf_hashes"])
    store = MemoryHashStore()
    for leaf in leaves:
        store.append(leaf)
    sizes = {(c["index"], c["size"]) for c in tree["inclusion"]}
    assert {(0, 1), (3, 7), (6, 7)} <= sizes
    for case in tree["inclusion"]:
        index, size, proof = case["index"], case["size"], _hashes(case["proof"])
        assert inclusion_proof(index, size, store) == proof == _reference_path(index, leaves[:size])
        verify_inclusion(leaves[index], index, size, proof, bytes.fromhex(case["root"]))
    pairs = {(c["old_size"], c["new_size"]) for c in tree["consistency"]}
    assert {(7, 7), (1, 2), (2, 4), (4, 7)} <= pairs
    for case in tree["consistency"]:
        old, new, proof = case["old_size"], case["new_size"], _hashes(case["proof"])
        reference = _reference_subproof(old, leaves[:new], True) if 0 < old < new else []
        assert consistency_proof(old, new, store) == proof == reference
        verify_consistency(
            old, new, proof, bytes.fromhex(case["old_root"]), bytes.fromhex(case["new_root"])
        )


def test_transparency_proofs_that_must_fail() -> None:
    verdicts = {}
    for case in vectors("transparency.json")["tree"]["must_fail"]:
        proof = _hashes(case["proof"])
        if case["kind"] == "inclusion":
            leaf, root = bytes.fromhex(case["leaf_hash"]), bytes.fromhex(case["root"])
            verdict = _verdict(verify_inclusion, leaf, case["index"], case["size"], proof, root)
        else:
            old_root, new_root = bytes.fromhex(case["old_root"]), bytes.fromhex(case["new_root"])
            verdict = _verdict(
                verify_consistency, case["old_size"], case["new_size"], proof, old_root, new_root
            )
        assert verdict == case["verdict"], case["name"]
        verdicts[case["kind"], case["name"]] = verdict["valid"]
    assert verdicts["inclusion", "valid"] and verdicts["consistency", "valid"]
    assert sum(verdicts.values()) == 2 and len(verdicts) >= 8


def test_transparency_checkpoint_note_and_cosignature() -> None:
    cp = vectors("transparency.json")["checkpoints"]
    fed = cp["federation_id"]
    assert fed == vectors("charter.json")["federation_id"]
    for entry in cp["origins"]:
        assert log_origin(fed, (entry["institute"], entry["lane"])) == entry["origin"]
    origin = cp["origins"][0]["origin"]
    assert origin == f"evalfed.v1/{fed}/us-aisi/members"
    root = bytes.fromhex(cp["root"])
    checkpoint = Checkpoint(origin, cp["size"], root)
    assert (
        checkpoint.text()
        == cp["text"]
        == f"{origin}\n{cp['size']}\n{base64.b64encode(root).decode()}\n"
    )
    assert parse_checkpoint(cp["text"]) == checkpoint
    signer = checkpoint_signer(fed, ("us-aisi", ""), _node_key("us-aisi"))
    assert sign_checkpoint(checkpoint, signer) == cp["signed_note"].encode()
    log = signer.verifier
    assert (log.name, log.key_hash.hex(), log.vkey()) == (
        cp["log_key"]["name"],
        cp["log_key"]["key_hash_hex"],
        cp["log_key"]["vkey"],
    )
    assert NoteVerifier.from_vkey(cp["log_key"]["vkey"]) == log
    witness = witness_verifier(fed, "uk-aisi", _node_key("uk-aisi").public)
    assert witness.name == witness_name(fed, "uk-aisi") == cp["witness_key"]["name"]
    assert (witness.key_hash.hex(), witness.vkey()) == (
        cp["witness_key"]["key_hash_hex"],
        cp["witness_key"]["vkey"],
    )
    assert NoteVerifier.from_vkey(cp["witness_key"]["vkey"]) == witness
    message = cosignature_message(cp["text"], cp["cosigned_at"])
    assert message.decode() == cp["cosignature_message"]
    cosigner = witness_cosigner(fed, "uk-aisi", _node_key("uk-aisi"))
    cosigned = add_cosignature(cp["signed_note"].encode(), cosigner, cp["cosigned_at"])
    assert cosigned == cp["cosigned_note"].encode()
    assert cp["cosigned_note"] == cp["signed_note"] + cp["cosignature_line"]
    # The cosignature line by hand: key hash, big-endian time, Ed25519 over the message.
    name, encoded = cp["cosignature_line"].removeprefix("\u2014 ").removesuffix("\n").split(" ")
    raw = base64.b64decode(encoded)
    assert name == witness.name and raw[:4] == witness.key_hash
    assert int.from_bytes(raw[4:12], "big") == cp["cosigned_at"]
    assert _node_key("uk-aisi").public.is_valid(raw[12:], message)
    signed = open_checkpoint(cosigned, origin, log, [witness])
    assert [(c.name, c.timestamp) for c in signed.cosignatures] == [
        (witness.name, cp["cosigned_at"])
    ]


def test_transparency_tlog_proof_verdicts() -> None:
    data = vectors("transparency.json")
    fed = data["checkpoints"]["federation_id"]
    proofs = data["tlog_proof"]
    leaf = record_leaf_hash(proofs["record_id"])
    assert leaf.hex() == proofs["leaf_hash"]
    origin = log_origin(fed, ("us-aisi", ""))
    log = NoteVerifier.from_vkey(data["checkpoints"]["log_key"]["vkey"])
    witness = NoteVerifier.from_vkey(data["checkpoints"]["witness_key"]["vkey"])

    def check(text: str) -> dict[str, Any]:
        proof = parse_tlog_proof(text.encode())
        assert proof.to_bytes() == text.encode() and proof.index == proofs["index"]
        signed = verify_tlog_proof(proof, leaf, origin, log, [witness])
        return {
            "size": signed.checkpoint.size,
            "cosigned_by": sorted(c.name for c in signed.cosignatures),
        }

    verdicts = {c["name"]: _verdict(check, c["tlog_proof"]) for c in proofs["cases"]}
    assert verdicts == {c["name"]: c["verdict"] for c in proofs["cases"]}
    assert verdicts["valid"]["cosigned_by"] == [witness.name]
    assert verdicts["an inclusion hash flipped"]["error"] == "ProofError"
    assert verdicts["the checkpoint's size changed"]["error"] == "SignatureError"


def test_transparency_witness_policy_verdicts() -> None:
    data = vectors("transparency.json")
    log = NoteVerifier.from_vkey(data["checkpoints"]["log_key"]["vkey"])
    cosigned = data["checkpoints"]["cosigned_note"].encode()
    satisfied = {}
    for case in data["witness_policies"]["cases"]:
        assert data["checkpoints"]["witness_key"]["vkey"] in case["policy"]
        policy = parse_policy(case["policy"])
        signed = open_checkpoint(cosigned, log.name, log, policy.verifiers())
        witnesses = policy.cosigned_by(signed.cosignatures)
        verdict = {
            "cosigned_by": sorted(witnesses),
            "satisfied": policy.satisfied(witnesses),
            "quorum": policy.describe(),
        }
        assert verdict == case["verdict"], case["name"]
        satisfied[case["name"]] = verdict["satisfied"]
    assert True in satisfied.values() and False in satisfied.values()


def test_transparency_split_view_evidence_verdicts() -> None:
    data = vectors("transparency.json")
    membership = Membership(charter_of())

    def check(evidence: SplitViewEvidence) -> dict[str, Any]:
        first, second = check_split_view(evidence, membership)
        return {"size": first.size, "roots": [first.root.hex(), second.root.hex()]}

    verdicts = {}
    for case in data["split_view"]["cases"]:
        evidence = json_format.ParseDict(case["evidence"], SplitViewEvidence())
        verdicts[case["name"]] = _verdict(check, evidence)
        assert verdicts[case["name"]] == case["verdict"], case["name"]
    proved = verdicts["one size, two roots"]
    assert proved["roots"] == [data["checkpoints"]["root"], data["split_view"]["other_root"]]
    assert [v["valid"] for v in verdicts.values()].count(True) == 1
