"""Formats are told apart by content, not by name; anything else gets an error that says why."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from evalfed.client.importers import load_results
from evalfed.core.codec import to_json
from evalfed.core.errors import InvalidInputError
from tests.results import result

FIXTURES = Path(__file__).parents[2] / "fixtures"
ACCEPTED_HINT = r"Accepted: an Inspect log \(\.eval or \.json\), an lm-evaluation-harness"


@pytest.mark.parametrize(
    ("fixture", "disguise", "fmt"),
    [
        ("inspect/no-samples-cancelled.json", "results_2024.txt", "inspect-json"),
        ("inspect/llm-scoring-grader.json", "run_spec.json", "inspect-json"),
        ("lm_eval/results-v0.4.json", "log.eval", "lm-eval"),
        ("lm_eval/pythia-160m-v0.3.json", "no-extension", "lm-eval"),
    ],
)
def test_content_decides_not_the_name(
    tmp_path: Path, fixture: str, disguise: str, fmt: str
) -> None:
    path = tmp_path / disguise
    shutil.copyfile(FIXTURES / fixture, path)
    imported = load_results(path)
    assert {i.result.source.format for i in imported} == {fmt}


def test_native_json_and_yaml(tmp_path: Path) -> None:
    native = result(model="openai/gpt-4o", task="gpqa")
    json_path = tmp_path / "result.json"
    json_path.write_text(to_json(native))
    yaml_path = tmp_path / "result.yaml"
    yaml_path.write_text(yaml.safe_dump(json.loads(to_json(native))))
    for path in (json_path, yaml_path):
        imported = load_results(path)
        assert len(imported) == 1
        assert imported[0].result.model.id == "openai/gpt-4o"
        assert imported[0].result.source.format == "native"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "not valid JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not valid JSON"),
        (b'{"hello": "world"}', "JSON object with keys hello"),
        (b'{"results": {"task": 1}}', "JSON object with keys results"),
        (b"[1, 2, 3]", "JSON but an array, not an object"),
        (b'"just text"', "JSON but a lone str value"),
        (b"just: some\nyaml: text\n", "not valid JSON"),
        (b'{"eval": {"task": "x", "model": "m/x"', "not valid JSON"),
    ],
)
def test_unrecognized_files_say_what_they_are_not(
    tmp_path: Path, content: bytes, says: str
) -> None:
    path = tmp_path / "mystery.json"
    path.write_bytes(content)
    with pytest.raises(InvalidInputError, match=ACCEPTED_HINT) as error:
        load_results(path)
    assert says in str(error.value)
    assert str(path) in str(error.value)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_results(tmp_path / "nope.json")


def test_plain_folder_is_not_a_helm_run(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="not a HELM run folder"):
        load_results(tmp_path)


def test_native_file_with_a_misspelt_field_gets_the_schema_error(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"model": {"id": "m/x"}, "task": {"name": "t"}, "scorez": []}))
    with pytest.raises(InvalidInputError, match="does not fit the schema"):
        load_results(path)
