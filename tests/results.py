"""Small evaluation results for tests, built the way a user's result file would be."""

from __future__ import annotations

from evalfed.v1.record_pb2 import EvaluationResult, Metric, Score


def result(
    model: str = "openai/gpt-4o-mini", task: str = "gpqa", value: float = 0.5
) -> EvaluationResult:
    r = EvaluationResult()
    r.model.id = model
    r.model.developer = model.split("/")[0]
    r.task.name = task
    r.task.version = "1"
    r.scores.append(
        Score(scorer="choice", metrics=[Metric(name="accuracy", value=value, stderr=0.01)])
    )
    return r
