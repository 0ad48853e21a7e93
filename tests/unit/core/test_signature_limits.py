"""MAX_SIGNATURES holds for every kind of envelope, checked before any signature is tried."""

from __future__ import annotations

import pytest

from evalfed.core.binding import sign_binding, verify_binding
from evalfed.core.charter import build_charter, charter_envelope, sign_charter, verify_charter
from evalfed.core.errors import AuthenticationError, LimitError
from evalfed.core.limits import MAX_SIGNATURES
from evalfed.core.membership import Membership
from evalfed.core.timeutil import now_us
from evalfed.keys import PrivateKey, verify_signatures
from evalfed.keys.dsse import sign_envelope
from evalfed.v1.federation_pb2 import NodeBinding


def test_an_envelope_over_max_signatures_is_refused_even_with_a_valid_one() -> None:
    key = PrivateKey.generate()
    envelope = sign_envelope("text/plain", b"hello", [key])
    assert verify_signatures(envelope, [key.public]) == {key.key_id}
    envelope.signatures.extend([envelope.signatures[0]] * MAX_SIGNATURES)
    with pytest.raises(LimitError, match=f"MAX_SIGNATURES={MAX_SIGNATURES}"):
        verify_signatures(envelope, [key.public])


def test_bindings_and_charters_are_held_to_it() -> None:
    founders = {f"f{i}-aisi": PrivateKey.generate() for i in range(MAX_SIGNATURES + 2)}
    charter = build_charter("many", 2, [(n, k.public) for n, k in founders.items()], now_us())
    envelope = charter_envelope(charter)
    for key in founders.values():
        sign_charter(envelope, key)
    verified = verify_charter(envelope)  # one signature per founder, past MAX_SIGNATURES
    envelope.signatures.append(envelope.signatures[0])
    with pytest.raises(LimitError, match="signatures for 10 founders"):
        verify_charter(envelope)

    key = founders["f0-aisi"]
    binding = sign_binding(
        NodeBinding(
            federation_id=verified.federation_id, institute="f0-aisi", node_public_key=b"k" * 32
        ),
        key,
    )
    membership = Membership(verified)
    assert verify_binding(binding, membership).institute == "f0-aisi"
    binding.signatures.extend([binding.signatures[0]] * MAX_SIGNATURES)
    with pytest.raises(AuthenticationError, match="MAX_SIGNATURES"):
        verify_binding(binding, membership)
