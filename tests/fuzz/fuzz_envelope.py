"""Fuzzes envelope decoding and checking: bytes -> decode_envelope -> check_envelope, and the
same bytes as DSSE JSON -> envelope_from_json -> check_envelope, against a fixed charter.

Anything but an EvalfedError (or a check that accepts an envelope whose id is not its payload's
hash) is a crash. Run through `make fuzz`, or:
    python -m tests.fuzz.fuzz_envelope --write-seeds build/fuzz/envelope
    python -m tests.fuzz.fuzz_envelope build/fuzz/envelope -max_total_time=300
"""

from __future__ import annotations

from collections.abc import Iterator

from evalfed.core.checks import check_envelope, decode_envelope
from evalfed.core.codec import envelope_from_json, to_json
from evalfed.core.errors import EvalfedError
from evalfed.core.membership import Membership
from evalfed.core.records import record_id
from evalfed.v1.envelope_pb2 import Envelope
from tests.fuzz.common import fixed_charter, main, valid_envelopes

CHARTER = fixed_charter()
MEMBERSHIP = Membership(CHARTER)


def _check(envelope: Envelope) -> None:
    try:
        verified = check_envelope(envelope, MEMBERSHIP)
    except EvalfedError:
        return
    if verified.id != record_id(envelope.payload):
        raise AssertionError("an accepted record's id is not the hash of its payload")


def test_one_input(data: bytes) -> None:
    try:
        envelope = decode_envelope(data)
    except EvalfedError:
        pass
    else:
        _check(envelope)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    try:
        envelope = envelope_from_json(text)
    except EvalfedError:
        return
    _check(envelope)


def seeds() -> Iterator[tuple[str, bytes]]:
    for i, envelope in enumerate(valid_envelopes(CHARTER)):
        yield f"record-{i}.bin", envelope.SerializeToString()
        yield f"record-{i}.json", to_json(envelope).encode()
    yield "charter.bin", CHARTER.envelope.SerializeToString()


if __name__ == "__main__":
    main(test_one_input, seeds)
