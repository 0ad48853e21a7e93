"""Inspect logs, `.json` and `.eval`, mapped into results and checked against their own numbers."""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Any

import pytest
import zstandard

from evalfed.client.importers import load_results
from evalfed.client.importers.eval_zip import ZIP_ZSTANDARD
from evalfed.client.importers.values import sample_ids_sha256
from evalfed.core.errors import InvalidInputError
from evalfed.v1.record_pb2 import EvaluationResult, Metric, Run

FIXTURES = Path(__file__).parents[2] / "fixtures" / "inspect"
ALL_LOGS = sorted(FIXTURES.glob("*.json"))


def source(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def only(path: Path) -> EvaluationResult:
    imported = load_results(path)
    assert len(imported) == 1
    assert imported[0].path == path
    return imported[0].result


def metric(result: EvaluationResult, scorer: str, name: str) -> Metric:
    score = next(s for s in result.scores if s.scorer == scorer)
    return next(m for m in score.metrics if m.name == name)


@pytest.mark.parametrize("path", ALL_LOGS, ids=lambda p: p.name)
def test_every_fixture_maps_its_own_numbers(path: Path) -> None:
    log = source(path)
    spec, stats = log["eval"], log["stats"]
    result = only(path)
    assert result.model.id == spec["model"]
    assert result.model.developer == spec["model"].split("/")[0]
    assert result.task.name == spec["task"]
    assert result.task.version == str(spec["task_version"])
    assert result.run.framework == "inspect_ai"
    assert result.run.framework_version == spec.get("packages", {}).get("inspect_ai", "")
    assert result.run.run_id == spec["run_id"]
    assert result.run.started_at.ToJsonString()[:19] != "1970-01-01T00:00:00"
    assert result.dataset.total_samples == spec["dataset"]["samples"]
    assert result.dataset.samples_used == log["results"]["completed_samples"]
    assert result.dataset.subset == (
        log["results"]["completed_samples"] < spec["dataset"]["samples"]
    )
    if "sample_ids" in spec["dataset"]:
        assert result.dataset.sample_ids_sha256 == sample_ids_sha256(spec["dataset"]["sample_ids"])
    for score in log["results"]["scores"]:
        accuracy = metric(result, score["name"], "accuracy")
        assert accuracy.value == score["metrics"]["accuracy"]["value"]
        assert accuracy.stderr == score["metrics"]["stderr"]["value"]
        names = [m.name for s in result.scores for m in s.metrics]
        assert "stderr" not in names
    usage = {u.model: u for u in result.usage}
    assert set(usage) == set(stats["model_usage"])
    for model, counts in stats["model_usage"].items():
        assert usage[model].input_tokens == counts["input_tokens"]
        assert usage[model].output_tokens == counts["output_tokens"]
        assert usage[model].total_tokens == counts["total_tokens"]
    assert result.source.format == "inspect-json"
    assert result.source.format_version == str(log.get("version", ""))
    assert len(result.source.sha256) == 64


def test_cancelled_run_keeps_its_partial_results() -> None:
    path = FIXTURES / "no-samples-cancelled.json"
    log = source(path)
    result = only(path)
    assert result.run.status == Run.STATUS_CANCELLED
    assert result.run.limit == log["eval"]["config"]["limit"] == 3
    assert result.run.epochs == 1
    assert result.dataset.subset
    assert (result.dataset.samples_used, result.dataset.total_samples) == (3, 100)
    assert result.task.suite == log["eval"]["revision"]["origin"]
    assert result.task.suite_commit == log["eval"]["revision"]["commit"]
    assert result.scores[0].reducer == "mean"


def test_integer_stderr_and_options_blocks_of_2024() -> None:
    path = FIXTURES / "popularity-mockllm-2024.json"
    log = source(path)
    result = only(path)
    accuracy = metric(result, "match", "accuracy")
    assert log["results"]["scores"][0]["metrics"]["stderr"]["value"] == 0
    assert accuracy.HasField("stderr") and accuracy.stderr == 0.0
    assert accuracy.HasField("value") and accuracy.value == 0.0
    assert result.run.status == Run.STATUS_SUCCESS
    assert result.run.limit == 1 and result.dataset.subset
    assert not result.usage
    assert result.run.framework_version == ""
    assert dict(result.run.generation_config) == {"temperature": 1.0}


def test_string_scores_in_samples_do_not_matter_and_samples_are_not_read() -> None:
    path = FIXTURES / "input-task-gpt4o-mini.json"
    result = only(path)
    assert metric(result, "model_graded_fact", "accuracy").value == 1.0
    assert result.dataset.name == ""
    assert not result.dataset.subset
    assert "GRADE" not in str(result)


def test_header_only_log_without_version_names_its_grader() -> None:
    path = FIXTURES / "llm-scoring-grader.json"
    log = source(path)
    result = only(path)
    grader = log["results"]["scores"][0]["params"]["grader_model"]["model"]
    assert [g.id for g in result.grader_models] == [grader] == ["google/gemini-2.0-flash-001"]
    assert result.grader_models[0].developer == "google"
    assert result.scores[0].grader_model == grader
    assert result.source.format_version == ""
    assert metric(result, "simpleqa_scorer", "accuracy").n == 1000
    assert result.dataset.name == log["eval"]["dataset"]["name"]
    assert [u.model for u in result.usage] == list(log["stats"]["model_usage"])


def eval_zip(path: Path, entries: dict[str, Any], compression: int = ZIP_ZSTANDARD) -> Path:
    """A `.eval` zip as Inspect writes it: zstd entries (or stored/deflated ones)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in entries.items():
            data = content if isinstance(content, bytes) else json.dumps(content).encode()
            if compression == ZIP_ZSTANDARD:
                info = zipfile.ZipInfo(name)
                info.compress_type = zipfile.ZIP_STORED
                archive.writestr(info, zstandard.ZstdCompressor().compress(data))
            else:
                archive.writestr(name, data, compress_type=compression)
    if compression == ZIP_ZSTANDARD:
        _mark_zstd(path)
    return path


def _mark_zstd(path: Path) -> None:
    """Rewrites the method of every entry to 93 (zstd): stdlib zipfile cannot write it."""
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            data[start + offset : start + offset + 2] = ZIP_ZSTANDARD.to_bytes(2, "little")
            start += 4
    path.write_bytes(bytes(data))


def header_of(log: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in log.items() if key not in ("samples", "reductions")}


@pytest.mark.parametrize("compression", [ZIP_ZSTANDARD, zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_eval_zip_reads_header_json_only(tmp_path: Path, compression: int) -> None:
    log = source(FIXTURES / "no-samples-cancelled.json")
    path = eval_zip(
        tmp_path / "run.eval",
        {
            "_journal/start.json": {"version": 2, "eval": log["eval"], "plan": log["plan"]},
            "samples/1_epoch_1.json": b"this is not json and is never read",
            "header.json": header_of(log),
        },
        compression,
    )
    result = only(path)
    assert result.source.format == "inspect-eval"
    assert result.run.status == Run.STATUS_CANCELLED
    accuracy = metric(result, "match", "accuracy")
    scores = log["results"]["scores"][0]["metrics"]
    assert (accuracy.value, accuracy.stderr) == (
        scores["accuracy"]["value"],
        scores["stderr"]["value"],
    )


def test_eval_zip_of_a_run_in_progress_has_status_started(tmp_path: Path) -> None:
    log = source(FIXTURES / "no-samples-cancelled.json")
    path = eval_zip(
        tmp_path / "running.eval",
        {"_journal/start.json": {"version": 2, "eval": log["eval"], "plan": log["plan"]}},
    )
    result = only(path)
    assert result.run.status == Run.STATUS_STARTED
    assert not result.scores
    assert result.dataset.subset


def test_zip_that_is_not_an_inspect_log(tmp_path: Path) -> None:
    path = eval_zip(tmp_path / "other.eval", {"readme.txt": b"hello"}, zipfile.ZIP_DEFLATED)
    with pytest.raises(InvalidInputError, match=r"zip archive without header\.json.*Accepted"):
        load_results(path)


def test_damaged_zip(tmp_path: Path) -> None:
    path = tmp_path / "broken.eval"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(InvalidInputError, match="damaged zip"):
        load_results(path)


def test_nan_and_infinite_metrics_stay_as_such(tmp_path: Path) -> None:
    log = source(FIXTURES / "no-samples-cancelled.json")
    log["results"]["scores"][0]["metrics"]["accuracy"]["value"] = math.nan
    log["results"]["scores"][0]["metrics"]["stderr"]["value"] = math.inf
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(log))
    assert "NaN" in path.read_text()
    accuracy = metric(only(path), "match", "accuracy")
    assert math.isnan(accuracy.value)
    assert accuracy.stderr == math.inf


def test_stderr_with_several_other_metrics_goes_to_accuracy(tmp_path: Path) -> None:
    log = source(FIXTURES / "no-samples-cancelled.json")
    log["results"]["scores"][0]["metrics"] = {
        "mean": {"name": "mean", "value": 0.5},
        "accuracy": {"name": "accuracy", "value": 0.75},
        "stderr": {"name": "stderr", "value": 0.1},
        "bootstrap_stderr": {"name": "bootstrap_stderr", "value": 0.2},
    }
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(log))
    metrics = {m.name: m for m in only(path).scores[0].metrics}
    assert list(metrics) == ["mean", "accuracy", "bootstrap_stderr"]
    assert metrics["accuracy"].stderr == 0.1
    assert not metrics["mean"].HasField("stderr")


def test_private_things_are_stripped_and_listed(tmp_path: Path) -> None:
    log = source(FIXTURES / "no-samples-cancelled.json")
    log["eval"]["model_args"] = {
        "api_key": "sk-live-0123456789abcdefghij",
        "base_url": "https://user:hunter2@proxy.example.com/v1",
        "cache_dir": "/home/alice/.cache/models",
        "seed": 7,
    }
    log["eval"]["task_args"] = {"data": "file:///Users/bob/data.jsonl", "shots": 3}
    log["eval"]["revision"]["origin"] = "https://bob:ghp_token@github.com/org/evals.git"
    log["eval"]["dataset"]["name"] = "C:\\Users\\bob\\data.csv"
    log["plan"]["config"] = {"temperature": 0.5, "secret_key": "s3cret"}
    log = header_of(log) | {
        "error": {"message": "FileNotFoundError: /home/alice/run/x.py", "traceback": "..."},
        "samples": [],
    }
    path = tmp_path / "private.json"
    path.write_text(json.dumps(log))
    imported = load_results(path)[0]
    result = imported.result
    assert dict(result.model.args) == {"seed": 7.0}
    assert dict(result.task.args) == {"shots": 3.0}
    assert result.task.suite == "https://github.com/org/evals.git"
    assert result.dataset.name == log["eval"]["dataset"]["location"]
    assert dict(result.run.generation_config) == {"temperature": 0.5}
    assert result.run.error == "FileNotFoundError: <path>"
    assert imported.stripped == [
        "eval.model_args.api_key",
        "eval.model_args.base_url",
        "eval.model_args.cache_dir",
        "eval.task_args.data",
        "eval.revision.origin",
        "error.message",
        "plan.config.secret_key",
        "eval.dataset.name",
    ]
    assert list(result.source.stripped) == imported.stripped
    text = str(result)
    for secret in ("sk-live", "hunter2", "alice", "bob", "s3cret", "ghp_token"):
        assert secret not in text


def test_model_roles_and_scorer_model_params_are_graders(tmp_path: Path) -> None:
    log = source(FIXTURES / "no-samples-cancelled.json")
    log["eval"]["model_roles"] = {
        "grader": {"model": "anthropic/claude-3-5-haiku", "model_args": {"api_key": "x"}},
        "red_team": {"model": "openai/gpt-4o"},
    }
    log["results"]["scores"][0]["params"] = {"model": ["openai/o3", "google/gemini-2.5-pro"]}
    path = tmp_path / "graders.json"
    path.write_text(json.dumps(log))
    imported = load_results(path)[0]
    result = imported.result
    assert [g.id for g in result.grader_models] == [
        "anthropic/claude-3-5-haiku",
        "openai/o3",
        "google/gemini-2.5-pro",
    ]
    assert result.scores[0].grader_model == "openai/o3"
    assert imported.stripped == ["eval.model_roles.grader.model_args.api_key"]


def test_limit_range_and_epochs(tmp_path: Path) -> None:
    log = source(FIXTURES / "no-samples-cancelled.json")
    log["eval"]["config"].update(limit=[10, 20], epochs=2)
    log["results"]["completed_samples"] = 20
    path = tmp_path / "range.json"
    path.write_text(json.dumps(log))
    result = only(path)
    assert (result.run.limit, result.run.epochs, result.dataset.samples_used) == (10, 2, 10)


def test_truncated_header_is_an_error(tmp_path: Path) -> None:
    text = (FIXTURES / "no-samples-cancelled.json").read_text()
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) // 3])
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        load_results(path)


def test_truncated_samples_do_not_matter(tmp_path: Path) -> None:
    log = source(FIXTURES / "no-samples-cancelled.json")
    text = json.dumps(header_of(log))[:-1] + ', "samples": [{"id": 1, "input": "unfinished'
    path = tmp_path / "running.json"
    path.write_text(text)
    assert metric(only(path), "match", "accuracy").value == pytest.approx(2 / 3)


def test_early_logs_with_one_scorer_and_no_version(tmp_path: Path) -> None:
    log = header_of(source(FIXTURES / "popularity-mockllm-2024.json"))
    del log["version"]
    scores = log["results"].pop("scores")
    log["results"].pop("completed_samples")
    log["results"]["scorer"] = {"name": "match", "params": {}}
    log["results"]["metrics"] = scores[0]["metrics"]
    path = tmp_path / "early.json"
    path.write_text(json.dumps(log))
    result = only(path)
    accuracy = metric(result, "match", "accuracy")
    assert (accuracy.value, accuracy.stderr) == (0.0, 0.0)
    assert result.dataset.samples_used == log["results"]["total_samples"] == 1
    assert result.source.format_version == ""
