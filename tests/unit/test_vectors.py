"""The code against the conformance vectors of PROTOCOL.md (tests/vectors/*.json)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evalfed.core.bundles import verify_bundle
from evalfed.core.callauth import call_message, request_digest
from evalfed.core.charter import verify_charter
from evalfed.core.checks import check_envelope
from evalfed.core.codec import bundle_from_json, envelope_from_json
from evalfed.core.errors import EvalfedError
from evalfed.core.membership import Membership
from evalfed.core.records import lane_of, lane_tag, record_id
from evalfed.keys import PrivateKey, PublicKey
from evalfed.keys.dsse import pae
from evalfed.v1.envelope_pb2 import Envelope
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
