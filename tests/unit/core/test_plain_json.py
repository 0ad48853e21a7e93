"""The constructor fast path gives what json_format.ParseDict gives, or leaves it to ParseDict."""

from __future__ import annotations

import math
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from hypothesis import given, settings
from hypothesis import strategies as st

from evalfed.core.plain_json import plain_kwargs
from evalfed.v1.record_pb2 import EvaluationResult

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["NaN", "12", " 12", "1_000", "+3", "2026-12-04T00:00:00Z", "SUCCESS", "aGk="]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
"""Values of any JSON type, for any field: most do not fit it."""


def fitting_value(field: FieldDescriptor, depth: int, odd: bool) -> st.SearchStrategy[Any]:
    if field.message_type is not None:
        if field.message_type.full_name.startswith("google.protobuf."):
            return ODD_VALUES
        return messages(field.message_type, depth + 1, odd)
    if field.type == FieldDescriptor.TYPE_STRING:
        return st.text(max_size=8)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.type == FieldDescriptor.TYPE_DOUBLE:
        return st.one_of(st.floats(), st.integers(min_value=-(2**60), max_value=2**60))
    number = st.integers(min_value=-(2**64), max_value=2**64)
    return st.one_of(number, number.map(str))  # the mapping writes 64-bit integers as strings


def field_value(field: FieldDescriptor, depth: int, odd: bool) -> st.SearchStrategy[Any]:
    message = field.message_type
    if message is not None and message.GetOptions().map_entry:
        return st.dictionaries(
            st.text(max_size=4),
            fitting_value(message.fields_by_name["value"], depth, odd),
            max_size=2,
        )
    value = (
        st.one_of(fitting_value(field, depth, odd), ODD_VALUES)
        if odd
        else fitting_value(field, depth, odd)
    )
    if field.is_repeated:
        return st.lists(value, max_size=2)
    return value


@st.composite
def _message(draw: st.DrawFn, descriptor: Any, depth: int, odd: bool) -> dict[str, Any]:
    if depth > 3:
        return {}
    fields = draw(st.lists(st.sampled_from(list(descriptor.fields)), unique=True, max_size=4))
    data: dict[str, Any] = {}
    for field in fields:
        names = [field.name, field.json_name] + ([field.name + "x"] if odd else [])
        data[draw(st.sampled_from(names))] = draw(field_value(field, depth, odd))
    return data


def messages(
    descriptor: Any, depth: int = 0, odd: bool = True
) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects for `descriptor`'s message: with `odd`, most do not fit it."""
    return _message(descriptor, depth, odd)


def parse_dict(data: dict[str, Any]) -> EvaluationResult | None:
    try:
        return json_format.ParseDict(data, EvaluationResult())
    except (json_format.ParseError, TypeError, ValueError):
        return None


def fast(data: dict[str, Any]) -> EvaluationResult | None:
    kwargs = plain_kwargs(data, EvaluationResult)
    if kwargs is None:
        return None
    try:
        return EvaluationResult(**kwargs)
    except (TypeError, ValueError):
        return None


def same(a: EvaluationResult, b: EvaluationResult) -> bool:
    """Equal, with NaN equal to NaN (a message holding NaN is not equal to itself)."""
    return a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        messages(EvaluationResult.DESCRIPTOR), messages(EvaluationResult.DESCRIPTOR, odd=False)
    )
)
def test_the_fast_path_agrees_with_parse_dict(data: dict[str, Any]) -> None:
    quick = fast(data)
    if quick is None:
        return  # left to ParseDict
    slow = parse_dict(data)
    assert slow is not None, f"the fast path took what ParseDict refuses: {data!r}"
    assert same(quick, slow)


def test_a_typical_result_file_takes_the_fast_path() -> None:
    data = {
        "model": {"id": "openai/gpt-4o-mini"},
        "task": {"name": "gsm8k"},
        "scores": [{"scorer": "s", "metrics": [{"name": "accuracy", "value": 0.5}]}],
    }
    quick = fast(data)
    assert quick is not None and same(quick, json_format.ParseDict(data, EvaluationResult()))


def test_what_the_mapping_and_the_constructor_read_differently_is_left_to_parse_dict() -> None:
    metric = {"name": "accuracy", "value": "NaN"}  # a number in a string
    assert plain_kwargs({"scores": [{"metrics": [metric]}]}, EvaluationResult) is None
    assert math.isnan(
        json_format.ParseDict({"scores": [{"metrics": [metric]}]}, EvaluationResult())
        .scores[0]
        .metrics[0]
        .value
    )
    bare_nan = {"scores": [{"metrics": [{"name": "accuracy", "value": math.nan}]}]}
    assert plain_kwargs(bare_nan, EvaluationResult) is None  # ParseDict refuses it
    assert plain_kwargs({"model": None}, EvaluationResult) is None
    assert plain_kwargs({"model": {"id": 3}}, EvaluationResult) is None
