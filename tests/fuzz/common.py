"""What the fuzzing harnesses share: a fixed federation built in-process, and seed writing.

The keys come from fixed seeds and the charter from a fixed time, so the federation id and every
signature are the same in every run: a valid envelope written to the corpus by one run still
checks in the next.
"""

from __future__ import annotations

import base64
import os
import sys
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evalfed.core.charter import (
    VerifiedCharter,
    build_charter,
    charter_envelope,
    sign_charter,
    verify_charter,
)
from evalfed.core.membership import Membership
from evalfed.core.records import record_id, sign_record
from evalfed.core.timeutil import timestamp_of_us
from evalfed.keys import PrivateKey
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.record_pb2 import EvaluationResult, Metric, Record, Score

FOUNDERS = ("us-aisi", "uk-aisi")
CREATED_AT_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
FIXTURES = Path(__file__).parents[1] / "fixtures"


def fixed_key(index: int) -> PrivateKey:
    return PrivateKey(Ed25519PrivateKey.from_private_bytes(bytes([index + 1]) * 32))


KEYS = {name: fixed_key(i) for i, name in enumerate(FOUNDERS)}


def fixed_charter() -> VerifiedCharter:
    charter = build_charter(
        "fuzz federation", 2, [(name, KEYS[name].public) for name in FOUNDERS], CREATED_AT_US
    )
    envelope = charter_envelope(charter)
    for name in FOUNDERS:
        sign_charter(envelope, KEYS[name])
    return verify_charter(envelope)


def fixed_membership() -> Membership:
    return Membership(fixed_charter())


def valid_envelopes(charter: VerifiedCharter) -> list[Envelope]:
    """A first and a second result record of one founder, as its publisher would sign them."""
    envelopes: list[Envelope] = []
    prev = ""
    for seq in (1, 2):
        result = EvaluationResult()
        result.model.id = "openai/gpt-4o-mini"
        result.model.developer = "openai"
        result.task.name = "gpqa"
        result.task.version = "1"
        result.scores.append(
            Score(scorer="choice", metrics=[Metric(name="accuracy", value=0.5, stderr=0.01)])
        )
        record = Record(
            federation_id=charter.federation_id,
            origin="us-aisi",
            seq=seq,
            prev=prev,
            key_id=KEYS["us-aisi"].key_id,
            result=result,
        )
        record.issued_at.CopyFrom(timestamp_of_us(CREATED_AT_US + seq))
        envelope = sign_record(record, KEYS["us-aisi"])
        envelopes.append(envelope)
        prev = record_id(envelope.payload)
    return envelopes


def write_seeds(folder: Path, seeds: Iterable[tuple[str, bytes]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in seeds:
        (folder / f"seed-{name}").write_bytes(data)


def keep_going(test_one_input: Callable[[bytes], None], log: Path) -> Callable[[bytes], None]:
    """`test_one_input` that logs each new kind of crash (type and place) to `log`, with the input
    that caused it, and goes on fuzzing; libFuzzer's fork mode does not work with atheris."""
    seen: set[str] = set()

    def run(data: bytes) -> None:
        try:
            test_one_input(data)
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            kind = f"{type(exc).__name__} at {frame.filename}:{frame.lineno}"
            if kind not in seen:
                seen.add(kind)
                with log.open("a") as out:
                    out.write(f"=== {kind}\ninput (base64): {base64.b64encode(data).decode()}\n")
                    out.write("".join(traceback.format_exception(exc)) + "\n")

    return run


def main(
    test_one_input: Callable[[bytes], None],
    seeds: Callable[[], Iterable[tuple[str, bytes]]],
) -> None:
    """`--write-seeds DIR` writes the seed corpus; anything else goes to libFuzzer.

    With EVALFED_FUZZ_FINDINGS=FILE set, crashes are logged there and fuzzing goes on.
    """
    if len(sys.argv) == 3 and sys.argv[1] == "--write-seeds":
        write_seeds(Path(sys.argv[2]), seeds())
        return
    import atheris

    findings = os.environ.get("EVALFED_FUZZ_FINDINGS")
    if findings:
        test_one_input = keep_going(test_one_input, Path(findings))
    atheris.instrument_all()  # evalfed and the pure-Python parsers it calls (json, yaml, zipfile)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
