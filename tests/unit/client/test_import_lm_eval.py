"""lm-evaluation-harness results files (0.4 and 0.3), one result per task, own numbers kept."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from evalfed.client.importers import load_results
from evalfed.client.importers.lm_eval import load_lm_eval, split_metric_key
from evalfed.core.errors import InvalidInputError
from evalfed.v1.record_pb2 import EvaluationResult, Metric, Run

FIXTURES = Path(__file__).parents[2] / "fixtures" / "lm_eval"
V04 = FIXTURES / "results-v0.4.json"
V03 = FIXTURES / "pythia-160m-v0.3.json"
NA = FIXTURES / "stderr-na-string.json"


def source(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def by_task(results: list[EvaluationResult]) -> dict[str, EvaluationResult]:
    return {r.task.name: r for r in results}


def find(result: EvaluationResult, name: str, metric_filter: str = "") -> Metric:
    return next(
        m for s in result.scores for m in s.metrics if (m.name, m.filter) == (name, metric_filter)
    )


def check_own_numbers(data: dict[str, Any], results: dict[str, EvaluationResult]) -> None:
    """Every metric value and stderr in the file's `results`, as the file gives them."""
    assert set(results) == set(data["results"])
    for task, entry in data["results"].items():
        for key, value in entry.items():
            if key in ("alias", "name", "sample_len"):
                continue
            name, metric_filter, is_stderr = split_metric_key(key)
            metric = find(results[task], name, metric_filter)
            number, text = (
                (metric.stderr, metric.stderr_text)
                if is_stderr
                else (metric.value, metric.value_text)
            )
            if isinstance(value, str):
                assert text == value
                assert not metric.HasField("stderr" if is_stderr else "value")
            else:
                assert number == value


def test_v04_results_file() -> None:
    data = source(V04)
    imported = load_results(V04)
    results = by_task([i.result for i in imported])
    check_own_numbers(data, results)
    config = data["config"]
    for task, result in results.items():
        assert result.model.id == data["model_name"]
        assert result.model.developer == "RylanSchaeffer"
        assert result.model.version == config["model_sha"]
        assert result.model.args["pretrained"] == data["model_name"]
        assert result.task.version == str(data["versions"][task])
        assert result.task.num_fewshot == data["n-shot"][task]
        assert result.task.suite_commit == data["git_hash"]
        assert result.task.args["dataset_path"] == data["configs"][task]["dataset_path"]
        assert result.dataset.name == data["configs"][task]["dataset_path"]
        assert result.dataset.split == "test"
        counts = data["n-samples"][task]
        assert (result.dataset.total_samples, result.dataset.samples_used) == (
            counts["original"],
            counts["effective"],
        )
        assert not result.dataset.subset
        metric = find(result, "exact_match", "none")
        assert metric.higher_is_better is data["higher_is_better"][task]["exact_match"]
        assert metric.n == counts["effective"]
        assert [s.scorer for s in result.scores] == ["none"]
        assert result.run.framework == "lm-evaluation-harness"
        assert result.run.framework_version == data["lm_eval_version"] == "0.4.9.2"
        assert result.run.status == Run.STATUS_SUCCESS
        assert result.run.started_at.ToMicroseconds() == round(data["date"] * 1e6)
        duration = float(data["total_evaluation_time_seconds"])
        assert result.run.completed_at.ToMicroseconds() == round((data["date"] + duration) * 1e6)
        assert result.run.generation_config["max_gen_toks"] == 512
        assert result.source.format == "lm-eval"
        assert result.source.format_version == "0.4"
    assert find(results["math_perturbed_full"], "exact_match", "none").stderr == 0.0
    assert all(i.stripped == ["pretty_env_info"] for i in imported)
    assert "PyTorch" not in str([i.result for i in imported])


def test_v03_results_file_has_one_result_per_task() -> None:
    data = source(V03)
    imported = load_results(V03)
    assert len(imported) == len(data["results"]) == 65
    results = by_task([i.result for i in imported])
    check_own_numbers(data, results)
    lambada = results["lambada_openai"]
    assert find(lambada, "ppl").value == data["results"]["lambada_openai"]["ppl"]
    assert find(lambada, "ppl").stderr == data["results"]["lambada_openai"]["ppl_stderr"]
    for task, result in results.items():
        assert result.model.id == "EleutherAI/pythia-v1.1-160m"
        assert result.model.version == "step143000"
        assert result.model.developer == "EleutherAI"
        assert result.task.version == str(data["versions"][task]) == "0"
        assert result.task.num_fewshot == data["config"]["num_fewshot"] == 5
        assert [s.scorer for s in result.scores] == ["default"]
        assert result.source.format_version == "0.3"
        assert result.run.framework_version == ""
        assert not result.dataset.subset
    assert not find(results["wsc"], "acc").HasField("higher_is_better")


def test_na_stderr_stays_text_not_zero() -> None:
    data = source(NA)
    imported = load_lm_eval(NA, data)
    results = by_task([i.result for i in imported])
    check_own_numbers(data, results)
    acc = find(results["arc_easy"], "acc", "none")
    assert acc.value == data["results"]["arc_easy"]["acc,none"] == 0.3
    assert acc.stderr_text == "N/A" and not acc.HasField("stderr")
    perplexity = find(results["lambada_openai"], "perplexity", "none")
    assert perplexity.higher_is_better is False
    for task, result in results.items():
        counts = data["n-samples"][task]
        assert (result.dataset.total_samples, result.dataset.samples_used) == (
            counts["original"],
            counts["effective"],
        )
        assert result.dataset.subset
        assert result.task.version == str(data["versions"][task])
    assert results["wikitext"].task.version == "2.0"


def test_file_without_a_model_cannot_be_loaded_for_publishing() -> None:
    with pytest.raises(
        InvalidInputError, match=r"stderr-na-string\.json \(lm-eval.*names no model"
    ):
        load_results(NA)


def write(tmp_path: Path, data: dict[str, Any], name: str = "results.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_nan_infinity_and_missing_values(tmp_path: Path) -> None:
    data = source(NA)
    data["config"] = {"model": "hf", "model_args": "pretrained=org/model"}
    data["results"]["arc_easy"].update(
        {"acc,none": math.nan, "acc_stderr,none": math.inf, "acc_norm_stderr,none": None}
    )
    data["results"]["arc_easy"]["f1,none"] = -math.inf
    imported = load_results(write(tmp_path, data))
    arc = by_task([i.result for i in imported])["arc_easy"]
    acc = find(arc, "acc", "none")
    assert math.isnan(acc.value) and acc.stderr == math.inf
    norm = find(arc, "acc_norm", "none")
    assert norm.value == 0.1 and not norm.HasField("stderr") and not norm.stderr_text
    f1 = find(arc, "f1", "none")
    assert f1.value == -math.inf and not f1.HasField("stderr")


def test_secrets_and_local_paths_in_model_args(tmp_path: Path) -> None:
    data = source(V03)
    data["config"]["model_args"] = (
        "pretrained=/home/alice/ckpt/my-model,api_key=sk-abcdefghijklmnopqrstu,"
        "hf_token=hf_abcdefghijklmnopqrstuvwx,dtype=bfloat16"
    )
    data["config"]["gen_kwargs"] = "temperature=0.7"
    imported = load_results(write(tmp_path, data))[0]
    result = imported.result
    assert result.model.id == "my-model"
    assert dict(result.model.args) == {"dtype": "bfloat16"}
    assert result.run.generation_config["temperature"] == "0.7"
    assert imported.stripped == [
        "config.model_args.pretrained",
        "config.model_args.api_key",
        "config.model_args.hf_token",
    ]
    assert "alice" not in str(result) and "sk-abc" not in str(result)


def test_groups_give_the_suite_and_filters_give_scorers(tmp_path: Path) -> None:
    data = source(V04)
    data["group_subtasks"] = {"math": ["math_perturbed_full", "math_rephrased_full"]}
    data["results"]["math_perturbed_full"].update(
        {"exact_match,strict-match": 0.25, "exact_match_stderr,strict-match": 0.01}
    )
    results = by_task([i.result for i in load_results(write(tmp_path, data))])
    perturbed = results["math_perturbed_full"]
    assert perturbed.task.suite == "math"
    assert [s.scorer for s in perturbed.scores] == ["none", "strict-match"]
    assert find(perturbed, "exact_match", "strict-match").stderr == 0.01
