"""Writes the conformance vectors of PROTOCOL.md into tests/vectors/*.json from fixed seeds.

Run `make vectors` (python -m tests.vectors.generate). Ed25519 signatures are deterministic,
so the same seeds give the same bytes every time; tests/unit/test_vectors.py checks the code
against the files and that this script still writes them unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evalfed.core.binding import sign_binding
from evalfed.core.bundles import verify_bundle
from evalfed.core.callauth import CALL_PAYLOAD_TYPE, call_message, request_digest
from evalfed.core.charter import build_charter, charter_envelope, sign_charter, verify_charter
from evalfed.core.checkpoints import (
    checkpoint_signer,
    checkpoint_verifier,
    log_origin,
    witness_cosigner,
    witness_verifier,
)
from evalfed.core.codec import BUNDLE_FORMAT, bundle_from_json, to_dict
from evalfed.core.errors import EvalfedError
from evalfed.core.membership import Membership
from evalfed.core.note import (
    Checkpoint,
    Note,
    NoteSigner,
    NoteVerifier,
    TlogProof,
    add_cosignature,
    cosignature_message,
    open_checkpoint,
    parse_note,
    parse_tlog_proof,
    sign_checkpoint,
    verify_tlog_proof,
)
from evalfed.core.records import (
    INSTITUTES,
    MEMBERS,
    MEMBERS_LANE,
    PUBLIC,
    PUBLIC_LANE,
    RECORD_PAYLOAD_TYPE,
    lane_of,
    lane_tag,
    record_id,
    sign_record,
)
from evalfed.core.timeutil import timestamp_of_us
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
from evalfed.core.witness import SAME_SIZE, check_split_view
from evalfed.core.witness_policy import parse_policy
from evalfed.keys import PrivateKey
from evalfed.keys.dsse import pae
from evalfed.v1.envelope_pb2 import Bundle, CheckpointNote, Envelope, SplitViewEvidence
from evalfed.v1.federation_pb2 import NodeBinding
from evalfed.v1.node_pb2 import GetRecordRequest
from evalfed.v1.record_pb2 import Audience, EvaluationResult, Metric, Record, Score

FOLDER = Path(__file__).parent
CREATED_AT_US = 1_767_225_600_000_000
"""2026-01-01T00:00:00Z: the charter's creation and the records' issue time."""
FOUNDERS = ("us-aisi", "uk-aisi", "ca-aisi")
NODE_KEYS = ("us-aisi-node", "uk-aisi-node", "ca-aisi-node")
"""The founders' node keys: what their node bindings name, and what signs and cosigns
checkpoints (transparency.json)."""


def seed_of(name: str) -> bytes:
    """A key's 32-byte Ed25519 seed: SHA-256 of 'evalfed test vector key ' + name."""
    return hashlib.sha256(f"evalfed test vector key {name}".encode()).digest()


def key_of(name: str) -> PrivateKey:
    return PrivateKey(Ed25519PrivateKey.from_private_bytes(seed_of(name)))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def keys() -> dict[str, Any]:
    return {
        "description": "Ed25519 keys from fixed seeds. key_id = lowercase hex SHA-256 of the "
        "raw 32-byte public key.",
        "keys": [
            {
                "name": name,
                "seed_hex": seed_of(name).hex(),
                "public_key_hex": key_of(name).public.raw.hex(),
                "key_id": key_of(name).key_id,
            }
            for name in (*FOUNDERS, "jp-aisi", *NODE_KEYS)
        ],
    }


def pae_vectors() -> dict[str, Any]:
    cases = [
        ("http://example.com/HelloWorld", b"hello world"),  # DSSE's own example
        ("", b""),
        (RECORD_PAYLOAD_TYPE, bytes(range(8))),
        ("application/vnd.example+json; charset=ü", "größe".encode()),
    ]
    return {
        "description": 'PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body; '
        "LEN is the byte length (UTF-8 for the type) in ASCII decimal.",
        "cases": [
            {
                "payload_type": t,
                "payload_b64": b64(body),
                "pae_hex": pae(t, body).hex(),
            }
            for t, body in cases
        ],
    }


def sample_record(federation_id: str, audience: Audience) -> Record:
    result = EvaluationResult()
    result.model.id = "example/model-1"
    result.task.name = "gpqa"
    result.scores.append(Score(scorer="choice", metrics=[Metric(name="accuracy", value=0.5)]))
    key = key_of("us-aisi")
    record = Record(
        federation_id=federation_id,
        origin="us-aisi",
        seq=1,
        key_id=key.key_id,
        audience=audience,
        result=result,
    )
    record.issued_at.CopyFrom(timestamp_of_us(CREATED_AT_US))
    return record


def charter() -> Envelope:
    built = build_charter(
        "evalfed test vectors", 2, [(n, key_of(n).public) for n in FOUNDERS], CREATED_AT_US
    )
    envelope = charter_envelope(built)
    for name in FOUNDERS:
        sign_charter(envelope, key_of(name))
    return envelope


def envelope_vectors(federation_id: str) -> dict[str, Any]:
    key = key_of("us-aisi")
    cases = []
    for audience in (Audience(scope=MEMBERS), Audience(scope=INSTITUTES, institutes=["uk-aisi"])):
        envelope = sign_record(sample_record(federation_id, audience), key)
        cases.append(
            {
                "signer": "us-aisi",
                "payload_type": envelope.payload_type,
                "payload_b64": b64(envelope.payload),
                "pae_hex": pae(envelope.payload_type, envelope.payload).hex(),
                "signature_b64": b64(envelope.signatures[0].sig),
                "record_id": record_id(envelope.payload),
                "envelope_json": to_dict(envelope),
                "envelope_protobuf_b64": b64(envelope.SerializeToString()),
            }
        )
    return {
        "description": "Signed records: the payload (a serialized evalfed.v1.Record), its PAE, "
        "the Ed25519 signature by the signer's key (keys.json), the record id (hex SHA-256 of "
        "the payload) and the envelope as DSSE JSON and as a serialized evalfed.v1.Envelope.",
        "cases": cases,
    }


def lane_vectors() -> dict[str, Any]:
    cases: list[tuple[str, int, list[str], int | None]] = [
        ("us-aisi", PUBLIC, [], None),
        ("us-aisi", MEMBERS, [], None),
        ("us-aisi", MEMBERS, [], CREATED_AT_US),
        ("us-aisi", INSTITUTES, ["uk-aisi"], None),
        ("us-aisi", INSTITUTES, ["us-aisi", "uk-aisi"], None),
        ("us-aisi", INSTITUTES, ["uk-aisi", "ca-aisi", "uk-aisi"], None),
        ("us-aisi", INSTITUTES, ["uk-aisi"], CREATED_AT_US),
        ("uk-aisi", INSTITUTES, ["us-aisi"], None),
    ]
    return {
        "description": "The lane of a record: '' for all members, 'public', or 'to:' and the "
        "first 32 hex characters of SHA-256(sorted distinct named institutes other than the "
        "origin, joined by ',', then '@' and the embargo end in µs when there is one). "
        "Embargo ends are whole hours (EMBARGO_GRANULARITY_S = 3600 s), on named audiences "
        "only: a record with an embargo on a public or members audience is refused, so the "
        "members case with an embargo shows only that the lane ignores it.",
        "cases": [
            {
                "origin": origin,
                "scope": Audience.Scope.Name(scope),
                "institutes": institutes,
                "embargo_until_us": embargo,
                "lane": lane_of(origin, scope, institutes, embargo),
            }
            for origin, scope, institutes, embargo in cases
        ],
        "tag_description": "How lane heads (KeyRotation, KeyRevocation, Expulsion "
        "signed_up_to) name a restricted lane: hex SHA-256('evalfed.lane-tag.v1' LF lane LF "
        "salt), the salt being the 16 bytes of the lane's records' lane_salt.",
        "tags": [
            {"lane": lane, "salt_hex": salt.hex(), "tag": lane_tag(lane, salt)}
            for lane, salt in (
                (lane_of("us-aisi", INSTITUTES, ["uk-aisi"], None), bytes(range(16))),
                (lane_of("us-aisi", INSTITUTES, ["uk-aisi"], None), bytes(16)),
                (lane_of("uk-aisi", INSTITUTES, ["us-aisi"], CREATED_AT_US), b"\xff" * 16),
            )
        ],
    }


def call_vectors(federation_id: str) -> dict[str, Any]:
    key = key_of("us-aisi")
    callee = key_of("uk-aisi-node").public.key_id
    cases = []
    for method, time_s, nonce, request in (
        (
            "/evalfed.v1.Node/GetRecord",
            1_767_225_600,
            "00112233445566778899aabbccddeeff",
            GetRecordRequest(id="ab" * 32, bundle=True).SerializeToString(),
        ),
        ("/evalfed.v1.Node/Sync", 1_767_225_900, "ffeeddccbbaa99887766554433221100", b""),
    ):
        digest = request_digest(request)
        message = call_message(
            federation_id, method, "us-aisi", key.key_id, time_s, nonce, callee, digest
        )
        cases.append(
            {
                "federation_id": federation_id,
                "method": method,
                "institute": "us-aisi",
                "key_id": key.key_id,
                "time_s": time_s,
                "nonce": nonce,
                "callee_key_id": callee,
                "request_b64": b64(request),
                "request_sha256": digest,
                "message_hex": message.hex(),
                "signature_b64": b64(key.sign(message)),
            }
        )
    return {
        "description": "Signed calls. request_sha256 = lowercase hex SHA-256 of the serialized "
        "request bytes as sent; callee_key_id = the called node's key id (from its binding). "
        "The message is PAE(" + CALL_PAYLOAD_TYPE + ", federation_id LF method LF institute LF "
        "key_id LF time_s LF nonce LF callee_key_id LF request_sha256), signed by us-aisi.",
        "cases": cases,
    }


def bundle_vectors(charter_envelope_: Envelope) -> dict[str, Any]:
    verified = verify_charter(charter_envelope_)
    envelope = sign_record(
        sample_record(verified.federation_id, Audience(scope=MEMBERS)), key_of("us-aisi")
    )
    good = Bundle(
        format=BUNDLE_FORMAT,
        federation_id=verified.federation_id,
        record_id=record_id(envelope.payload),
        record=envelope,
    )
    altered_payload = Bundle()
    altered_payload.CopyFrom(good)
    altered_payload.record.payload = envelope.payload[:-1] + bytes([envelope.payload[-1] ^ 1])
    altered_signature = Bundle()
    altered_signature.CopyFrom(good)
    sig = altered_signature.record.signatures[0].sig
    altered_signature.record.signatures[0].sig = bytes([sig[0] ^ 1]) + sig[1:]
    rehashed = Bundle()
    rehashed.CopyFrom(altered_payload)
    rehashed.record_id = record_id(rehashed.record.payload)
    other_federation = Bundle()
    other_federation.CopyFrom(good)
    other_federation.federation_id = "0" * 64
    cases = []
    for name, bundle in (
        ("valid", good),
        ("payload altered", altered_payload),
        ("payload altered and re-hashed", rehashed),
        ("signature altered", altered_signature),
        ("another federation", other_federation),
    ):
        cases.append(
            {"name": name, "bundle": to_dict(bundle), "verdict": verdict_of(bundle, verified)}
        )
    return {
        "description": "Offline bundle checks against charter.json: the verdict is "
        "{'valid': true, 'record_id': ...} or {'valid': false, 'error': the evalfed error class}.",
        "cases": cases,
    }


def verdict_of(bundle: Bundle, verified: Any) -> dict[str, Any]:
    try:
        checked = verify_bundle(bundle_from_json(json.dumps(to_dict(bundle))), verified)
    except EvalfedError as exc:
        return {"valid": False, "error": type(exc).__name__}
    return {"valid": True, "record_id": checked.id}


# --- transparency.json ---------------------------------------------------------------------

LOG = ("us-aisi", MEMBERS_LANE)
"""The log of the checkpoint vectors: us-aisi's members lane."""
TREE_SIZE = 7
COSIGNED_AT = 1_767_229_200
"""2026-01-01T01:00:00Z in POSIX seconds: when uk-aisi's node cosigns the checkpoint."""
PROOF_LEAF = 3
INCLUSION_CASES = ((0, 1), (0, 2), (1, 2), (3, 4), (4, 5), (5, 6), (0, 7), (3, 7), (4, 7), (6, 7))
CONSISTENCY_CASES = ((1, 1), (4, 4), (7, 7), (0, 7), (1, 2), (2, 4), (1, 7), (4, 7), (3, 7), (6, 7))


def vector_record_id(text: str) -> str:
    """A fixed record id for the tree vectors: hex SHA-256 of 'evalfed test vector record '
    + text (an id is a hash, so any 32 bytes will do; these need no records behind them)."""
    return hashlib.sha256(f"evalfed test vector record {text}".encode()).hexdigest()


def tree_of(record_ids: list[str]) -> MemoryHashStore:
    store = MemoryHashStore()
    for rid in record_ids:
        store.append(record_leaf_hash(rid))
    return store


def flipped(data: bytes) -> bytes:
    """`data` with the lowest bit of its first byte flipped."""
    return bytes([data[0] ^ 1]) + data[1:]


def hexes(hashes: list[bytes] | tuple[bytes, ...]) -> list[str]:
    return [h.hex() for h in hashes]


def verdict_by(check: Callable[..., dict[str, Any] | None], *args: Any) -> dict[str, Any]:
    """{'valid': true, ...what check(*args) returns} or {'valid': false, 'error': its class}."""
    try:
        found = check(*args)
    except EvalfedError as exc:
        return {"valid": False, "error": type(exc).__name__}
    return {"valid": True, **(found or {})}


def tree_vectors(record_ids: list[str]) -> dict[str, Any]:
    store = tree_of(record_ids)
    leaves = [record_leaf_hash(rid) for rid in record_ids]
    roots = {size: tree_hash(size, store) for size in range(TREE_SIZE + 1)}
    inclusion = [
        {
            "index": index,
            "size": size,
            "leaf_hash": leaves[index].hex(),
            "proof": hexes(inclusion_proof(index, size, store)),
            "root": roots[size].hex(),
        }
        for index, size in INCLUSION_CASES
    ]
    consistency = [
        {
            "old_size": old,
            "new_size": new,
            "proof": hexes(consistency_proof(old, new, store)),
            "old_root": roots[old].hex(),
            "new_root": roots[new].hex(),
        }
        for old, new in CONSISTENCY_CASES
    ]
    return {
        "description": "RFC 6962 / RFC 9162 trees of record ids. record_ids[i] = hex "
        "SHA-256('evalfed test vector record ' + decimal i); leaf i is the id's 32 raw bytes, "
        "leaf hash SHA-256(0x00 || leaf), inner nodes SHA-256(0x01 || left || right), the "
        "empty tree's root SHA-256(''). Inclusion proofs are RFC 9162 PATH (leaf's sibling "
        "first), consistency proofs RFC 9162 PROOF (empty when old_size is 0 or new_size).",
        "record_ids": record_ids,
        "leaf_hashes": hexes(leaves),
        "roots": [{"size": size, "root": root.hex()} for size, root in roots.items()],
        "inclusion": inclusion,
        "consistency": consistency,
        "must_fail": tree_failures(store, leaves, roots),
    }


def tree_failures(
    store: MemoryHashStore, leaves: list[bytes], roots: dict[int, bytes]
) -> list[dict[str, Any]]:
    path = inclusion_proof(4, 7, store)
    proof = consistency_proof(3, 7, store)
    inclusions: list[tuple[str, int, int, bytes, list[bytes], bytes]] = [
        ("valid", 4, 7, leaves[4], path, roots[7]),
        ("a proof hash flipped", 4, 7, leaves[4], [flipped(path[0]), *path[1:]], roots[7]),
        ("wrong index", 5, 7, leaves[4], path, roots[7]),
        ("another leaf", 4, 7, leaves[3], path, roots[7]),
        ("the root flipped", 4, 7, leaves[4], path, flipped(roots[7])),
        ("a proof hash missing", 4, 7, leaves[4], path[:-1], roots[7]),
    ]
    consistencies: list[tuple[str, int, int, list[bytes], bytes, bytes]] = [
        ("valid", 3, 7, proof, roots[3], roots[7]),
        ("a proof hash flipped", 3, 7, [*proof[:-1], flipped(proof[-1])], roots[3], roots[7]),
        ("wrong old size", 2, 7, proof, roots[2], roots[7]),
        ("the old root flipped", 3, 7, proof, flipped(roots[3]), roots[7]),
        ("one size, two roots", 7, 7, [], roots[7], flipped(roots[7])),
        ("one size, a proof that is not empty", 7, 7, proof[:1], roots[7], roots[7]),
    ]
    return [
        {
            "name": name,
            "kind": "inclusion",
            "index": index,
            "size": size,
            "leaf_hash": leaf.hex(),
            "proof": hexes(hashes),
            "root": root.hex(),
            "verdict": verdict_by(verify_inclusion, leaf, index, size, hashes, root),
        }
        for name, index, size, leaf, hashes, root in inclusions
    ] + [
        {
            "name": name,
            "kind": "consistency",
            "old_size": old,
            "new_size": new,
            "proof": hexes(hashes),
            "old_root": old_root.hex(),
            "new_root": new_root.hex(),
            "verdict": verdict_by(verify_consistency, old, new, hashes, old_root, new_root),
        }
        for name, old, new, hashes, old_root, new_root in consistencies
    ]


def node_binding(federation_id: str, institute: str) -> Envelope:
    """`institute`'s node binding, signed by its institute key, naming its node key."""
    binding = NodeBinding(
        federation_id=federation_id,
        institute=institute,
        node_public_key=key_of(f"{institute}-node").public.raw,
    )
    binding.issued_at.CopyFrom(timestamp_of_us(CREATED_AT_US))
    return sign_binding(binding, key_of(institute))


def signed_log_checkpoint(federation_id: str, root: bytes) -> bytes:
    """The checkpoint of us-aisi's members log of TREE_SIZE leaves with `root`, signed by
    us-aisi's node key."""
    signer = checkpoint_signer(federation_id, LOG, key_of("us-aisi-node"))
    return sign_checkpoint(Checkpoint(signer.name, TREE_SIZE, root), signer)


def key_entry(verifier: NoteVerifier, key_name: str) -> dict[str, Any]:
    return {
        "key": key_name,
        "name": verifier.name,
        "key_hash_hex": verifier.key_hash.hex(),
        "vkey": verifier.vkey(),
    }


def checkpoint_vectors(federation_id: str, root: bytes) -> dict[str, Any]:
    log = checkpoint_verifier(federation_id, LOG, key_of("us-aisi-node").public)
    witness = witness_verifier(federation_id, "uk-aisi", key_of("uk-aisi-node").public)
    note = signed_log_checkpoint(federation_id, root)
    cosigned = add_cosignature(
        note, witness_cosigner(federation_id, "uk-aisi", key_of("uk-aisi-node")), COSIGNED_AT
    )
    text = parse_note(note).text
    return {
        "description": "C2SP checkpoints of a log (origin, lane): the origin line "
        "'evalfed.v1/<federation_id>/<origin>/<lane>' ('members' for the lane ''), the "
        "checkpoint text (origin line, size, base64 root: the tree's root of that size), the "
        "signed note (type 0x01 signature by us-aisi's node key under the origin line), and "
        "the note with a cosignature (type 0x04) by uk-aisi's node key under its witness "
        "name 'evalfed.v1/<federation_id>/uk-aisi/witness' at cosigned_at (POSIX seconds) "
        "over cosignature_message. Notes are UTF-8; key names the keys of keys.json.",
        "federation_id": federation_id,
        "origins": [
            {
                "institute": institute,
                "lane": lane,
                "origin": log_origin(federation_id, (institute, lane)),
            }
            for institute, lane in (LOG, ("us-aisi", PUBLIC_LANE))
        ],
        "size": TREE_SIZE,
        "root": root.hex(),
        "text": text,
        "log_key": key_entry(log, "us-aisi-node"),
        "signed_note": note.decode(),
        "witness_key": key_entry(witness, "uk-aisi-node"),
        "cosigned_at": COSIGNED_AT,
        "cosignature_message": cosignature_message(text, COSIGNED_AT).decode(),
        "cosignature_line": parse_note(cosigned).signatures[-1].line(),
        "cosigned_note": cosigned.decode(),
    }


def tlog_proof_vectors(
    federation_id: str, record_ids: list[str], cosigned: bytes
) -> dict[str, Any]:
    store = tree_of(record_ids)
    path = tuple(inclusion_proof(PROOF_LEAF, TREE_SIZE, store))
    note = parse_note(cosigned)
    resized = Note(note.text.replace(f"\n{TREE_SIZE}\n", f"\n{TREE_SIZE + 1}\n"), note.signatures)
    cases = [
        ("valid", TlogProof(PROOF_LEAF, path, cosigned)),
        (
            "an inclusion hash flipped",
            TlogProof(PROOF_LEAF, (flipped(path[0]), *path[1:]), cosigned),
        ),
        ("the checkpoint's size changed", TlogProof(PROOF_LEAF, path, resized.to_bytes())),
    ]
    leaf = record_leaf_hash(record_ids[PROOF_LEAF])
    return {
        "description": "c2sp.org/tlog-proof@v1 texts for leaf index of the tree above "
        "(record_ids[index]) to the cosigned checkpoint, checked with the log key and the "
        "witness key of 'checkpoints': the verdict is {'valid': true, 'size', 'cosigned_by': "
        "the witness names whose cosignatures verified} or {'valid': false, 'error'}. The "
        "checkpoint's signature is checked before the proof.",
        "index": PROOF_LEAF,
        "record_id": record_ids[PROOF_LEAF],
        "leaf_hash": leaf.hex(),
        "cases": [
            {
                "name": name,
                "tlog_proof": proof.to_bytes().decode(),
                "verdict": verdict_by(tlog_proof_verdict, federation_id, proof.to_bytes(), leaf),
            }
            for name, proof in cases
        ],
    }


def tlog_proof_verdict(federation_id: str, data: bytes, leaf: bytes) -> dict[str, Any]:
    log = checkpoint_verifier(federation_id, LOG, key_of("us-aisi-node").public)
    witness = witness_verifier(federation_id, "uk-aisi", key_of("uk-aisi-node").public)
    signed = verify_tlog_proof(
        parse_tlog_proof(data), leaf, log_origin(federation_id, LOG), log, [witness]
    )
    return {
        "size": signed.checkpoint.size,
        "cosigned_by": sorted(c.name for c in signed.cosignatures),
    }


def policy_vectors(federation_id: str, cosigned: bytes) -> dict[str, Any]:
    lines = [
        f"witness {institute} "
        + witness_verifier(federation_id, institute, key_of(f"{institute}-node").public).vkey()
        for institute in ("uk-aisi", "ca-aisi")
    ]
    head = "# evalfed test vectors\n" + "".join(line + "\n" for line in lines)
    policies = [
        (
            "one of uk-aisi and ca-aisi",
            head + "group partners any uk-aisi ca-aisi\nquorum partners\n",
        ),
        (
            "both uk-aisi and ca-aisi",
            head + "group partners all uk-aisi ca-aisi\nquorum partners\n",
        ),
        ("uk-aisi", head + "quorum uk-aisi\n"),
        ("ca-aisi", head + "quorum ca-aisi\n"),
    ]
    return {
        "description": "Witness policies (witness NAME VKEY / group NAME K|all|any MEMBER... / "
        "quorum NAME|none) applied to the cosigned checkpoint of 'checkpoints': its "
        "cosignatures by the policy's witness keys are checked, and the verdict says which "
        "witnesses cosigned and whether they meet the quorum.",
        "cases": [
            {"name": name, "policy": text, "verdict": policy_verdict(federation_id, text, cosigned)}
            for name, text in policies
        ],
    }


def policy_verdict(federation_id: str, text: str, cosigned: bytes) -> dict[str, Any]:
    policy = parse_policy(text)
    log = checkpoint_verifier(federation_id, LOG, key_of("us-aisi-node").public)
    signed = open_checkpoint(cosigned, log.name, log, policy.verifiers())
    witnesses = policy.cosigned_by(signed.cosignatures)
    return {
        "cosigned_by": sorted(witnesses),
        "satisfied": policy.satisfied(witnesses),
        "quorum": policy.describe(),
    }


def split_view_vectors(federation_id: str, membership: Membership, root: bytes) -> dict[str, Any]:
    other_ids = [vector_record_id(str(i)) for i in range(TREE_SIZE - 1)]
    other_ids.append(vector_record_id(f"{TREE_SIZE - 1} (the other view)"))
    other_root = tree_hash(TREE_SIZE, tree_of(other_ids))
    bindings = [node_binding(federation_id, "us-aisi")]
    first = CheckpointNote(note=signed_log_checkpoint(federation_id, root), bindings=bindings)
    second = CheckpointNote(
        note=signed_log_checkpoint(federation_id, other_root), bindings=bindings
    )
    forged_signer = NoteSigner(log_origin(federation_id, LOG), key_of("uk-aisi-node"))
    forged = CheckpointNote(
        note=sign_checkpoint(Checkpoint(forged_signer.name, TREE_SIZE, other_root), forged_signer),
        bindings=bindings,
    )
    cases = [
        ("one size, two roots", first, second),
        ("the same checkpoint twice", first, first),
        ("the second not signed by the origin's node key", first, forged),
    ]
    return {
        "description": "Split-view evidence (evalfed.v1.SplitViewEvidence in protobuf's JSON "
        "mapping) of us-aisi's members log: two checkpoints, each with us-aisi's node binding "
        "(signed by us-aisi's key of keys.json, naming us-aisi-node). The second view's tree "
        "is record_ids with the last id replaced by hex SHA-256('evalfed test vector record "
        f"{TREE_SIZE - 1} (the other view)'). Checked against the membership of charter.json: "
        "the verdict is {'valid': true, 'size', 'roots'} when the evidence proves itself (both "
        "signed by the origin's bound node key, one size, different roots), else "
        "{'valid': false, 'error'}.",
        "other_root": other_root.hex(),
        "cases": [
            {
                "name": name,
                "evidence": to_dict(evidence),
                "verdict": verdict_by(split_view_verdict, evidence, membership),
            }
            for name, evidence in (
                (
                    name,
                    SplitViewEvidence(
                        origin=LOG[0], lane=LOG[1], first=a, second=b, reason=SAME_SIZE
                    ),
                )
                for name, a, b in cases
            )
        ],
    }


def split_view_verdict(evidence: SplitViewEvidence, membership: Membership) -> dict[str, Any]:
    first, second = check_split_view(evidence, membership)
    return {"size": first.size, "roots": [first.root.hex(), second.root.hex()]}


def transparency_vectors(charter_envelope_: Envelope) -> dict[str, Any]:
    verified = verify_charter(charter_envelope_)
    federation_id = verified.federation_id
    record_ids = [vector_record_id(str(i)) for i in range(TREE_SIZE)]
    root = root_of([record_leaf_hash(rid) for rid in record_ids])
    checkpoints = checkpoint_vectors(federation_id, root)
    cosigned = checkpoints["cosigned_note"].encode()
    return {
        "description": "Transparency with charter.json and keys.json: Merkle trees of record "
        "ids, checkpoints signed and cosigned by node keys, a tlog-proof, witness policies and "
        "split-view evidence. Hashes are hex unless named _b64; verdicts name the evalfed "
        "error class, as in bundles.json.",
        "tree": tree_vectors(record_ids),
        "checkpoints": checkpoints,
        "tlog_proof": tlog_proof_vectors(federation_id, record_ids, cosigned),
        "witness_policies": policy_vectors(federation_id, cosigned),
        "split_view": split_view_vectors(federation_id, Membership(verified), root),
    }


def all_vectors() -> dict[str, dict[str, Any]]:
    envelope = charter()
    federation_id = verify_charter(envelope).federation_id
    return {
        "keys.json": keys(),
        "pae.json": pae_vectors(),
        "charter.json": {
            "description": "A charter signed by the three founders of keys.json (threshold 2); "
            "federation_id is the hex SHA-256 of its payload.",
            "federation_id": federation_id,
            "envelope": to_dict(envelope),
        },
        "envelopes.json": envelope_vectors(federation_id),
        "lanes.json": lane_vectors(),
        "call_signing.json": call_vectors(federation_id),
        "bundles.json": bundle_vectors(envelope),
        "transparency.json": transparency_vectors(envelope),
    }


def text_of(vectors: dict[str, Any]) -> str:
    return json.dumps(vectors, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    for name, vectors in all_vectors().items():
        (FOLDER / name).write_text(text_of(vectors))
        print(f"wrote {FOLDER / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
