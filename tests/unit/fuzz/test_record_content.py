"""Malformed record content: non-finite metrics, too many metrics, empty and huge strings,
invalid UTF-8 in a signed payload."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalfed.client.importers import load_results
from evalfed.core.checks import check_envelope, decode_envelope
from evalfed.core.errors import InvalidInputError
from evalfed.core.limits import MAX_METRICS, MAX_TEXT
from evalfed.core.membership import Membership
from evalfed.core.records import RECORD_PAYLOAD_TYPE, record_id, sign_record
from evalfed.core.timeutil import now_us, timestamp_of_us
from evalfed.core.validate import check_result
from evalfed.keys import sign_envelope
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.record_pb2 import EvaluationResult, Metric, Record, Score
from tests.conftest import Federation
from tests.results import result


@pytest.fixture(scope="module")
def membership(federation: Federation) -> Membership:
    return Membership(federation.charter)


def record_of(federation: Federation, res: EvaluationResult, origin: str = "us-aisi") -> Record:
    record = Record(
        federation_id=federation.charter.federation_id,
        origin=origin,
        seq=1,
        key_id=federation.keys[origin].key_id,
        result=res,
    )
    record.issued_at.CopyFrom(timestamp_of_us(now_us()))
    return record


def signed(federation: Federation, res: EvaluationResult) -> Envelope:
    return sign_record(record_of(federation, res), federation.keys["us-aisi"])


def same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@settings(max_examples=100, deadline=None)
@given(value=st.floats(), stderr=st.floats())
def test_any_float_metric_is_accepted_and_preserved(
    federation: Federation, membership: Membership, value: float, stderr: float
) -> None:
    envelope = signed(federation, result())
    res = Record.FromString(envelope.payload).result
    res.scores[0].metrics[0].value = value
    res.scores[0].metrics[0].stderr = stderr
    envelope = signed(federation, res)
    verified = check_envelope(decode_envelope(envelope.SerializeToString()), membership)
    metric = verified.record.result.scores[0].metrics[0]
    assert same_float(metric.value, value) and same_float(metric.stderr, stderr)
    assert math.copysign(1, metric.value) == math.copysign(1, value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_metrics_from_a_result_file_are_preserved(tmp_path: Path, value: float) -> None:
    data = {
        "model": {"id": "m/x"},
        "task": {"name": "t"},
        "scores": [{"scorer": "s", "metrics": [{"name": "acc", "value": value, "stderr": value}]}],
    }
    path = tmp_path / "result.json"
    # protobuf's JSON mapping quotes non-finite numbers ("NaN", "Infinity", "-Infinity")
    quoted = json.dumps(data).replace("-Infinity", '"-Infinity"').replace("NaN", '"NaN"')
    path.write_text(quoted.replace(" Infinity", ' "Infinity"'))
    (imported,) = load_results(path)
    metric = imported.result.scores[0].metrics[0]
    assert same_float(metric.value, value) and same_float(metric.stderr, value)
    path.write_text(json.dumps(data))  # bare words, as Python's json writes them: refused
    with pytest.raises(InvalidInputError, match="quoted"):
        load_results(path)


def many_metrics(count: int) -> EvaluationResult:
    res = result()
    res.scores.append(Score(scorer="many", metrics=[Metric(name="m")] * count))
    return res


def test_100000_metrics_are_refused(
    federation: Federation, membership: Membership, tmp_path: Path
) -> None:
    res = many_metrics(100_000)
    with pytest.raises(InvalidInputError, match="MAX_METRICS"):
        check_result(res)
    envelope = signed(federation, res)  # the payload stays under MAX_PAYLOAD_BYTES
    with pytest.raises(InvalidInputError, match="MAX_METRICS"):
        check_envelope(envelope, membership)
    path = tmp_path / "many.json"
    path.write_text(
        json.dumps(
            {
                "model": {"id": "m/x"},
                "task": {"name": "t"},
                "scores": [{"scorer": "s", "metrics": [{"name": "m"}] * 100_000}],
            }
        )
    )
    with pytest.raises(InvalidInputError, match="MAX_METRICS"):
        load_results(path)


def test_max_metrics_exactly_is_accepted() -> None:
    res = result()
    res.scores[0].metrics.extend([Metric(name="m")] * (MAX_METRICS - 1))
    check_result(res)


TEXT_FIELDS = ["model.id", "model.developer", "task.name", "task.version"]


def with_text(label: str, text: str) -> EvaluationResult:
    res = result()
    message, name = label.split(".")
    setattr(getattr(res, message), name, text)
    return res


@pytest.mark.parametrize("label", ["model.id", "task.name"])
@pytest.mark.parametrize("text", ["", " ", "\t\n"])
def test_empty_required_strings_are_refused(
    federation: Federation, membership: Membership, label: str, text: str
) -> None:
    with pytest.raises(InvalidInputError, match=label):
        check_envelope(signed(federation, with_text(label, text)), membership)


@pytest.mark.parametrize("label", TEXT_FIELDS)
@settings(max_examples=20, deadline=None)
@given(extra=st.integers(1, 10_000))
def test_strings_over_max_text_are_refused(
    federation: Federation, membership: Membership, label: str, extra: int
) -> None:
    res = with_text(label, "x" * (MAX_TEXT + extra))
    with pytest.raises(InvalidInputError, match="MAX_TEXT"):
        check_envelope(signed(federation, res), membership)


@pytest.mark.parametrize("label", TEXT_FIELDS)
def test_strings_of_max_text_are_accepted(
    federation: Federation, membership: Membership, label: str
) -> None:
    check_envelope(signed(federation, with_text(label, "x" * MAX_TEXT)), membership)


@pytest.mark.parametrize("field", ["model", "origin"])
@pytest.mark.parametrize("bad", [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"])
def test_invalid_utf8_in_a_signed_payload_is_refused(
    federation: Federation, membership: Membership, field: str, bad: bytes
) -> None:
    """A payload with invalid UTF-8 in a string field, correctly signed, is still refused."""
    prefix = "m/" if field == "model" else "us-"
    placeholder = prefix + "\x7f" * len(bad)  # found once in the payload (not in issued_at)
    res = with_text("model.id", placeholder) if field == "model" else result()
    record = record_of(federation, res)
    if field == "origin":
        record.origin = placeholder
    payload = record.SerializeToString()
    assert payload.count(placeholder.encode()) == 1
    payload = payload.replace(placeholder.encode(), prefix.encode() + bad)
    envelope = sign_envelope(RECORD_PAYLOAD_TYPE, payload, [federation.keys["us-aisi"]])
    assert record_id(envelope.payload) != record_id(record.SerializeToString())
    with pytest.raises(InvalidInputError, match=r"not a valid evalfed\.v1\.Record"):
        check_envelope(decode_envelope(envelope.SerializeToString()), membership)


def test_invalid_utf8_in_a_result_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(b'{"model": {"id": "m/\xff"}, "task": {"name": "t"}}')
    with pytest.raises(InvalidInputError):
        load_results(path)
