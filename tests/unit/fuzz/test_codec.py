"""The text forms (DSSE JSON envelopes, bundles, native result files) on arbitrary input:
each parser returns a message or raises InvalidInputError, never anything else."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalfed.core.codec import bundle_from_json, envelope_from_json, result_from_text
from evalfed.core.errors import InvalidInputError
from tests.unit.fuzz.strategies import json_values, objects_with

SETTINGS = settings(max_examples=150, deadline=None)
PARSERS: list[Callable[[str], Any]] = [envelope_from_json, bundle_from_json, result_from_text]


def parse_or_invalid(parse: Callable[[str], Any], text: str) -> None:
    with contextlib.suppress(InvalidInputError):
        parse(text)


@pytest.mark.parametrize("parse", PARSERS)
@SETTINGS
@given(text=st.text(max_size=300))
def test_arbitrary_text(parse: Callable[[str], Any], text: str) -> None:
    parse_or_invalid(parse, text)


@pytest.mark.parametrize("parse", PARSERS)
@SETTINGS
@given(value=json_values())
def test_arbitrary_json(parse: Callable[[str], Any], value: Any) -> None:
    parse_or_invalid(parse, json.dumps(value))


@SETTINGS
@given(
    value=objects_with(["payload", "payloadType", "signatures"])
    | st.builds(
        lambda sigs: {"payload": "", "payloadType": "t", "signatures": sigs},
        st.lists(objects_with(["sig", "keyid"]) | json_values(5), max_size=3),
    )
)
def test_envelope_shaped_json(value: Any) -> None:
    parse_or_invalid(envelope_from_json, json.dumps(value))


@SETTINGS
@given(value=objects_with(["format", "federationId", "recordId", "record", "membership"]))
def test_bundle_shaped_json(value: Any) -> None:
    parse_or_invalid(bundle_from_json, json.dumps(value))


@SETTINGS
@given(value=objects_with(["model", "task", "scores", "dataset", "run", "source"]))
def test_result_shaped_json(value: Any) -> None:
    parse_or_invalid(result_from_text, json.dumps(value))


@pytest.mark.parametrize("signatures", [5, 1.5, True, "sig", {"sig": "AA=="}])
def test_envelope_signatures_not_a_list_is_invalid_input(signatures: object) -> None:
    """Regression (fuzzing): a non-iterable `signatures` raised TypeError."""
    with pytest.raises(InvalidInputError):
        envelope_from_json(json.dumps({"payload": "", "signatures": signatures}))


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize("text", ["[" * 100_000, '{"a":' * 50_000, "- " * 5_000 + "a"])
def test_deep_nesting_is_invalid_input(parse: Callable[[str], Any], text: str) -> None:
    """Regression (fuzzing): json.loads and yaml.safe_load raised RecursionError."""
    with pytest.raises(InvalidInputError):
        parse(text)
