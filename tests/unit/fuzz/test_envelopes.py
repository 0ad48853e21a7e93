"""Envelope decoding and checking on arbitrary and mutated input.

Whatever the bytes, `decode_envelope` + `check_envelope` give a VerifiedRecord or raise an
EvalfedError; and no change to a valid signed envelope makes it check with another payload.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalfed.core.checks import VerifiedRecord, check_envelope, decode_envelope
from evalfed.core.errors import EvalfedError
from evalfed.core.membership import Membership
from evalfed.core.records import record_id
from tests.conftest import Federation
from tests.results import signed_record

SETTINGS = settings(max_examples=200, deadline=None)


@pytest.fixture(scope="module")
def membership(federation: Federation) -> Membership:
    return Membership(federation.charter)


@pytest.fixture(scope="module")
def valid(federation: Federation) -> bytes:
    return signed_record(federation, 1, "").SerializeToString()


def check_bytes(data: bytes, membership: Membership) -> VerifiedRecord | None:
    """The verified record, or None after an EvalfedError (any other exception fails)."""
    try:
        return check_envelope(decode_envelope(data), membership)
    except EvalfedError:
        return None


def assert_same_record(verified: VerifiedRecord | None, valid: bytes, membership: Membership):
    """Accepted input must carry exactly the valid envelope's payload, hence its record."""
    if verified is None:
        return
    original = check_envelope(decode_envelope(valid), membership)
    assert verified.envelope.payload == original.envelope.payload
    assert verified.id == original.id == record_id(verified.envelope.payload)
    assert verified.record == original.record


@SETTINGS
@given(data=st.binary(max_size=2048))
def test_arbitrary_bytes_give_a_record_or_an_evalfed_error(
    membership: Membership, data: bytes
) -> None:
    verified = check_bytes(data, membership)
    assert verified is None  # random bytes never carry a founder's signature


def test_the_valid_envelope_checks(membership: Membership, valid: bytes) -> None:
    assert check_bytes(valid, membership) is not None


def test_no_single_bit_flip_changes_an_accepted_record(
    membership: Membership, valid: bytes
) -> None:
    """Every bit of the serialized envelope, flipped in turn (exhaustive, not sampled)."""
    accepted = []
    for bit in range(len(valid) * 8):
        mutated = bytearray(valid)
        mutated[bit // 8] ^= 1 << (bit % 8)
        verified = check_bytes(bytes(mutated), membership)
        assert_same_record(verified, valid, membership)
        if verified is not None:
            accepted.append(bit)
    # Only the signature's unauthenticated key id hint may change and still check: its 64 hex
    # characters, its tag (made an unknown field, which parsing skips), or its length (0x40 to
    # 0x00: for some key ids the 64 characters then parse as unknown fields, 3 keys in 60).
    hint = valid.rindex(membership.charter.founder_keys()["us-aisi"].key_id.encode())
    assert valid[hint - 2 : hint] == b"\x0a\x40"  # field 1 (keyid), 64 bytes
    assert accepted
    assert all(hint * 8 <= bit < (hint + 64) * 8 or bit // 8 in (hint - 2, hint - 1)
               for bit in accepted)  # fmt: skip


@SETTINGS
@given(st.data())
def test_mutated_envelopes_never_check_with_another_payload(
    membership: Membership, valid: bytes, data: st.DataObject
) -> None:
    """Overwrite, insert or delete a run of bytes anywhere in a valid envelope."""
    start = data.draw(st.integers(0, len(valid)))
    end = data.draw(st.integers(start, min(len(valid), start + 16)))
    insert = data.draw(st.binary(max_size=16))
    mutated = valid[:start] + insert + valid[end:]
    assert_same_record(check_bytes(mutated, membership), valid, membership)
