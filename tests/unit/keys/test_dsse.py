"""DSSE PAE and signature checks against DSSE's published test vectors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from evalfed.core.codec import envelope_from_json
from evalfed.core.errors import SignatureError
from evalfed.keys import PrivateKey, PublicKey, pae, sign_envelope, verify_signatures
from evalfed.keys.dsse import verify_with

VECTORS = json.loads((Path(__file__).parents[2] / "fixtures/dsse/vectors.json").read_text())


def test_pae_of_the_protocol_example() -> None:
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_protocol_example_ecdsa_signature_verifies() -> None:
    """protocol.md's vector: ECDSA P-256/SHA-256, signature as raw r || s."""
    x = 46950820868899156662930047687818585632848591499744589407958293238635476079160
    y = 5640078356564379163099075877009565129882514886557779369047442380624545832820
    public = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    envelope = envelope_from_json(
        json.dumps(
            {
                "payload": "aGVsbG8gd29ybGQ=",
                "payloadType": "http://example.com/HelloWorld",
                "signatures": [
                    {
                        "sig": "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJ"
                        "PcIAriEGAHTVeCUjW2JIZA=="
                    }
                ],
            }
        )
    )

    def ecdsa(sig: bytes, message: bytes) -> bool:
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        try:
            public.verify(der, message, ec.ECDSA(hashes.SHA256()))
        except Exception:
            return False
        return True

    assert verify_with(envelope, ecdsa)
    envelope.payload = b"hello world!"
    assert not verify_with(envelope, ecdsa)


def _key(name: str) -> PrivateKey:
    seed = bytes.fromhex(VECTORS["keys"][name]["seed"])
    key = PrivateKey(Ed25519PrivateKey.from_private_bytes(seed))
    assert key.public.raw.hex() == VECTORS["keys"][name]["public"]
    return key


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["id"])
def test_published_vectors(vector: dict) -> None:
    envelope = envelope_from_json(json.dumps(vector["envelope"]))
    # The vector's "pae" is what the signature covers; a swapped type must not reproduce it.
    same_pae = pae(envelope.payload_type, envelope.payload).hex() == vector["pae"]
    assert same_pae == (vector["id"] != "payload-type-swapped")
    trusted = [_key(name).public for name in vector["trustedKeys"]]
    try:
        signers = verify_signatures(envelope, trusted)
        accepted = (
            len(signers) >= vector["threshold"]
            and envelope.payload_type in vector["supportedPayloadTypes"]
        )
    except SignatureError:
        accepted = False
    assert accepted == (vector["expect"] == "accept")


def test_sign_and_verify_round_trip() -> None:
    key = PrivateKey.generate()
    envelope = sign_envelope("application/x-test", b"payload", [key])
    assert verify_signatures(envelope, [key.public]) == {key.key_id}
    other = PrivateKey.generate()
    with pytest.raises(SignatureError):
        verify_signatures(envelope, [other.public])


def test_key_id_hint_is_not_trusted() -> None:
    """A signature whose keyid names another key still counts only for the key that made it."""
    key, other = PrivateKey.generate(), PrivateKey.generate()
    envelope = sign_envelope("application/x-test", b"payload", [key])
    envelope.signatures[0].keyid = other.key_id
    assert verify_signatures(envelope, [key.public, other.public]) == {key.key_id}
    assert isinstance(key.public, PublicKey)
