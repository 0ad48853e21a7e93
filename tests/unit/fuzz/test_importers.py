"""The importers on arbitrary files: `load_results` gives results or raises InvalidInputError,
never anything else, quickly and in little memory."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from evalfed.client.importers import load_results
from evalfed.client.importers.jsonstream import MAX_JSON_DEPTH, read_json_head
from evalfed.core.errors import InvalidInputError
from tests.unit.fuzz.strategies import json_values, objects_with

SETTINGS = settings(max_examples=150, deadline=None)


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file, rewritten by every example (hypothesis runs examples one after another)."""
    return tmp_path_factory.mktemp("fuzz-import") / "input"


def load(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    with contextlib.suppress(InvalidInputError):
        load_results(path)


def eval_zip(
    header: bytes, entry: str = "header.json", method: int = zipfile.ZIP_DEFLATED
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        archive.writestr(entry, header)
    return buffer.getvalue()


INSPECT = objects_with(["eval", "plan", "results", "stats", "status", "version", "error"])
INSPECT_HEADERS = st.builds(
    lambda spec, rest: {**rest, "eval": {**spec, "task": spec.get("task", "t"), "model": "m/x"}},
    objects_with(["task", "task_version", "dataset", "model_args", "revision", "config"]),
    INSPECT,
)
LM_EVAL = st.builds(
    lambda results, rest: {**rest, "results": results, "versions": {}},
    st.dictionaries(st.text(max_size=8), objects_with(["acc", "acc_stderr", "alias"])),
    objects_with(["config", "configs", "n-shot", "higher-is-better", "model_name"]),
)
NATIVE = objects_with(["model", "task", "scores", "dataset", "run", "source"])
JSON_FILES = json_values() | INSPECT | INSPECT_HEADERS | LM_EVAL | NATIVE


@SETTINGS
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes(path: Path, data: bytes) -> None:
    load(path, data)


@SETTINGS
@given(value=JSON_FILES)
@example(value={"": "\x00evalfed-non-finite:", "eval": {"task": "t", "model": "m/x"}})
def test_arbitrary_json(path: Path, value: Any) -> None:
    load(path, json.dumps(value).encode())


@SETTINGS
@given(
    header=INSPECT_HEADERS | json_values(),
    entry=st.sampled_from(["header.json", "_journal/start.json"]),
)
def test_eval_zip_with_arbitrary_header(path: Path, header: Any, entry: str) -> None:
    load(path, eval_zip(json.dumps(header).encode(), entry))


@SETTINGS
@given(st.data())
def test_damaged_eval_zip(path: Path, data: st.DataObject) -> None:
    """A valid `.eval` with a run of bytes overwritten anywhere (headers, deflate stream)."""
    valid = eval_zip(json.dumps({"eval": {"task": "t", "model": "m/x"}}).encode())
    start = data.draw(st.integers(4, len(valid) - 1))
    noise = data.draw(st.binary(min_size=1, max_size=8))
    load(path, valid[:start] + noise + valid[start + len(noise) :])


def test_bad_deflate_stream_is_invalid_input(path: Path) -> None:
    """Regression (fuzzing): zlib.error from a damaged deflate stream escaped."""
    valid = eval_zip(b'{"eval": {"task": "t", "model": "m/x"}}' * 20)
    start = valid.index(b"header.json") + len("header.json")
    damaged = valid[:start] + b"\xff" * 12 + valid[start + 12 :]
    path.write_bytes(damaged)
    with pytest.raises(InvalidInputError, match="damaged zip"):
        load_results(path)


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000,
        b'{"a":' * 50_000,
        b'{"eval": {"task": "t", "model": "m/x"}, "x": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
        b"- " * 5_000 + b"a",
        b"a:\n" + b"".join(b" " * i + b"b:\n" for i in range(1, 3000)),
    ],
)
def test_deep_nesting_is_invalid_input(path: Path, data: bytes) -> None:
    """Regression (fuzzing): RecursionError from restore() and from YAML, and MemoryError."""
    path.write_bytes(data)
    with pytest.raises(InvalidInputError):
        load_results(path)


# Found by the atheris harness on 2026-11-30 (1.4 KB; over its 10 s limit under instrumentation).
NESTED_TAGGED_BRACKETS = b'{! {a": ' + (b"[" * 60 + b"! ") * 20


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="this PyYAML was built without libyaml")
def test_nested_yaml_is_read_without_the_scanner_that_slows_with_depth(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression (fuzzing): PyYAML's own scanner re-checks every open nesting level at each
    token, so nested brackets cost time with the square of the depth (1.4 KB took a second
    without instrumentation). libyaml's loader reads linearly; the slow scanner must not run."""

    def slow_scanner_ran(self: object) -> None:
        raise AssertionError("PyYAML's pure-Python scanner read the file")

    monkeypatch.setattr(yaml.scanner.Scanner, "stale_possible_simple_keys", slow_scanner_ran)
    path.write_bytes(NESTED_TAGGED_BRACKETS)
    with pytest.raises(InvalidInputError):
        load_results(path)
    path.write_bytes(b"model: {id: m/x}\ntask: {name: t}\nscores: []\n")
    assert [i.result.model.id for i in load_results(path)] == ["m/x"]


def test_deep_nesting_reads_in_little_memory() -> None:
    """Regression (fuzzing): ijson.parse built a key path per event, quadratic in the depth, so
    100 KB of `[` took gigabytes. 20,000 levels took about 1 GB before."""
    tracemalloc.start()
    try:
        with pytest.raises(Exception, match="MAX_JSON_DEPTH"):
            read_json_head(io.BytesIO(b"[" * 20_000 + b"]" * 20_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20


def test_a_deep_bulky_value_is_skipped() -> None:
    """Samples may nest deeper than MAX_JSON_DEPTH: they are skipped, never built."""
    deep = b"[" * (MAX_JSON_DEPTH * 10) + b"]" * (MAX_JSON_DEPTH * 10)
    head = read_json_head(io.BytesIO(b'{"a": 1, "samples": ' + deep + b', "eval": {"x": 2}}'))
    assert head == {"a": 1, "eval": {"x": 2}}


# Found by the atheris harness (tests/fuzz/fuzz_import.py): a local header flagged UTF-8 whose
# name is not UTF-8.
BAD_NAME_ZIP = base64.b64decode(
    "UEsDBBQAAG4TMhB9z1dY+0raOIGm7b4hFESRihBFIoVUkXGcxNSXrT3bNkT5d8Z7i5duUMtTvMfHM3NmfJxtj5DkXj"
    "gvrUlSMuqHbw8Mco+fic85F94nBSzumUJwi2v8AuZvAyWzWa6Yk7ApWNXOfB+TxvBSKhFOiUemMyX8YH/8OGtHkItA"
    "PJm81dPxw6/L93eCjb9dn04//P6e1USXm4pnx1eL8aN+vbk/zfjdWk9Hlx/Nec3jTjAQBXFER2+O6NnR6Pzr8CQdDl"
    "N69orSlNIku2CYXkCjFCHDtOjUinvKcgal0lpVOhh0MX0pGYlDSvfoOl8uVVHbkikvCnxX1aLtQoSe44LfKqUHJRC3"
    "iQE4+TNE3e5auFu1wOLkE5Rbs5SrWKuSWgbxw1YhnluHE0X8R0WsD0Tt0Qz4utGLGzYLnYkTlqUILJnHwdoBW0Gl8Z"
    "ngMGdywDjPHeObKMWTNNHOrv+i6B4Wwrnnxm7WN21hLFyfmF3+3vSqepJMMbN3UXOzAlr3GkR2oNPeKjRW4cwN0vRc"
    "ozvZSsRNz5hj2kcjLVAkYw4oks3MZyXwjhNjQaTkwhBYC7K0StkHaVZkMp18eXdxNekTCUR6InVmHTADyGNANjYn1q"
    "gNccJn1izIg4Q1wbvPAcFZci38LCHW4fKTnWG2pCmkaUr/X9pWwggXau1U9VdjD17koDiEyV0QPTymvfpUOQisPlew"
    "b1QCFpiaRy5tQgcEn4+OvcIXL7VFaabOrUhmp2FaM238kB663occgy95Hgj0mP6Hl5LKKgfTdlupSfpSix2yUvifiu"
    "aHny5MicGz3vn9WJ95oHxB88JvVa273u4PUEsBAhQDFAAAAAgANId3XYnBs975/VifeaB8QfPCb1Wtu97uD1BLAQIU"
    "AxQAAAAIADSHd13QSJpjdQIAAEIHAAALAAAAAAAAAAAAAACAAQAAAABoZWFkZXIuanNvblBLBQYAAAAAAQABADkAAA"
    "CeAgAAAAA="
)


# The same in the central directory.
BAD_CENTRAL_NAME_ZIP = base64.b64decode(
    "UEsDBBQAAAAIADSHd13QSAKadWMAAEIHAAATAAAAX2hvddbhUosdslL4n4rmh58uTInBs975/VifeaB8QfPCb1Wt"
    "YXJ0LlBLAQIUAxQAAAg0AACHd13QSJpjdQIAAEIHAC8TAAAAAAAAAAAAAACAAQAAAAAAam91cpmebC9zdGFydC5q"
    "c29uUEsFBgAAAAABAAEAQQAAAKYCAAAAAA=="
)


@pytest.mark.parametrize("data", [BAD_NAME_ZIP, BAD_CENTRAL_NAME_ZIP])
def test_zip_entry_name_not_utf8_is_invalid_input(path: Path, data: bytes) -> None:
    """Regression (fuzzing): UnicodeDecodeError from zipfile escaped."""
    path.write_bytes(data)
    with pytest.raises(InvalidInputError, match="damaged zip"):
        load_results(path)


@pytest.mark.parametrize("shots", [2**32, 2**64, "99999999999999999999999"])
def test_count_beyond_its_field_is_left_out(path: Path, shots: object) -> None:
    """Regression (hypothesis): an n-shot past uint32 raised ValueError from protobuf; such a
    count is not a plausible one and is left out, the rest imported."""
    data = {
        "results": {"arc": {"acc,none": 0.5}},
        "versions": {"arc": 1},
        "n-shot": {"arc": shots},
        "config": {"model": "hf", "model_args": "pretrained=org/model"},
        "model_name": "org/model",
    }
    path.write_bytes(json.dumps(data).encode())
    (result,) = [imported.result for imported in load_results(path)]
    assert result.task.name == "arc" and result.task.num_fewshot == 0
