"""Inspect logs, `.json` and `.eval`, read from their header only: samples are never loaded.

A `.json` log is streamed up to its `samples` key (see `jsonstream`). An `.eval` log is a zip
whose `header.json` holds the same header; a run still in progress (or killed) has only
`_journal/start.json`, which gives the spec and plan with status `started`.

Mapping (source field -> EvaluationResult):
  eval.model -> model.id (developer from its prefix); eval.model_args -> model.args
  scorer params / eval.scorers options naming a model (grader_model, model, judge_model) and
  eval.model_roles named grader/judge/scorer -> grader_models and score.grader_model
  eval.task, task_version, task_args -> task.name, version, args
  eval.revision.origin, commit -> task.suite, suite_commit (credentials removed)
  eval.dataset name (or location), samples, sample_ids -> dataset.name, total_samples,
  sample_ids_sha256; results.completed_samples / epochs -> dataset.samples_used;
  subset when fewer were used than the dataset holds (a limit, a sample_id filter, a stop)
  status, stats.started_at/completed_at, config.epochs/limit, run_id, error.message,
  plan.config + eval.model_generate_config -> run.*; packages.inspect_ai -> framework_version
  results.scores[] -> scores (one per scorer, named by its unique `name`); a `stderr` or
  `bootstrap_stderr` metric becomes the stderr of the metric it measures (accuracy, else mean,
  else the scorer's only other metric); scored_samples -> metric.n
  stats.model_usage -> usage
"""

from __future__ import annotations

import lzma
import zipfile
import zlib
from pathlib import Path
from typing import Any

from evalfed.client.importers.common import Imported, finish, not_recognized, sha256_file
from evalfed.client.importers.eval_zip import open_entry
from evalfed.client.importers.jsonstream import NotJsonError, read_json_head
from evalfed.client.importers.redact import Redactor
from evalfed.client.importers.values import (
    UINT32_MAX,
    as_count,
    developer_of,
    fill_struct,
    sample_ids_sha256,
    set_metric_stderr,
    set_metric_value,
    set_time,
    version_text,
)
from evalfed.core.errors import InvalidInputError
from evalfed.v1.record_pb2 import EvaluationResult, Metric, Model, Run, Score, Usage

FRAMEWORK = "inspect_ai"
HEADER_ENTRY = "header.json"
START_ENTRY = "_journal/start.json"
STDERR_METRICS = ("stderr", "bootstrap_stderr")
STDERR_OWNERS = ("accuracy", "mean")
GRADER_KEYS = frozenset(
    {"grader_model", "grader_models", "judge_model", "judge", "model", "models"}
)
GRADER_ROLES = ("grader", "judge", "scorer")
STATUS = {
    "success": Run.STATUS_SUCCESS,
    "cancelled": Run.STATUS_CANCELLED,
    "error": Run.STATUS_ERROR,
    "started": Run.STATUS_STARTED,
}


# What zipfile raises on a damaged or unreadable archive, besides OSError: bad data from the
# deflate/bzip2/lzma decompressors, a truncated stream, an unknown method, an encrypted entry,
# a local header whose name is flagged UTF-8 but is not.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    UnicodeDecodeError,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    NotImplementedError,
    RuntimeError,
)


def is_inspect_header(head: Any) -> bool:
    """An Inspect log header: an `eval` spec naming a task and a model."""
    spec = head.get("eval") if isinstance(head, dict) else None
    return isinstance(spec, dict) and "task" in spec and "model" in spec


def load_inspect_json(path: Path, head: dict[str, Any]) -> list[Imported]:
    """An Inspect `.json` log whose header `head` was already streamed in."""
    return [_imported(path, head, "inspect-json", sha256_file(path))]


def load_inspect_eval(path: Path) -> list[Imported]:
    """An Inspect `.eval` log: its header entry only."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            entry = HEADER_ENTRY if HEADER_ENTRY in names else START_ENTRY
            if entry not in names:
                raise not_recognized(
                    path, f"it is a zip archive without {HEADER_ENTRY} or {START_ENTRY}"
                )
            with open_entry(path, archive, entry) as stream:
                head = read_json_head(stream)
    except _ZIP_ERRORS as exc:
        raise InvalidInputError(f"{path} is a damaged zip archive ({exc})") from None
    except NotJsonError as exc:
        raise InvalidInputError(f"{path}: the Inspect header is not valid JSON ({exc})") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not is_inspect_header(head):
        raise not_recognized(path, f"its {entry} is not an Inspect log header")
    if entry == START_ENTRY:
        head.setdefault("status", "started")
    return [_imported(path, head, "inspect-eval", sha256_file(path))]


def _imported(path: Path, head: dict[str, Any], fmt: str, sha256: str) -> Imported:
    redactor = Redactor()
    result = map_header(head, redactor)
    result.source.format = fmt
    result.source.format_version = version_text(head.get("version"))
    result.source.sha256 = sha256
    return finish(path, result, redactor.stripped)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def map_header(head: dict[str, Any], redactor: Redactor) -> EvaluationResult:
    """The evaluation result an Inspect log header states."""
    spec = _dict(head.get("eval"))
    result = EvaluationResult()
    _map_model(result, spec, redactor)
    _map_task(result, spec, redactor)
    _map_run(result, head, spec, redactor)
    _map_dataset(result, head, spec, redactor)
    _map_scores(result, head, spec, redactor)
    _map_usage(result, _dict(head.get("stats")))
    return result


def _map_model(result: EvaluationResult, spec: dict[str, Any], redactor: Redactor) -> None:
    model_id = str(spec.get("model") or "")
    result.model.id = model_id
    result.model.developer = developer_of(model_id)
    fill_struct(
        result.model.args, redactor.mapping(_dict(spec.get("model_args")), "eval.model_args")
    )


def _map_task(result: EvaluationResult, spec: dict[str, Any], redactor: Redactor) -> None:
    result.task.name = str(spec.get("task") or "")
    result.task.version = version_text(spec.get("task_version"))
    fill_struct(result.task.args, redactor.mapping(_dict(spec.get("task_args")), "eval.task_args"))
    revision = _dict(spec.get("revision"))
    result.task.suite = redactor.url(str(revision.get("origin") or ""), "eval.revision.origin")
    result.task.suite_commit = str(revision.get("commit") or "")


def _map_run(
    result: EvaluationResult, head: dict[str, Any], spec: dict[str, Any], redactor: Redactor
) -> None:
    run = result.run
    config = _dict(spec.get("config"))
    stats = _dict(head.get("stats"))
    run.framework = FRAMEWORK
    run.framework_version = str(_dict(spec.get("packages")).get(FRAMEWORK) or "")
    run.status = STATUS.get(str(head.get("status") or ""), Run.STATUS_UNSPECIFIED)
    set_time(run.started_at, stats.get("started_at") or spec.get("created"))
    set_time(run.completed_at, stats.get("completed_at"))
    epochs = as_count(config.get("epochs"), UINT32_MAX)
    if epochs:
        run.epochs = epochs
    limit = _limit(config.get("limit"))
    if limit is not None:
        run.limit = limit
    run.run_id = str(spec.get("run_id") or "")
    error = _dict(head.get("error"))
    if error.get("message"):
        run.error = redactor.scrub(str(error["message"]), "error.message")
    generation = {
        **redactor.mapping(_dict(_dict(head.get("plan")).get("config")), "plan.config"),
        **redactor.mapping(_dict(spec.get("model_generate_config")), "eval.model_generate_config"),
    }
    fill_struct(
        run.generation_config,
        {key: value for key, value in generation.items() if value is not None},
    )


def _limit(value: Any) -> int | None:
    """`limit: 10` or a range `limit: [5, 15]` as a sample count."""
    if isinstance(value, list) and len(value) == 2:
        start, end = as_count(value[0]), as_count(value[1])
        return end - start if start is not None and end is not None and end >= start else None
    return as_count(value)


def _map_dataset(
    result: EvaluationResult, head: dict[str, Any], spec: dict[str, Any], redactor: Redactor
) -> None:
    dataset = result.dataset
    source = _dict(spec.get("dataset"))
    name = redactor.text(str(source.get("name") or ""), "eval.dataset.name")
    if not name:
        name = redactor.text(str(source.get("location") or ""), "eval.dataset.location")
    dataset.name = name
    dataset.sample_ids_sha256 = sample_ids_sha256(source.get("sample_ids"))
    total = as_count(source.get("samples"))
    if total is not None:
        dataset.total_samples = total
    results = _dict(head.get("results"))
    config = _dict(spec.get("config"))
    epochs = as_count(config.get("epochs"), UINT32_MAX) or 1
    used = as_count(results.get("completed_samples"))
    if used is None:
        used = as_count(results.get("total_samples"))
    if used is not None:
        dataset.samples_used = used // epochs
        dataset.subset = total is not None and dataset.samples_used < total
    else:
        limit = _limit(config.get("limit"))
        limited = limit is not None and total is not None and limit < total
        dataset.subset = limited or head.get("status") != "success"


def _map_scores(
    result: EvaluationResult, head: dict[str, Any], spec: dict[str, Any], redactor: Redactor
) -> None:
    graders: list[Model] = []
    for role, config in _dict(spec.get("model_roles")).items():
        if any(word in str(role).lower() for word in GRADER_ROLES):
            _collect_graders(config, f"eval.model_roles.{role}", graders, redactor)
    scorer_options = {
        str(scorer.get("name")): (_dict(scorer.get("options")), f"eval.scorers[{index}].options")
        for index, scorer in enumerate(spec.get("scorers") or [])
        if isinstance(scorer, dict)
    }
    config = _dict(spec.get("config"))
    reducers = config.get("epochs_reducer")
    default_reducer = reducers[0] if isinstance(reducers, list) and len(reducers) == 1 else ""
    for index, source in enumerate(_scores_of(_dict(head.get("results")))):
        if not isinstance(source, dict):
            continue
        score = Score(scorer=str(source.get("name") or source.get("scorer") or ""))
        score.reducer = str(source.get("reducer") or default_reducer or "")
        found: list[Model] = []
        params_path = f"results.scores[{index}].params"
        _collect_graders(_dict(source.get("params")), params_path, found, redactor)
        if not found and str(source.get("scorer")) in scorer_options:
            options, options_path = scorer_options[str(source.get("scorer"))]
            _collect_graders(options, options_path, found, redactor)
        if found:
            score.grader_model = found[0].id
        graders.extend(found)
        score.metrics.extend(_metrics(_dict(source.get("metrics")), source.get("scored_samples")))
        result.scores.append(score)
    seen: set[str] = set()
    for grader in graders:
        if grader.id not in seen:
            seen.add(grader.id)
            result.grader_models.append(grader)


def _scores_of(results: dict[str, Any]) -> list[Any]:
    """`results.scores`, or the one score of early logs (`results.scorer` + `results.metrics`)."""
    legacy = results.get("scorer")
    if isinstance(legacy, dict) and "scores" not in results:
        score = {**legacy, "metrics": _dict(results.get("metrics"))}
        score.setdefault("scorer", legacy.get("name"))
        return [score]
    scores = results.get("scores")
    return scores if isinstance(scores, list) else []


def _collect_graders(value: Any, path: str, found: list[Model], redactor: Redactor) -> None:
    """Models named in scorer params: a "provider/model" string, {model: ...}, or a list."""
    if isinstance(value, str):
        if "/" in value and " " not in value.strip() and len(value) < 256:
            found.append(Model(id=value.strip(), developer=developer_of(value.strip())))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _collect_graders(item, f"{path}[{index}]", found, redactor)
    elif isinstance(value, dict):
        if isinstance(value.get("model"), str):
            before = len(found)
            _collect_graders(value["model"], path, found, redactor)
            args = redactor.mapping(_dict(value.get("model_args")), f"{path}.model_args")
            if len(found) > before:
                fill_struct(found[-1].args, args)
            return
        for key, item in value.items():
            if str(key).lower() in GRADER_KEYS:
                _collect_graders(item, f"{path}.{key}", found, redactor)


def _metric_value(entry: Any) -> Any:
    return entry.get("value") if isinstance(entry, dict) else entry


def _metrics(source: dict[str, Any], scored_samples: Any) -> list[Metric]:
    """Metrics in source order; the first stderr becomes the stderr of the metric it measures."""
    names = [str(name) for name in source]
    others = [name for name in names if name not in STDERR_METRICS]
    owner = next((name for name in STDERR_OWNERS if name in others), None)
    if owner is None and len(others) == 1:
        owner = others[0]
    attached = next((name for name in names if name in STDERR_METRICS), None) if owner else None
    n = as_count(scored_samples)
    metrics: list[Metric] = []
    for name in names:
        if name == attached:
            continue
        metric = Metric(name=name)
        set_metric_value(metric, _metric_value(source[name]))
        if name == owner and attached is not None:
            set_metric_stderr(metric, _metric_value(source[attached]))
        if n is not None:
            metric.n = n
        metrics.append(metric)
    return metrics


def _map_usage(result: EvaluationResult, stats: dict[str, Any]) -> None:
    for model, counts in _dict(stats.get("model_usage")).items():
        if not isinstance(counts, dict):
            continue
        usage = Usage(model=str(model))
        for field, key in (
            ("input_tokens", "input_tokens"),
            ("output_tokens", "output_tokens"),
            ("total_tokens", "total_tokens"),
            ("reasoning_tokens", "reasoning_tokens"),
            ("cache_read_tokens", "input_tokens_cache_read"),
            ("cache_write_tokens", "input_tokens_cache_write"),
        ):
            count = as_count(counts.get(key))
            if count:
                setattr(usage, field, count)
        result.usage.append(usage)
