"""lm-evaluation-harness results files: one evaluation result per task in `results`.

Two shapes: 0.4 keys metrics as `metric,filter` (`acc,none`, `acc_stderr,none`) and adds
`n-samples`, `n-shot`, `configs`, `higher_is_better`; 0.3 keys them bare (`acc`, `acc_stderr`).

Mapping (source field -> EvaluationResult):
  model_name, else config.model_args pretrained=/model=/... -> model.id (a local path gives only
  its last part); the HF organisation, or the API backend (openai-*, anthropic-*) -> developer;
  model_sha, else model_args revision, else config.model_revision -> model.version;
  parsed config.model_args -> model.args
  task key, versions[task], n-shot[task] (0.3: config.num_fewshot), configs[task] -> task.name,
  version, num_fewshot, args; the group listing the task -> task.suite; git_hash -> suite_commit
  configs[task] dataset_path[:dataset_name], dataset_kwargs.revision, test/validation split,
  n-samples original/effective (or sample_len) -> dataset.*; subset when effective < original
  or, without counts, when a limit was set
  lm_eval_version, date (start, Unix seconds), date + total_evaluation_time_seconds, config.limit,
  configs[task].repeats, generation_kwargs + config.gen_kwargs -> run.*; status SUCCESS (the
  harness writes this file only for a finished run)
  results[task] -> one score per filter (scorer = the filter; 0.3: "default"), each metric with
  its stderr; "N/A" stays text (stderr_text), NaN/inf stay floats, a missing stderr stays
  absent; higher_is_better[task][metric] and the effective sample count -> metric fields
The environment dump `pretty_env_info` is never carried and is listed as stripped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalfed.client.importers.common import Imported, finish, sha256_file
from evalfed.client.importers.redact import Redactor, is_local_path
from evalfed.client.importers.values import (
    UINT32_MAX,
    as_count,
    developer_of,
    fill_struct,
    is_number,
    set_metric_stderr,
    set_metric_value,
    set_unix_time,
    version_text,
)
from evalfed.v1.record_pb2 import EvaluationResult, Metric, Run, Score

FRAMEWORK = "lm-evaluation-harness"
MARKER_KEYS = ("versions", "n-shot", "n-samples", "configs", "config", "higher_is_better")
NOT_METRICS = frozenset({"alias", "name", "sample_len", "sample_count", "samples", " "})
MODEL_ARG_KEYS = ("pretrained", "model", "model_name", "path", "engine", "deployment_name")
ENV_DUMPS = ("pretty_env_info",)
LEGACY_SCORER = "default"


def is_lm_eval_results(head: Any) -> bool:
    """A dict of per-task result dicts beside at least one of the harness's other keys."""
    if not isinstance(head, dict) or not isinstance(head.get("results"), dict):
        return False
    tasks = head["results"]
    return (
        bool(tasks)
        and all(isinstance(entry, dict) for entry in tasks.values())
        and any(key in head for key in MARKER_KEYS)
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_v04(data: dict[str, Any]) -> bool:
    return any(
        "," in str(key) for entry in _dict(data.get("results")).values() for key in _dict(entry)
    ) or any(key in data for key in ("n-samples", "configs", "lm_eval_version"))


def load_lm_eval(path: Path, data: dict[str, Any]) -> list[Imported]:
    """Every task's result in an lm-eval results file already parsed into `data`."""
    sha256 = sha256_file(path)
    format_version = "0.4" if _is_v04(data) else "0.3"
    imported = []
    for task in _dict(data.get("results")):
        redactor = Redactor()
        for key in ENV_DUMPS:
            if data.get(key):
                redactor.note(key)
        result = map_task(data, str(task), redactor)
        result.source.format = "lm-eval"
        result.source.format_version = format_version
        result.source.sha256 = sha256
        imported.append(finish(path, result, redactor.stripped))
    return imported


def parse_model_args(value: Any) -> dict[str, Any]:
    """`pretrained=org/name,revision=step1` (or a dict) as a dict; values stay as written."""
    if isinstance(value, dict):
        return dict(value)
    if not isinstance(value, str):
        return {}
    args: dict[str, Any] = {}
    for part in value.split(","):
        if not part.strip():
            continue
        key, sep, item = part.partition("=")
        args[key.strip()] = item.strip() if sep else ""
    return args


def map_task(data: dict[str, Any], task: str, redactor: Redactor) -> EvaluationResult:
    """The evaluation result of one task of an lm-eval results file."""
    result = EvaluationResult()
    config = _dict(data.get("config"))
    task_config = _dict(_dict(data.get("configs")).get(task))
    _map_model(result, data, config, redactor)
    _map_task(result, data, config, task_config, task, redactor)
    _map_dataset(result, data, config, task_config, task)
    _map_run(result, data, config, task_config, task, redactor)
    _map_scores(result, data, task)
    return result


def _map_model(
    result: EvaluationResult, data: dict[str, Any], config: dict[str, Any], redactor: Redactor
) -> None:
    raw_args = parse_model_args(config.get("model_args"))
    named = next((str(raw_args[key]) for key in MODEL_ARG_KEYS if raw_args.get(key)), "")
    model_id = str(data.get("model_name") or "") or named
    if is_local_path(model_id):
        if data.get("model_name"):
            redactor.note("model_name")
        model_id = model_id.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    result.model.id = model_id
    backend = str(config.get("model") or "")
    developer = developer_of(model_id)
    if not developer:
        developer = next((org for org in ("openai", "anthropic") if backend.startswith(org)), "")
    result.model.developer = developer
    version = (
        config.get("model_sha")
        or data.get("model_sha")
        or raw_args.get("revision")
        or config.get("model_revision")
    )
    result.model.version = redactor.text(version_text(version), "model_sha")
    fill_struct(result.model.args, redactor.mapping(raw_args, "config.model_args"))


def _map_task(
    result: EvaluationResult,
    data: dict[str, Any],
    config: dict[str, Any],
    task_config: dict[str, Any],
    task: str,
    redactor: Redactor,
) -> None:
    result.task.name = task
    result.task.version = version_text(_dict(data.get("versions")).get(task))
    shots = _dict(data.get("n-shot")).get(task, config.get("num_fewshot"))
    if (fewshot := as_count(shots, UINT32_MAX)) is not None:
        result.task.num_fewshot = fewshot
    groups = _dict(data.get("group_subtasks"))
    result.task.suite = next(
        (str(group) for group, members in groups.items() if task in (members or [])), ""
    )
    result.task.suite_commit = str(data.get("git_hash") or "")
    fill_struct(result.task.args, redactor.mapping(task_config, f"configs.{task}"))


def _map_dataset(
    result: EvaluationResult,
    data: dict[str, Any],
    config: dict[str, Any],
    task_config: dict[str, Any],
    task: str,
) -> None:
    dataset = result.dataset
    name = str(task_config.get("dataset_path") or "")
    if name and task_config.get("dataset_name"):
        name = f"{name}:{task_config['dataset_name']}"
    dataset.name = "" if is_local_path(name) else name
    dataset.revision = version_text(_dict(task_config.get("dataset_kwargs")).get("revision"))
    dataset.split = str(task_config.get("test_split") or task_config.get("validation_split") or "")
    counts = _dict(_dict(data.get("n-samples")).get(task))
    original, effective = as_count(counts.get("original")), as_count(counts.get("effective"))
    if effective is None:
        effective = as_count(_dict(_dict(data.get("results")).get(task)).get("sample_len"))
    if original is not None:
        dataset.total_samples = original
    if effective is not None:
        dataset.samples_used = effective
    if original is not None and effective is not None:
        dataset.subset = effective < original
    else:
        dataset.subset = config.get("limit") not in (None, 0)


def _map_run(
    result: EvaluationResult,
    data: dict[str, Any],
    config: dict[str, Any],
    task_config: dict[str, Any],
    task: str,
    redactor: Redactor,
) -> None:
    run = result.run
    run.framework = FRAMEWORK
    run.framework_version = version_text(data.get("lm_eval_version"))
    run.status = Run.STATUS_SUCCESS
    started = _seconds(data.get("date"))
    set_unix_time(run.started_at, started)
    duration = _seconds(data.get("total_evaluation_time_seconds"))
    if started is not None and duration is not None:
        set_unix_time(run.completed_at, started + duration)
    limit = as_count(config.get("limit"))
    if limit:
        run.limit = limit
    repeats = as_count(task_config.get("repeats"), UINT32_MAX)
    if repeats:
        run.epochs = repeats
    generation = {
        **redactor.mapping(
            _dict(task_config.get("generation_kwargs")), f"configs.{task}.generation_kwargs"
        ),
        **redactor.mapping(parse_model_args(config.get("gen_kwargs")), "config.gen_kwargs"),
    }
    fill_struct(run.generation_config, generation)


def _seconds(value: Any) -> float | None:
    """A duration given as a number or, as lm-eval writes it, as text."""
    if is_number(value):
        return float(value)
    try:
        return float(value) if isinstance(value, str) else None
    except ValueError:
        return None


def split_metric_key(key: str) -> tuple[str, str, bool]:
    """`acc_stderr,none` -> ("acc", "none", True); 0.3's `acc` -> ("acc", "", False)."""
    name, _, metric_filter = key.partition(",")
    if name.endswith("_stderr"):
        return name[: -len("_stderr")], metric_filter, True
    return name, metric_filter, False


def _map_scores(result: EvaluationResult, data: dict[str, Any], task: str) -> None:
    entry = _dict(_dict(data.get("results")).get(task))
    better = _dict(_dict(data.get("higher_is_better")).get(task))
    n = as_count(_dict(_dict(data.get("n-samples")).get(task)).get("effective"))
    scores: dict[str, Score] = {}
    metrics: dict[tuple[str, str], Metric] = {}
    for key, value in entry.items():
        if key in NOT_METRICS or isinstance(value, dict | list):
            continue
        name, metric_filter, is_stderr = split_metric_key(str(key))
        scorer = metric_filter or LEGACY_SCORER
        if scorer not in scores:
            scores[scorer] = Score(scorer=scorer)
        metric = metrics.get((name, metric_filter))
        if metric is None:
            metric = scores[scorer].metrics.add(name=name, filter=metric_filter)
            metrics[(name, metric_filter)] = metric
            if isinstance(better.get(name), bool):
                metric.higher_is_better = better[name]
            if n is not None:
                metric.n = n
        if is_stderr:
            set_metric_stderr(metric, value)
        else:
            set_metric_value(metric, value)
    result.scores.extend(scores.values())
