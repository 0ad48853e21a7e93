"""Text forms of the federation's messages: DSSE JSON envelopes, bundles, native result files."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import yaml
from google.protobuf import json_format
from google.protobuf.message import Message

from evalfed.core.errors import InvalidInputError
from evalfed.core.plain_json import plain_kwargs
from evalfed.v1.envelope_pb2 import Bundle, Envelope
from evalfed.v1.record_pb2 import EvaluationResult

BUNDLE_FORMAT = "evalfed-bundle/v1"


def to_json(message: Message) -> str:
    """Protobuf's JSON mapping, indented, field names in lowerCamelCase."""
    return json_format.MessageToJson(message, indent=2, ensure_ascii=False) + "\n"


def to_dict(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message)


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML has it (its wheels do). PyYAML's own scanner re-checks
every open nesting level at each token, so 1.4 KB of nested brackets took a second before the
recursion limit stopped it (a fuzzing finding); libyaml reads linearly, and much faster."""


def load_yaml(text: str) -> Any:
    """YAML to plain values (no tags beyond the safe ones); raises yaml.YAMLError, or
    RecursionError when nested too deeply."""
    return yaml.load(text, Loader=_YAML_LOADER)  # a safe loader, C or Python


def _parse_text(text: str, what: str, allow_yaml: bool) -> Any:
    # Both parsers recurse once per nesting level: a deeply nested document is refused.
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if not allow_yaml:
            raise InvalidInputError(f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidInputError(f"{what} is nested too deeply") from None
    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"{what} is neither valid JSON nor YAML: {exc}") from None
    except RecursionError:
        raise InvalidInputError(f"{what} is nested too deeply") from None


M = TypeVar("M", bound=Message)


def _from_dict(data: Any, kind: type[M], what: str) -> M:
    """A `kind` message from `data` in protobuf's JSON mapping: by its constructor where
    `data` is plain (evalfed.core.plain_json), else by json_format, which gives the errors."""
    if not isinstance(data, dict):
        raise InvalidInputError(f"{what} must be a JSON object")
    kwargs = plain_kwargs(data, kind)
    if kwargs is not None:
        try:
            return kind(**kwargs)
        except (TypeError, ValueError, OverflowError):  # out of range: json_format says so
            pass
    message = kind()
    try:
        json_format.ParseDict(data, message)
    except json_format.ParseError as exc:
        raise InvalidInputError(f"{what} does not fit the schema: {exc}") from None
    return message


def envelope_from_json(text: str, what: str = "the envelope") -> Envelope:
    """A DSSE JSON envelope (payload and sig in standard or URL-safe base64)."""
    data = _parse_text(text, what, allow_yaml=False)
    if isinstance(data, dict):
        data = _standard_base64(data)
    return _from_dict(data, Envelope, what)


def _standard_base64(data: dict[str, Any]) -> dict[str, Any]:
    """DSSE verifiers must accept URL-safe base64 too; protobuf's parser takes standard only."""

    def fix(value: Any) -> Any:
        return value.replace("-", "+").replace("_", "/") if isinstance(value, str) else value

    data = dict(data)
    data["payload"] = fix(data.get("payload", ""))
    signatures = data.get("signatures", [])
    if isinstance(signatures, list):  # anything else is left for the schema check to refuse
        data["signatures"] = [
            {**sig, "sig": fix(sig.get("sig", ""))} if isinstance(sig, dict) else sig
            for sig in signatures
        ]
    return data


def bundle_from_json(text: str) -> Bundle:
    bundle = _from_dict(_parse_text(text, "the bundle", allow_yaml=False), Bundle, "the bundle")
    if bundle.format != BUNDLE_FORMAT:
        raise InvalidInputError(
            f"not an evalfed bundle (format {bundle.format!r}, expected {BUNDLE_FORMAT!r})"
        )
    return bundle


def result_from_text(text: str, what: str = "the result file") -> EvaluationResult:
    """A native result file: an EvaluationResult in protobuf's JSON mapping, as JSON or YAML."""
    return result_from_dict(_parse_text(text, what, allow_yaml=True), what)


def result_from_dict(data: Any, what: str = "the result file") -> EvaluationResult:
    """A native result already parsed from JSON or YAML."""
    return _from_dict(data, EvaluationResult, what)
