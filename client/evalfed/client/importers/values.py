"""Small conversions every importer shares: numbers, structs, times, model names, sample ids."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from typing import Any

from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp

from evalfed.v1.record_pb2 import Metric

_EXACT_INT = 2**53

HOSTING_PROVIDERS = frozenset(
    {
        "hf",
        "vllm",
        "sglang",
        "ollama",
        "llama-cpp-python",
        "together",
        "openrouter",
        "bedrock",
        "azureai",
        "groq",
        "fireworks",
        "nnterp",
        "transformer_lens",
        "openai-api",
        "huggingface",
        "sambanova",
        "cf",
        "perplexity",
        "hf-inference-providers",
    }
)
"""Prefixes that name where a model ran, not who made it: `together/meta-llama/...`."""


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _struct_value(value: Any) -> Any:
    """JSON-mappable: NaN/Infinity and integers past 2**53 become their text."""
    if isinstance(value, dict):
        return {str(key): _struct_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_struct_value(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return _non_finite_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _EXACT_INT:
        return str(value)
    return value


def _non_finite_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def fill_struct(struct: Struct, values: dict[str, Any]) -> None:
    """Sets `struct` to `values` (nothing when empty), keeping it valid for the JSON mapping."""
    if values:
        struct.update(_struct_value(values))


def _number_or_text(value: Any) -> tuple[float | None, str]:
    """A source value as a float (NaN and infinities kept) or, failing that, its text."""
    if is_number(value) or isinstance(value, bool):
        return float(value), ""
    if isinstance(value, str):
        return None, value
    return None, json.dumps(value, sort_keys=True)


def set_metric_value(metric: Metric, value: Any) -> None:
    """A number as `value`, text as `value_text`; None leaves both absent."""
    if value is not None:
        number, text = _number_or_text(value)
        if number is None:
            metric.value_text = text
        else:
            metric.value = number


def set_metric_stderr(metric: Metric, stderr: Any) -> None:
    """Like `set_metric_value`, for the standard error (lm-eval's "N/A" goes to stderr_text)."""
    if stderr is not None:
        number, text = _number_or_text(stderr)
        if number is None:
            metric.stderr_text = text
        else:
            metric.stderr = number


UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1


def as_count(value: Any, maximum: int = UINT64_MAX) -> int | None:
    """A whole number from 0 to `maximum` (the range of the field it goes to), or None."""
    count = None
    if is_number(value) and math.isfinite(value) and value >= 0 and float(value).is_integer():
        count = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        count = int(value.strip())
    return count if count is not None and count <= maximum else None


def version_text(value: Any) -> str:
    """A version as text: 0 -> "0", 1.0 -> "1.0", "v2" -> "v2", None -> ""."""
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value)


def developer_of(model_id: str) -> str:
    """Who made the model, from its name: `openai/gpt-4o-mini` -> `openai`.

    A hosting prefix with an organisation after it gives the organisation:
    `together/meta-llama/Llama-3-70b` -> `meta-llama`.
    """
    parts = [part for part in model_id.split("/") if part]
    if len(parts) < 2:
        return ""
    if parts[0].lower() in HOSTING_PROVIDERS and len(parts) >= 3:
        return parts[1]
    return parts[0]


def set_time(field: Timestamp, text: Any) -> None:
    """Sets an ISO 8601 time (a time without zone is UTC); leaves the field unset if unparseable."""
    if not isinstance(text, str) or not text.strip():
        return
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    field.FromDatetime(when.astimezone(UTC))


def set_unix_time(field: Timestamp, seconds: Any) -> None:
    """Sets a Unix time in seconds, to the microsecond."""
    if is_number(seconds) and math.isfinite(seconds) and seconds > 0:
        micros = round(seconds * 1_000_000)
        field.seconds = micros // 1_000_000
        field.nanos = (micros % 1_000_000) * 1000


def sample_ids_sha256(sample_ids: Any) -> str:
    """SHA-256 of the sample ids as compact JSON, in the source's order: `[1,2,"x"]`."""
    if not isinstance(sample_ids, list) or not sample_ids:
        return ""
    text = json.dumps(sample_ids, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
