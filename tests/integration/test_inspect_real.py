"""A real inspect_ai run (mockllm), its `.json` and `.eval` logs imported and published to a node.

Everything Inspect writes (logs, traces, caches) goes under the test's temporary folder. The
mock model is given its outputs with token usage set, so Inspect does not fetch a tokenizer to
count tokens (which needs the network).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pytest

from evalfed.client.importers import load_results
from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.core.records import audience_from_text, parse_record
from evalfed.v1.node_pb2 import QueryRequest
from evalfed.v1.record_pb2 import Run

pytest.importorskip("inspect_ai")
pytestmark = pytest.mark.filterwarnings(
    "ignore:The 'initial' parameter is deprecated:DeprecationWarning"
)

TARGETS = ("Paris", "4", "blue")
ANSWERS = ("Paris", "5", "blue")


LogFormat = Literal["json", "eval"]
FORMATS: tuple[LogFormat, ...] = ("json", "eval")


def run_inspect(root: Path, log_format: LogFormat) -> tuple[Path, Any]:
    """Runs a three-sample task on mockllm/model and returns its log file and EvalLog."""
    from inspect_ai import Task, eval
    from inspect_ai.dataset import Sample
    from inspect_ai.model import ModelOutput, ModelUsage
    from inspect_ai.scorer import includes
    from inspect_ai.solver import generate

    outputs = [ModelOutput.from_content(model="mockllm", content=answer) for answer in ANSWERS]
    for output in outputs:
        output.usage = ModelUsage(input_tokens=10, output_tokens=2, total_tokens=12)
    task = Task(
        dataset=[
            Sample(input="Capital of France?", target=TARGETS[0]),
            Sample(input="2 + 2?", target=TARGETS[1]),
            Sample(input="Colour of the sky?", target=TARGETS[2]),
        ],
        solver=generate(),
        scorer=includes(),
        name="evalfed_tiny",
    )
    log_dir = root / "logs" / log_format
    logs = eval(
        task,
        model="mockllm/model",
        model_args={"custom_outputs": outputs},
        log_dir=str(log_dir),
        log_format=log_format,
        display="none",
    )
    assert len(logs) == 1 and logs[0].status == "success"
    files = list(log_dir.glob(f"*.{log_format}"))
    assert len(files) == 1
    return files[0], logs[0]


@pytest.fixture(scope="module")
def inspect_logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Any]]:
    root = tmp_path_factory.mktemp("inspect")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(root / "data"))
        patch.setenv("XDG_CACHE_HOME", str(root / "cache"))
        patch.setenv("XDG_CONFIG_HOME", str(root / "config"))
        patch.setenv("INSPECT_LOG_DIR", str(root / "logs"))
        patch.chdir(root)
        return {fmt: run_inspect(root, fmt) for fmt in FORMATS}


@pytest.mark.timeout(120)
def test_real_inspect_logs_import(inspect_logs: dict[str, tuple[Path, Any]]) -> None:
    json_log = json.loads(inspect_logs["json"][0].read_text())
    own = json_log["results"]["scores"][0]["metrics"]
    assert own["accuracy"]["value"] == pytest.approx(2 / 3)
    for fmt, (path, log) in inspect_logs.items():
        imported = load_results(path)
        assert len(imported) == 1
        result = imported[0].result
        assert result.model.id == "mockllm/model"
        assert result.model.developer == "mockllm"
        assert result.task.name == "evalfed_tiny"
        assert result.dataset.total_samples == result.dataset.samples_used == 3
        assert not result.dataset.subset
        assert result.run.status == Run.STATUS_SUCCESS
        assert result.run.framework == "inspect_ai"
        assert result.run.framework_version == log.eval.packages["inspect_ai"]
        assert result.run.run_id == log.eval.run_id
        assert result.source.format == f"inspect-{fmt}"
        [score] = result.scores
        assert score.scorer == "includes"
        [accuracy] = score.metrics
        assert accuracy.name == "accuracy"
        assert accuracy.value == log.results.scores[0].metrics["accuracy"].value
        assert accuracy.stderr == log.results.scores[0].metrics["stderr"].value
        if fmt == "json":
            assert accuracy.value == own["accuracy"]["value"]
            assert accuracy.stderr == own["stderr"]["value"]
        [usage] = result.usage
        assert (usage.model, usage.input_tokens, usage.output_tokens) == ("mockllm/model", 30, 6)


@pytest.mark.timeout(120)
def test_real_inspect_logs_publish_and_query_back(
    inspect_logs: dict[str, tuple[Path, Any]], us_client: NodeClient
) -> None:
    imported = [item for path, _ in inspect_logs.values() for item in load_results(path)]
    bodies = [new_result_record(item.result, audience_from_text("")) for item in imported]
    first = publish_records(us_client, bodies)
    assert [o.existed for o in first] == [False, False]

    stored = list(us_client.query(QueryRequest(model="mockllm/model")))
    assert sorted(s.id for s in stored) == sorted(o.id for o in first)
    by_id = {s.id: parse_record(s.envelope).result for s in stored}
    for item, outcome in zip(imported, first, strict=True):
        assert by_id[outcome.id] == item.result

    again = [item for path, _ in inspect_logs.values() for item in load_results(path)]
    bodies = [new_result_record(item.result, audience_from_text("")) for item in again]
    second = publish_records(us_client, bodies)
    assert [o.existed for o in second] == [True, True]
    assert [o.id for o in second] == [o.id for o in first]
    assert len(list(us_client.query(QueryRequest(model="mockllm/model")))) == 2
