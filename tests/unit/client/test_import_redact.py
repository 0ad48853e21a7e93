"""What counts as private, and the JSON stream that tolerates NaN across any chunk boundary."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalfed.client.importers import jsonstream
from evalfed.client.importers.redact import (
    DROPPED,
    Redactor,
    is_local_path,
    is_private_text,
    is_secret_key,
)


@pytest.mark.parametrize(
    "name",
    [
        "api_key",
        "API-KEY",
        "token",
        "password",
        "secret",
        "openai_api_key",
        "hf_token",
        "access_token",
        "aws_secret_access_key",
        "client_secret",
        "private_key",
        "apikey",
    ],
)
def test_secret_keys(name: str) -> None:
    assert is_secret_key(name)


@pytest.mark.parametrize(
    "name",
    [
        "max_tokens",
        "add_bos_token",
        "eos_token",
        "token_limit",
        "temperature",
        "keys",
        "num_tokens",
        "pretrained",
    ],
)
def test_not_secret_keys(name: str) -> None:
    assert not is_secret_key(name)


@pytest.mark.parametrize(
    "text",
    [
        "/home/alice/ckpt",
        "/Users/bob/data.jsonl",
        "~/models/x",
        "file:///tmp/data.csv",
        "C:\\Users\\bob\\x",
        "D:/data/set",
        "\\\\server\\share\\x",
        "loaded from /home/alice/x.py line 3",
        "https://user:pass@host/repo.git",
        "https://ghp_abcdefghijklmnopqrstuvwxyz@github.com/o/r",
        "key is sk-abcdefghijklmnopqrstuvwx",
    ],
)
def test_private_text(text: str) -> None:
    assert is_private_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "openai/gpt-4o-mini",
        "EleutherAI/pythia-160m",
        "examples/popularity.py",
        "git@github.com:org/repo.git",
        "https://github.com/org/repo.git",
        "Answer yes/no.",
        "Problem: {{problem}}\n\nSolution:",
        "hf://datasets/org/x",
    ],
)
def test_public_text(text: str) -> None:
    assert not is_private_text(text)
    assert not is_local_path(text) or text.startswith("/")


def test_redactor_records_paths_once_in_order() -> None:
    redactor = Redactor()
    value: Any = {
        "a": {"token": "t", "empty_key": "", "keep": 1},
        "b": ["/home/x", "fine", {"password": "p"}],
        "pretty_env_info": "PyTorch ...",
    }
    cleaned = redactor.value(value, "root")
    assert cleaned == {"a": {"keep": 1}, "b": ["fine", {}]}
    assert redactor.stripped == [
        "root.a.token",
        "root.b[0]",
        "root.b[2].password",
        "root.pretty_env_info",
    ]
    assert redactor.value("/etc/passwd", "x") is DROPPED
    assert redactor.url("https://u:p@h.org/r.git", "y") == "https://h.org/r.git"
    assert redactor.scrub("no such file /tmp/a/b.py", "z") == "no such file <path>"
    assert redactor.stripped[-3:] == ["x", "y", "z"]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.sampled_from('aN"\\I-fny /é\n')),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(alphabet="abNaI", max_size=4), children, max_size=4)
    ),
    max_leaves=20,
)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(same, a, b))
    return bool(a == b)


@settings(max_examples=200, deadline=None)
@given(
    value=st.dictionaries(st.text(max_size=5), json_values, max_size=5), chunk=st.integers(1, 12)
)
def test_stream_reads_back_what_json_wrote(value: dict[str, Any], chunk: int) -> None:
    value.pop("samples", None)
    value.pop("reductions", None)
    data = json.dumps(value, ensure_ascii=chunk % 2 == 0).encode()
    original = jsonstream.READ_BYTES
    jsonstream.READ_BYTES = chunk
    try:
        head = jsonstream.read_json_head(io.BytesIO(data))
    finally:
        jsonstream.READ_BYTES = original
    assert same(json.loads(data), head)


def test_stream_stops_at_samples_once_the_header_is_in() -> None:
    data = b'{"eval": {"task": "t"}, "samples": [not even json'
    assert jsonstream.read_json_head(io.BytesIO(data)) == {"eval": {"task": "t"}}


def test_stream_skips_samples_written_before_the_header() -> None:
    data = b'{"samples": [{"x": NaN}], "eval": {"task": "t"}, "results": 1}'
    assert jsonstream.read_json_head(io.BytesIO(data)) == {"eval": {"task": "t"}, "results": 1}
