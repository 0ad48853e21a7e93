"""Small evaluation results for tests, built the way a user's result file would be."""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalfed.core.records import audience_from_text, sign_record
from evalfed.core.timeutil import now_us, timestamp_of_us
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.record_pb2 import EvaluationResult, Metric, Record, Score

if TYPE_CHECKING:
    from evalfed.core.checks import VerifiedRecord
    from tests.conftest import Federation


def result(
    model: str = "openai/gpt-4o-mini", task: str = "gpqa", value: float = 0.5
) -> EvaluationResult:
    r = EvaluationResult()
    r.model.id = model
    r.model.developer = model.split("/")[0]
    r.task.name = task
    r.task.version = "1"
    r.scores.append(
        Score(scorer="choice", metrics=[Metric(name="accuracy", value=value, stderr=0.01)])
    )
    return r


def signed_record(
    federation: Federation,
    seq: int,
    prev: str,
    origin: str = "us-aisi",
    value: float = 0.5,
    audience: str = "",
    lane_salt: bytes = b"",
) -> Envelope:
    """A result record signed by `origin`'s founder key, as its publisher would sign it;
    `audience` as `evalfed publish --audience` takes it."""
    record = Record(
        federation_id=federation.charter.federation_id,
        origin=origin,
        seq=seq,
        prev=prev,
        key_id=federation.keys[origin].key_id,
        result=result(value=value),
        audience=audience_from_text(audience),
        lane_salt=lane_salt,
    )
    record.issued_at.CopyFrom(timestamp_of_us(now_us()))
    return sign_record(record, federation.keys[origin])


def verified_log(federation: Federation, count: int) -> list[VerifiedRecord]:
    """The first `count` records of the US log, signed and checked as a node stores them."""
    from evalfed.core.checks import check_envelope
    from evalfed.core.membership import Membership
    from evalfed.core.records import record_id

    membership, out, prev = Membership(federation.charter), [], ""
    for seq in range(1, count + 1):
        envelope = signed_record(federation, seq, prev, value=seq / 100)
        prev = record_id(envelope.payload)
        out.append(check_envelope(envelope, membership))
    return out
