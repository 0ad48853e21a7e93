"""`evalfed publish` over a folder's worth of result files: one run, within the node's rate."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from evalfed.client.node_client import NodeClient
from evalfed.client.publish_files import PARALLEL_READ_MIN
from evalfed.core.limits import MAX_PAYLOAD_BYTES
from evalfed.core.records import audience_text, parse_record
from tests.conftest import Federation, run_cli

FILES = 20_000


def write_results(folder: Path, count: int) -> list[str]:
    """`count` small result files, each a distinct task's, as a harness would leave them."""
    folder.mkdir()
    names = []
    for i in range(count):
        path = folder / f"result-{i:05d}.json"
        result = {
            "model": {"id": "openai/gpt-4o-mini"},
            "task": {"name": f"task-{i}"},
            "scores": [{"scorer": "s", "metrics": [{"name": "accuracy", "value": i / count}]}],
        }
        path.write_text(json.dumps(result))
        names.append(str(path))
    return names


def refusals(caplog: pytest.LogCaptureFixture, error: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if error in r.getMessage()]


def stored_seqs(node: object, federation: Federation) -> int:
    with NodeClient(node.address, federation.keys["us-aisi"]) as client:  # type: ignore[attr-defined]
        return client.head().seq


@pytest.mark.timeout(300)
@pytest.mark.parametrize("new_database", ["sqlite"], indirect=True)
def test_twenty_thousand_files_publish_in_one_command_within_the_rate_limit(
    node: object,
    cli_env: Federation,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    names = write_results(tmp_path / "results", FILES)
    caplog.set_level(logging.INFO, logger="evalfed.server.guard")

    code, out, err = run_cli(capsys, "publish", *names)

    assert code == 0, err[-2000:]
    assert f"published {FILES}, skipped (already published) 0, refused 0" in err
    ids = out.split()
    assert len(ids) == FILES and len(set(ids)) == FILES
    assert stored_seqs(node, cli_env) == FILES
    # The default rate limit is never reached: batching needs no retry at all. (SQLite only:
    # this is the client's batching; PostgreSQL stores batches in test_publish.py.)
    assert refusals(caplog, "RateLimitError") == []


def test_a_rate_limited_publish_waits_as_the_node_says_and_stores_everything(
    make_node: object,
    federation: Federation,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    node = make_node("us-aisi", rate_per_caller=2.0, rate_burst=1)  # type: ignore[operator]
    names = write_results(tmp_path / "results", 300)
    caplog.set_level(logging.INFO, logger="evalfed.server.guard")
    key = str(federation.key_path("us-aisi"))

    code, out, err = run_cli(capsys, "publish", "--node", node.address, "--key", key, *names)

    assert code == 0, err
    assert "published 300, skipped (already published) 0, refused 0" in err
    assert len(out.split()) == 300
    assert stored_seqs(node, federation) == 300
    # The node did refuse calls over its rate, with a hint the client waited out.
    assert refusals(caplog, "RateLimitError")


def test_an_unreadable_file_among_many_is_refused_and_the_others_published(
    cli_env: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "results"
    write_results(folder, 6)
    (folder / "result-00003.json").write_text("{not json")

    code, out, err = run_cli(capsys, "publish", str(folder))

    assert code == 1
    assert len(out.split()) == 5
    assert "published 5, skipped (already published) 0, refused 1" in err
    assert f"refused {folder / 'result-00003.json'}: " in err


@pytest.mark.timeout(120)
def test_a_file_the_node_refuses_mid_stream_is_named_and_the_rest_published(
    node: object, cli_env: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The node refuses a whole batch for one record it will not take (here a payload over
    MAX_PAYLOAD_BYTES, which reading does not check): the batch is published again in halves
    until the refusal names that file, and the stream goes on to the files after it. Every
    record, those published again included, keeps the audience the command was given."""
    folder = tmp_path / "results"
    count = PARALLEL_READ_MIN + 300
    write_results(folder, count)
    oversized = folder / "result-00400.json"
    result = json.loads(oversized.read_text())
    result["notes"] = "x" * MAX_PAYLOAD_BYTES
    oversized.write_text(json.dumps(result))

    code, out, err = run_cli(capsys, "publish", str(folder), "--audience", "uk-aisi")

    assert code == 1, err[-2000:]
    assert f"published {count - 1}, skipped (already published) 0, refused 1" in err
    assert f"refused {oversized}: " in err and "MAX_PAYLOAD_BYTES" in err
    ids = out.split()
    assert len(set(ids)) == count - 1
    with NodeClient(node.address, cli_env.keys["us-aisi"]) as client:  # type: ignore[attr-defined]
        stored = [parse_record(client.get(i).record.envelope) for i in ids]
    assert {audience_text(record.audience) for record in stored} == {"uk-aisi"}
