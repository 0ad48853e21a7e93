"""HELM run folders: `run_spec.json` says what ran, `stats.json` holds the aggregated metrics.

Per-instance files (per_instance_stats.json, scenario_state.json) are samples and never read.
The source hash covers the two files read, reproducible with coreutils:
`sha256sum run_spec.json stats.json | sha256sum`, i.e. SHA-256 over the lines
"<sha256 hex>  run_spec.json\\n<sha256 hex>  stats.json\\n".

Mapping (source field -> EvaluationResult):
  adapter_spec.model -> model.id (developer from its prefix); adapter_spec.model_deployment
  -> model.args.model_deployment
  run name before ":" -> task.name; scenario_spec.args + adapter_spec.method -> task.args;
  adapter_spec.max_train_instances -> task.num_fewshot; groups -> task.suite
  scenario_spec.class_name -> dataset.name; splits seen in stats -> dataset.split; the
  num_instances stats (no perturbation) summed over splits -> dataset.samples_used;
  subset when max_eval_instances is set and that many were used
  run name -> run.run_id; max_eval_instances -> run.limit; temperature, max_tokens,
  stop_sequences, num_outputs, top_p, ... -> run.generation_config; status SUCCESS
  (HELM writes stats.json when the run finished)
  stats -> one score per perturbation ("original" without one, else "<name>/<computed_on>"),
  a metric per stat and split: mean -> value (absent when the stat has no mean, e.g. count 0).
  HELM's count and stddev here are over trials, not instances, so neither n nor stderr is set.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from evalfed.client.importers.common import Imported, finish, not_recognized
from evalfed.client.importers.redact import Redactor
from evalfed.client.importers.values import (
    UINT32_MAX,
    as_count,
    developer_of,
    fill_struct,
    is_number,
    set_metric_value,
)
from evalfed.core.errors import InvalidInputError
from evalfed.v1.record_pb2 import EvaluationResult, Metric, Run, Score

FRAMEWORK = "helm"
RUN_SPEC = "run_spec.json"
STATS = "stats.json"
ORIGINAL = "original"
GENERATION_KEYS = (
    "temperature",
    "max_tokens",
    "stop_sequences",
    "num_outputs",
    "top_p",
    "top_k_per_token",
    "presence_penalty",
    "frequency_penalty",
    "random",
)


def is_run_folder(path: Path) -> bool:
    return path.is_dir() and (path / RUN_SPEC).is_file() and (path / STATS).is_file()


def is_run_spec(head: Any) -> bool:
    return isinstance(head, dict) and "adapter_spec" in head and "scenario_spec" in head


def is_stats_entry(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("name"), dict) and "count" in item


def folder_sha256(folder: Path) -> str:
    """`sha256sum run_spec.json stats.json | sha256sum`, without the trailing "  -"."""
    lines = "".join(
        f"{hashlib.sha256((folder / name).read_bytes()).hexdigest()}  {name}\n"
        for name in (RUN_SPEC, STATS)
    )
    return hashlib.sha256(lines.encode()).hexdigest()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path} is not valid JSON ({exc})") from None


def load_helm(folder: Path) -> list[Imported]:
    """The result of one HELM run folder."""
    run_spec = _read_json(folder / RUN_SPEC)
    stats = _read_json(folder / STATS)
    if not is_run_spec(run_spec):
        raise not_recognized(folder, f"its {RUN_SPEC} has no adapter_spec and scenario_spec")
    if not isinstance(stats, list) or not all(is_stats_entry(item) for item in stats):
        raise not_recognized(folder, f"its {STATS} is not a list of HELM stats")
    redactor = Redactor()
    result = map_run(run_spec, stats, redactor)
    result.source.format = "helm"
    result.source.sha256 = folder_sha256(folder)
    return [finish(folder, result, redactor.stripped)]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def map_run(run_spec: dict[str, Any], stats: list[Any], redactor: Redactor) -> EvaluationResult:
    """The evaluation result a HELM run spec and its stats state."""
    result = EvaluationResult()
    adapter = _dict(run_spec.get("adapter_spec"))
    scenario = _dict(run_spec.get("scenario_spec"))
    run_name = str(run_spec.get("name") or "")

    model_id = str(adapter.get("model") or "")
    result.model.id = model_id
    result.model.developer = developer_of(model_id)
    deployment = (
        {"model_deployment": adapter["model_deployment"]} if adapter.get("model_deployment") else {}
    )
    fill_struct(result.model.args, redactor.mapping(deployment, "adapter_spec"))

    result.task.name = run_name.split(":", 1)[0]
    task_args = {**_dict(scenario.get("args"))}
    if adapter.get("method"):
        task_args["method"] = adapter["method"]
    fill_struct(result.task.args, redactor.mapping(task_args, "scenario_spec.args"))
    shots = as_count(adapter.get("max_train_instances"), UINT32_MAX)
    if shots is not None:
        result.task.num_fewshot = shots
    result.task.suite = ",".join(str(group) for group in run_spec.get("groups") or [])

    result.run.framework = FRAMEWORK
    result.run.status = Run.STATUS_SUCCESS
    result.run.run_id = redactor.text(run_name, "name")
    limit = as_count(adapter.get("max_eval_instances"))
    if limit is not None:
        result.run.limit = limit
    generation = {key: adapter[key] for key in GENERATION_KEYS if key in adapter}
    fill_struct(result.run.generation_config, redactor.mapping(generation, "adapter_spec"))

    _map_dataset(result, scenario, stats, limit, redactor)
    _map_scores(result, stats)
    return result


def _map_dataset(
    result: EvaluationResult,
    scenario: dict[str, Any],
    stats: list[Any],
    limit: int | None,
    redactor: Redactor,
) -> None:
    dataset = result.dataset
    dataset.name = redactor.text(str(scenario.get("class_name") or ""), "scenario_spec.class_name")
    splits: list[str] = []
    used = 0.0
    for item in stats:
        name = item["name"]
        split = str(name.get("split") or "")
        if split and split not in splits:
            splits.append(split)
        if name.get("name") == "num_instances" and not name.get("perturbation"):
            mean = item.get("mean")
            used += float(mean) if is_number(mean) else 0.0
    dataset.split = ",".join(splits)
    dataset.samples_used = round(used)
    dataset.subset = limit is not None and dataset.samples_used >= limit


def _scorer_of(name: dict[str, Any]) -> str:
    perturbation = _dict(name.get("perturbation"))
    if not perturbation:
        return ORIGINAL
    label = str(perturbation.get("name") or "perturbation")
    if perturbation.get("computed_on"):
        label += f"/{perturbation['computed_on']}"
    return label


def _map_scores(result: EvaluationResult, stats: list[Any]) -> None:
    scores: dict[str, Score] = {}
    for item in stats:
        name = item["name"]
        scorer = _scorer_of(name)
        if scorer not in scores:
            scores[scorer] = Score(scorer=scorer)
        metric = Metric(name=str(name.get("name") or ""), split=str(name.get("split") or ""))
        set_metric_value(metric, item.get("mean"))
        scores[scorer].metrics.append(metric)
    result.scores.extend(scores.values())
