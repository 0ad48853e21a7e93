"""The charter: every founder must sign; thresholds must be reachable."""

from __future__ import annotations

import pytest

from evalfed.core.charter import (
    build_charter,
    charter_envelope,
    federation_id_of,
    sign_charter,
    unsigned_founders,
    verify_charter,
)
from evalfed.core.errors import InvalidInputError, SignatureError
from evalfed.keys import PrivateKey


def two_founders() -> tuple[PrivateKey, PrivateKey, object]:
    us, uk = PrivateKey.generate(), PrivateKey.generate()
    charter = build_charter("f", 2, [("us-aisi", us.public), ("uk-aisi", uk.public)], 0)
    return us, uk, charter


def test_charter_needs_every_founder() -> None:
    us, uk, charter = two_founders()
    envelope = charter_envelope(charter)  # type: ignore[arg-type]
    sign_charter(envelope, us)
    assert unsigned_founders(envelope) == ["uk-aisi"]
    with pytest.raises(SignatureError, match="uk-aisi"):
        verify_charter(envelope)
    sign_charter(envelope, uk)
    verified = verify_charter(envelope)
    assert verified.federation_id == federation_id_of(envelope)
    assert set(verified.founder_keys()) == {"us-aisi", "uk-aisi"}


def test_outsider_cannot_sign() -> None:
    _, _, charter = two_founders()
    with pytest.raises(SignatureError, match="not a founder"):
        sign_charter(charter_envelope(charter), PrivateKey.generate())  # type: ignore[arg-type]


@pytest.mark.parametrize("threshold", [0, 3])
def test_threshold_must_be_reachable(threshold: int) -> None:
    key = PrivateKey.generate()
    with pytest.raises(InvalidInputError, match="threshold"):
        build_charter("f", threshold, [("us-aisi", key.public), ("uk-aisi", key.public)], 0)


def test_founder_named_twice() -> None:
    key = PrivateKey.generate()
    with pytest.raises(InvalidInputError, match="twice"):
        build_charter("f", 1, [("us-aisi", key.public), ("us-aisi", key.public)], 0)


def test_tampered_charter_changes_id_and_fails() -> None:
    us, uk, charter = two_founders()
    envelope = charter_envelope(charter)  # type: ignore[arg-type]
    sign_charter(envelope, us)
    sign_charter(envelope, uk)
    envelope.payload = envelope.payload.replace(b"us-aisi", b"us-aisj")
    with pytest.raises(SignatureError):
        verify_charter(envelope)
