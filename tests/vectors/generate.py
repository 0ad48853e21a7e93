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
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evalfed.core.bundles import verify_bundle
from evalfed.core.callauth import CALL_PAYLOAD_TYPE, call_message, request_digest
from evalfed.core.charter import build_charter, charter_envelope, sign_charter, verify_charter
from evalfed.core.codec import BUNDLE_FORMAT, bundle_from_json, to_dict
from evalfed.core.errors import EvalfedError
from evalfed.core.records import (
    INSTITUTES,
    MEMBERS,
    PUBLIC,
    RECORD_PAYLOAD_TYPE,
    lane_of,
    lane_tag,
    record_id,
    sign_record,
)
from evalfed.core.timeutil import timestamp_of_us
from evalfed.keys import PrivateKey
from evalfed.keys.dsse import pae
from evalfed.v1.envelope_pb2 import Bundle, Envelope
from evalfed.v1.node_pb2 import GetRecordRequest
from evalfed.v1.record_pb2 import Audience, EvaluationResult, Metric, Record, Score

FOLDER = Path(__file__).parent
CREATED_AT_US = 1_767_225_600_000_000
"""2026-01-01T00:00:00Z: the charter's creation and the records' issue time."""
FOUNDERS = ("us-aisi", "uk-aisi", "ca-aisi")


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
            for name in (*FOUNDERS, "jp-aisi")
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
