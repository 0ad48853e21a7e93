"""Evaluation results in the Every Eval Ever schema (evaleval's unified format, version 0.2.1).

`to_every_eval_ever(result, header)` is a pure mapping: one evalfed record (its evaluation result
and the header facts the federation adds) becomes one Every Eval Ever object. What has a place in
that schema goes there; what has none goes, as strings, into its `additional_details` maps, and
the evalfed record id, origin institute and seq always go into `source_metadata`.

A metric without a finite number (absent, NaN, infinite, or a text like lm-eval's "N/A") cannot be
an Every Eval Ever score, which must be a JSON number; such metrics are listed by name in
`source_metadata.additional_details.evalfed_unexported_metrics` instead.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct

from evalfed.core.timeutil import iso_of_us, timestamp_us
from evalfed.v1.record_pb2 import EvaluationResult, Metric, Run, Score

SCHEMA_VERSION = "0.2.1"
FORMAT_NAME = "every-eval-ever"

LIBRARY_NAMES = {
    "inspect-json": "inspect_ai",
    "inspect-eval": "inspect_ai",
    "lm-eval": "lm_eval",
    "helm": "helm",
}
"""Every Eval Ever's names for the evaluation libraries our importers read."""

GENERATION_ARGS = {"temperature", "top_p", "top_k", "max_tokens"}
"""Generation settings with a field of their own in `generation_config.generation_args`."""


@dataclass(frozen=True)
class RecordHeader:
    """The facts of the signed record around the result, as a node serves it."""

    record_id: str
    origin: str
    seq: int
    issued_at_us: int
    federation_id: str = ""
    key_id: str = ""
    signature_checked: bool | None = None
    origin_forked: bool = False
    retracted: bool = False
    corrected_by: str = ""


def to_every_eval_ever(result: EvaluationResult, header: RecordHeader) -> dict[str, Any]:
    """One record as an Every Eval Ever evaluation object."""
    evaluated_at = _evaluation_timestamp(result.run)
    unexported: list[str] = []
    evaluation_results = []
    for score in result.scores:
        for metric in score.metrics:
            item = _evaluation_result(result, score, metric, evaluated_at)
            if item is None:
                unexported.append(_metric_label(score, metric))
            else:
                evaluation_results.append(item)
    retrieved = str(header.issued_at_us // 1_000_000)
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "evaluation_id": f"{result.task.name}/{result.model.id.replace('/', '_')}/{retrieved}",
        "retrieved_timestamp": retrieved,
        "source_metadata": _source_metadata(result, header, unexported),
        "eval_library": _eval_library(result),
        "model_info": _model_info(result),
        "evaluation_results": evaluation_results,
    }
    if result.source.sha256:
        data["dedupe_identity"] = {
            "content_hash": result.source.sha256,
            "hash_algorithm": "sha256",
            "additional_details": {"hashed": "the source file (HELM: its run folder's files)"},
        }
    if evaluated_at:
        data["evaluation_timestamp"] = evaluated_at
    return data


def _evaluation_timestamp(run: Run) -> str:
    for field in ("completed_at", "started_at"):
        if run.HasField(field):
            return str(timestamp_us(getattr(run, field)) // 1_000_000)
    return ""


def _finite(metric: Metric, field: str) -> float | None:
    if not metric.HasField(field):
        return None
    value = float(getattr(metric, field))
    return value if math.isfinite(value) else None


def _metric_label(score: Score, metric: Metric) -> str:
    label = f"{score.scorer}/{metric.name}" if score.scorer else metric.name
    for part in (metric.filter, metric.split):
        if part:
            label += f"[{part}]"
    return label


def _text(value: Any) -> str:
    """A value as an `additional_details` string (protobuf Struct numbers are all floats)."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value, sort_keys=True)


def _strings(items: dict[str, Any]) -> dict[str, str]:
    """An `additional_details` map: only the set values, every one a string."""
    return {k: _text(v) for k, v in items.items() if v}


def _struct(struct: Struct) -> dict[str, Any]:
    return json_format.MessageToDict(struct)


def _evaluation_result(
    result: EvaluationResult, score: Score, metric: Metric, evaluated_at: str
) -> dict[str, Any] | None:
    value = _finite(metric, "value")
    if value is None:
        return None
    metric_config: dict[str, Any] = {
        "evaluation_description": metric.name,
        "lower_is_better": (
            not metric.higher_is_better if metric.HasField("higher_is_better") else False
        ),
    }
    metric_config["additional_details"] = _strings(
        {
            "metric": metric.name,
            "scorer": score.scorer,
            "reducer": score.reducer,
            "filter": metric.filter,
            "split": metric.split,
            "grader_model": score.grader_model,
            "direction_known": "true" if metric.HasField("higher_is_better") else "false",
        }
    )
    uncertainty: dict[str, Any] = {}
    stderr = _finite(metric, "stderr")
    if stderr is not None:
        uncertainty["standard_error"] = {"value": stderr}
    if metric.HasField("ci"):
        ci: dict[str, Any] = {"lower": metric.ci.lower, "upper": metric.ci.upper}
        if 0 < metric.ci.level <= 1:
            ci["confidence_level"] = metric.ci.level
        uncertainty["confidence_interval"] = ci
    samples = metric.n if metric.HasField("n") else result.dataset.samples_used
    if samples:
        uncertainty["num_samples"] = samples
    score_details: dict[str, Any] = {"score": value}
    if uncertainty:
        score_details["uncertainty"] = uncertainty
    details = _strings({"value_text": metric.value_text, "stderr_text": metric.stderr_text})
    if metric.HasField("stderr") and stderr is None:
        details["stderr_text"] = details.get("stderr_text") or str(metric.stderr)
    if details:
        score_details["details"] = details
    item: dict[str, Any] = {
        "evaluation_name": result.task.name,
        "source_data": _source_data(result),
        "metric_config": metric_config,
        "score_details": score_details,
    }
    if evaluated_at:
        item["evaluation_timestamp"] = evaluated_at
    generation = _generation_config(result.run)
    if generation:
        item["generation_config"] = generation
    return item


def _source_data(result: EvaluationResult) -> dict[str, Any]:
    dataset = result.dataset
    data: dict[str, Any] = {
        "dataset_name": dataset.name or result.task.name,
        "source_type": "other",
    }
    details = _strings(
        {
            "revision": dataset.revision,
            "split": dataset.split,
            "total_samples": dataset.total_samples,
            "samples_used": dataset.samples_used,
            "subset": "true" if dataset.subset else "",
            "sample_ids_sha256": dataset.sample_ids_sha256,
            "task_version": result.task.version,
            "task_suite": result.task.suite,
            "task_suite_commit": result.task.suite_commit,
            "num_fewshot": result.task.num_fewshot,
            "task_args": _struct(result.task.args) if result.task.HasField("args") else "",
        }
    )
    if details:
        data["additional_details"] = details
    return data


def _generation_config(run: Run) -> dict[str, Any]:
    if not run.HasField("generation_config"):
        return {}
    config = _struct(run.generation_config)
    args: dict[str, Any] = {}
    for name in GENERATION_ARGS:
        value = config.get(name)
        if name == "max_tokens":
            if isinstance(value, int | float) and value >= 1 and float(value).is_integer():
                args[name] = int(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            args[name] = value
    rest = {k: v for k, v in config.items() if k not in args}
    data: dict[str, Any] = {}
    if args:
        data["generation_args"] = args
    if rest:
        data["additional_details"] = {k: _text(v) for k, v in rest.items()}
    return data


def _source_metadata(
    result: EvaluationResult, header: RecordHeader, unexported: list[str]
) -> dict[str, Any]:
    details: dict[str, Any] = {
        "evalfed_record_id": header.record_id,
        "evalfed_origin": header.origin,
        "evalfed_seq": str(header.seq),
        "evalfed_issued_at": iso_of_us(header.issued_at_us),
        "evalfed_federation_id": header.federation_id,
        "evalfed_key_id": header.key_id,
        "evalfed_origin_forked": "true" if header.origin_forked else "",
        "evalfed_retracted": "true" if header.retracted else "",
        "evalfed_corrected_by": header.corrected_by,
        "source_format": result.source.format,
        "source_format_version": result.source.format_version,
        "source_sha256": result.source.sha256,
        "stripped": ", ".join(result.source.stripped),
        "grader_models": ", ".join(m.id for m in result.grader_models),
        "notes": result.notes,
        "evalfed_unexported_metrics": ", ".join(unexported),
    }
    if header.signature_checked is not None:
        details["evalfed_signature"] = "valid" if header.signature_checked else "NOT VALID"
    return {
        "source_name": "evalfed",
        "source_type": "evaluation_run",
        "source_organization_name": header.origin,
        # evalfed records do not say how the evaluator relates to the model's developer.
        "evaluator_relationship": "other",
        "additional_details": _strings(details),
    }


def _eval_library(result: EvaluationResult) -> dict[str, Any]:
    run = result.run
    name = LIBRARY_NAMES.get(result.source.format) or run.framework or "unknown"
    data: dict[str, Any] = {"name": name, "version": run.framework_version or "unknown"}
    details = _strings(
        {
            "framework": run.framework,
            "run_id": run.run_id,
            "status": Run.Status.Name(run.status) if run.status else "",
            "epochs": run.epochs,
            "limit": run.limit,
            "error": run.error,
            "started_at": (
                iso_of_us(timestamp_us(run.started_at)) if run.HasField("started_at") else ""
            ),
            "completed_at": (
                iso_of_us(timestamp_us(run.completed_at)) if run.HasField("completed_at") else ""
            ),
        }
    )
    if details:
        data["additional_details"] = details
    return data


def _model_info(result: EvaluationResult) -> dict[str, Any]:
    model = result.model
    data: dict[str, Any] = {"name": model.id, "id": model.id}
    if model.developer:
        data["developer"] = model.developer
    details = _strings(
        {
            "version": model.version,
            "args": _struct(model.args) if model.HasField("args") else "",
        }
    )
    for usage in result.usage:
        if usage.model in ("", model.id):
            details.update(
                _strings(
                    {
                        "input_tokens": usage.input_tokens,
                        "output_tokens": usage.output_tokens,
                        "total_tokens": usage.total_tokens,
                    }
                )
            )
    if details:
        data["additional_details"] = details
    return data
