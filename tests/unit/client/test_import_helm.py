"""HELM run folders: run_spec.json and stats.json mapped into one result."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from evalfed.client.importers import load_results
from evalfed.core.errors import InvalidInputError
from evalfed.v1.record_pb2 import EvaluationResult, Run

FOLDER = Path(__file__).parents[2] / "fixtures" / "helm" / "mmlu-philosophy-gpt2"


def source(name: str) -> Any:
    return json.loads((FOLDER / name).read_text(encoding="utf-8"))


def only(path: Path) -> EvaluationResult:
    imported = load_results(path)
    assert len(imported) == 1
    return imported[0].result


def test_run_folder_maps_every_stat_with_its_own_mean() -> None:
    stats = source("stats.json")
    result = only(FOLDER)
    by_key = {
        (score.scorer, metric.name, metric.split): metric
        for score in result.scores
        for metric in score.metrics
    }
    assert len(by_key) == len(stats) == 162
    for stat in stats:
        name = stat["name"]
        perturbation = name.get("perturbation")
        scorer = (
            f"{perturbation['name']}/{perturbation['computed_on']}" if perturbation else "original"
        )
        metric = by_key[(scorer, name["name"], name["split"])]
        if "mean" in stat:
            assert metric.value == stat["mean"]
        else:
            assert stat["count"] == 0 and not metric.HasField("value")
        assert not metric.HasField("stderr") and not metric.HasField("n")
    exact = by_key[("original", "exact_match", "test")]
    assert exact.value == pytest.approx(1 / 9)
    assert [s.scorer for s in result.scores] == ["original", "robustness/worst", "fairness/worst"]


def test_run_spec_fields() -> None:
    run_spec = source("run_spec.json")
    adapter = run_spec["adapter_spec"]
    result = only(FOLDER)
    assert result.model.id == adapter["model"] == "openai/gpt2"
    assert result.model.developer == "openai"
    assert result.model.args["model_deployment"] == adapter["model_deployment"]
    assert result.task.name == "mmlu"
    assert dict(result.task.args) == {"subject": "philosophy", "method": "multiple_choice_joint"}
    assert result.task.num_fewshot == adapter["max_train_instances"] == 5
    assert result.task.suite == "mmlu"
    assert result.run.run_id == run_spec["name"]
    assert result.run.limit == adapter["max_eval_instances"] == 10
    assert result.run.status == Run.STATUS_SUCCESS
    assert result.run.framework == "helm"
    assert result.run.generation_config["temperature"] == adapter["temperature"]
    generation = json_format.MessageToDict(result.run.generation_config)
    assert generation["stop_sequences"] == adapter["stop_sequences"]
    assert result.dataset.name == run_spec["scenario_spec"]["class_name"]
    assert result.dataset.samples_used == 10
    assert result.dataset.split == "test,valid"
    assert result.dataset.subset


def test_source_hash_is_sha256sum_of_the_two_files_piped_to_sha256sum() -> None:
    lines = "".join(
        f"{hashlib.sha256((FOLDER / name).read_bytes()).hexdigest()}  {name}\n"
        for name in ("run_spec.json", "stats.json")
    )
    result = only(FOLDER)
    assert result.source.sha256 == hashlib.sha256(lines.encode()).hexdigest()
    assert result.source.format == "helm"


def test_pointing_at_run_spec_or_stats_reads_the_folder() -> None:
    folder = only(FOLDER)
    assert only(FOLDER / "run_spec.json") == folder
    assert only(FOLDER / "stats.json") == folder


def test_a_folder_that_is_not_a_run_folder(tmp_path: Path) -> None:
    (tmp_path / "run_spec.json").write_text("{}")
    with pytest.raises(
        InvalidInputError, match=r"folder without run_spec\.json and stats\.json.*Accepted"
    ):
        load_results(tmp_path)
    (tmp_path / "stats.json").write_text("[]")
    with pytest.raises(InvalidInputError, match="no adapter_spec"):
        load_results(tmp_path)


def test_damaged_stats(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(FOLDER, folder)
    (folder / "stats.json").chmod(0o644)
    (folder / "stats.json").write_text('[{"name": ')
    with pytest.raises(InvalidInputError, match=r"stats\.json is not valid JSON"):
        load_results(folder)
