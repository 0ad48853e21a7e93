"""The Every Eval Ever mapping: a pure function of an evaluation result and its record's header."""

from __future__ import annotations

from pathlib import Path

from evalfed.client.export_eee import SCHEMA_VERSION, RecordHeader, to_every_eval_ever
from evalfed.client.importers import load_results
from evalfed.core.codec import result_from_text
from evalfed.v1.record_pb2 import EvaluationResult

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HEADER = RecordHeader(
    record_id="ab" * 32,
    origin="us-aisi",
    seq=7,
    issued_at_us=1_700_000_000_123_456,
    federation_id="cd" * 32,
    key_id="ef" * 32,
    signature_checked=True,
)

REQUIRED = {
    "schema_version",
    "evaluation_id",
    "retrieved_timestamp",
    "source_metadata",
    "model_info",
    "eval_library",
    "evaluation_results",
}


def native(text: str) -> EvaluationResult:
    return result_from_text(text)


def all_details_are_strings(data: object) -> bool:
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("additional_details", "details"):
                if not all(isinstance(v, str) for v in value.values()):
                    return False
            elif not all_details_are_strings(value):
                return False
    if isinstance(data, list):
        return all(all_details_are_strings(item) for item in data)
    return True


def test_native_result_maps_model_metrics_uncertainty_and_record_facts() -> None:
    result = native(
        """{"model": {"id": "openai/gpt-4o-mini", "developer": "OpenAI", "version": "2024-07-18"},
            "task": {"name": "gpqa", "version": "1"},
            "dataset": {"name": "gpqa_diamond", "samplesUsed": 198, "totalSamples": 198},
            "run": {"framework": "inspect_ai", "frameworkVersion": "0.3.1",
                    "completedAt": "2025-01-02T03:04:05Z",
                    "generationConfig": {"temperature": 0.5, "max_tokens": 512, "seed": 1}},
            "scores": [{"scorer": "choice", "metrics": [
                {"name": "accuracy", "value": 0.61, "stderr": 0.02, "higherIsBetter": true,
                 "ci": {"lower": 0.57, "upper": 0.65, "level": 0.95}},
                {"name": "calibration", "value": "NaN"},
                {"name": "loss", "value": 1.5, "stderrText": "N/A", "n": 10}]}],
            "source": {"format": "native", "sha256": "12ab", "stripped": ["model.args.api_key"]}}"""
    )
    data = to_every_eval_ever(result, HEADER)
    assert set(data) >= REQUIRED
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["retrieved_timestamp"] == "1700000000"
    assert data["evaluation_id"] == "gpqa/openai_gpt-4o-mini/1700000000"
    assert data["evaluation_timestamp"] == "1735787045"
    assert data["dedupe_identity"]["content_hash"] == "12ab"
    assert data["model_info"] == {
        "name": "openai/gpt-4o-mini",
        "id": "openai/gpt-4o-mini",
        "developer": "OpenAI",
        "additional_details": {"version": "2024-07-18"},
    }
    assert data["eval_library"]["name"] == "inspect_ai"
    assert data["eval_library"]["version"] == "0.3.1"
    source = data["source_metadata"]
    assert source["source_type"] == "evaluation_run"
    assert source["source_organization_name"] == "us-aisi"
    assert source["evaluator_relationship"] == "other"
    details = source["additional_details"]
    assert details["evalfed_record_id"] == "ab" * 32
    assert details["evalfed_seq"] == "7" and details["evalfed_signature"] == "valid"
    assert details["stripped"] == "model.args.api_key"
    assert details["evalfed_unexported_metrics"] == "choice/calibration"

    accuracy, loss = data["evaluation_results"]
    assert accuracy["evaluation_name"] == "gpqa"
    assert accuracy["source_data"]["dataset_name"] == "gpqa_diamond"
    assert accuracy["source_data"]["source_type"] == "other"
    assert accuracy["metric_config"]["evaluation_description"] == "accuracy"
    assert accuracy["metric_config"]["lower_is_better"] is False
    assert accuracy["score_details"] == {
        "score": 0.61,
        "uncertainty": {
            "standard_error": {"value": 0.02},
            "confidence_interval": {"lower": 0.57, "upper": 0.65, "confidence_level": 0.95},
            "num_samples": 198,
        },
    }
    assert accuracy["generation_config"]["generation_args"] == {
        "temperature": 0.5,
        "max_tokens": 512,
    }
    assert accuracy["generation_config"]["additional_details"] == {"seed": "1"}
    assert loss["score_details"]["score"] == 1.5
    assert loss["score_details"]["uncertainty"] == {"num_samples": 10}
    assert loss["score_details"]["details"] == {"stderr_text": "N/A"}
    assert loss["metric_config"]["additional_details"]["direction_known"] == "false"
    assert all_details_are_strings(data)


def test_real_imports_map_with_their_numbers() -> None:
    for path in ("lm_eval/results-v0.4.json", "inspect/llm-scoring-grader.json"):
        for item in load_results(FIXTURES / path):
            data = to_every_eval_ever(item.result, HEADER)
            metric = item.result.scores[0].metrics[0]
            first = data["evaluation_results"][0]
            assert first["score_details"]["score"] == metric.value
            assert first["score_details"]["uncertainty"]["standard_error"]["value"] == (
                metric.stderr
            )
            assert data["model_info"]["id"] == item.result.model.id
            assert all_details_are_strings(data)
    lm = load_results(FIXTURES / "lm_eval/results-v0.4.json")[0]
    data = to_every_eval_ever(lm.result, HEADER)
    assert data["eval_library"]["name"] == "lm_eval"
    assert data["source_metadata"]["additional_details"]["stripped"] == "pretty_env_info"
    helm = load_results(FIXTURES / "helm/mmlu-philosophy-gpt2")[0]
    data = to_every_eval_ever(helm.result, HEADER)
    assert data["eval_library"]["name"] == "helm"
    assert (
        "training_co2_cost"
        in data["source_metadata"]["additional_details"]["evalfed_unexported_metrics"]
    )


def test_unchecked_or_flagged_records_say_so() -> None:
    result = native('{"model": {"id": "m"}, "task": {"name": "t"}}')
    header = RecordHeader("00" * 32, "uk-aisi", 1, 0, retracted=True, origin_forked=True)
    data = to_every_eval_ever(result, header)
    details = data["source_metadata"]["additional_details"]
    assert "evalfed_signature" not in details
    assert details["evalfed_retracted"] == "true" and details["evalfed_origin_forked"] == "true"
    assert data["evaluation_results"] == [] and "dedupe_identity" not in data
    assert data["eval_library"] == {"name": "unknown", "version": "unknown"}
