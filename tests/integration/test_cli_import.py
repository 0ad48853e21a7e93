"""Publishing real result files and folders, the dry run, compare and the Every Eval Ever export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evalfed.client.importers import load_results
from tests.conftest import Federation
from tests.conftest import run_cli as run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
INSPECT = FIXTURES / "inspect" / "llm-scoring-grader.json"
LM_EVAL = FIXTURES / "lm_eval" / "results-v0.4.json"
PYTHIA = FIXTURES / "lm_eval" / "pythia-160m-v0.3.json"
HELM = FIXTURES / "helm" / "mmlu-philosophy-gpt2"
NO_MODEL = FIXTURES / "lm_eval" / "stderr-na-string.json"


def ids(out: str) -> list[str]:
    lines = out.split()
    assert all(len(line) == 64 for line in lines)
    return lines


def test_publish_real_files_and_republish(
    cli_env: Federation, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [*sorted((FIXTURES / "inspect").glob("*.json")), LM_EVAL, PYTHIA, HELM]
    expected = sum(len(load_results(f)) for f in files)
    code, out, err = run(capsys, "publish", *map(str, files))
    assert code == 0, err
    assert len(set(ids(out))) == expected
    assert f"published {expected}, skipped (already published) 0, refused 0" in err

    code, again, err = run(capsys, "publish", str(LM_EVAL))
    assert code == 0
    assert "already published as" in err and "skipped (already published) 2" in err
    assert set(ids(again)) <= set(ids(out))


def test_publish_folder_with_corrupt_and_unnamed_files(
    cli_env: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "results"
    (folder / "nested").mkdir(parents=True)
    shutil.copy(INSPECT, folder / "inspect.json")
    shutil.copy(LM_EVAL, folder / "nested" / "lm.json")
    shutil.copy(NO_MODEL, folder / "no-model.json")
    shutil.copytree(HELM, folder / "nested" / "helm-run")
    (folder / "corrupt.json").write_text('{"eval": {"task": ')

    code, out, err = run(capsys, "publish", str(folder))
    assert code == 1
    assert len(ids(out)) == 1 + 2 + 1  # inspect, two lm-eval tasks, one HELM run
    assert "published 4, skipped (already published) 0, refused 2" in err
    assert f"refused {folder / 'corrupt.json'}:" in err
    assert f"refused {folder / 'no-model.json'}:" in err and "names no model" in err
    assert "helm-run/" not in err  # the HELM folder is one source, not its files

    code, out, _ = run(capsys, "query", "--model", "openai/gpt2", "--json")
    assert code == 0 and len(out.splitlines()) == 1


def test_import_print_is_a_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "import", "--print", str(LM_EVAL), str(INSPECT))
    assert code == 0, err
    assert out.count("stripped: pretty_env_info") == 2
    assert out.count("stripped: nothing") == 1
    assert '"model": {' in out and "math_perturbed_full" in out

    code, out, err = run(capsys, "import", "--print", str(NO_MODEL))
    assert code == 1 and "names no model" in err and out == ""


def test_compare_by_model_and_task(cli_env: Federation, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "publish", str(LM_EVAL), str(PYTHIA), str(INSPECT))[0] == 0
    lm = {i.result.task.name: i.result for i in load_results(LM_EVAL)}
    model = next(iter(lm.values())).model.id

    code, out, _ = run(capsys, "compare", "--model", model, "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["task"] for r in rows} == set(lm)
    for row in rows:
        metric = lm[row["task"]].scores[0].metrics[0]
        cell = row["institutes"]["us-aisi"]
        assert row["model"] == model and list(row["institutes"]) == ["us-aisi"]
        assert (row["metric"], cell["value"], cell["stderr"]) == (
            metric.name,
            metric.value,
            metric.stderr,
        )
        assert cell["samples"] == 5000 and cell["signature"] == "ok" and cell["marks"] == []
        assert row["verdict"] == "single"

    code, out, _ = run(capsys, "compare", "--task", "sciq", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["metric"], r["institutes"]["us-aisi"]["value"]) for r in rows] == [
        ("acc", 0.779),
        ("acc_norm", 0.773),
    ]
    assert rows[0]["institutes"]["us-aisi"]["stderr"] == 0.013127502859696258

    code, out, _ = run(capsys, "compare", "--task", "simpleqa_verified")
    assert code == 0
    assert "us-aisi" in out and "0.431 ± 0.01567" in out and "single" in out

    code, out, _ = run(capsys, "compare")
    assert code == 0 and "sciq" in out and "simpleqa_verified" in out


def test_export_every_eval_ever(
    cli_env: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "publish", str(LM_EVAL), str(INSPECT))
    assert code == 0
    record_ids = ids(out)
    folder = tmp_path / "eee"
    code, out, err = run(
        capsys, "export", "--format", "every-eval-ever", "--out", str(folder), "--task", "sciq"
    )
    assert code == 0 and out == "" and "wrote 0 file(s)" in err

    code, out, err = run(capsys, "export", "--format", "every-eval-ever", "--out", str(folder))
    assert code == 0, err
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{i}.json" for i in record_ids)

    sources = {i.result.task.name: i.result for f in (LM_EVAL, INSPECT) for i in load_results(f)}
    for path in folder.iterdir():
        data = json.loads(path.read_text())
        result = sources[data["evaluation_results"][0]["evaluation_name"]]
        assert data["schema_version"] == "0.2.1"
        assert data["model_info"]["id"] == result.model.id
        details = data["source_metadata"]["additional_details"]
        assert details["evalfed_record_id"] == path.stem
        assert details["evalfed_origin"] == "us-aisi"
        assert details["evalfed_signature"] == "valid"
        assert data["source_metadata"]["source_organization_name"] == "us-aisi"
        metric = result.scores[0].metrics[0]
        first = data["evaluation_results"][0]
        assert first["metric_config"]["evaluation_description"] == metric.name
        assert first["score_details"]["score"] == metric.value
        uncertainty = first["score_details"]["uncertainty"]
        assert uncertainty["standard_error"]["value"] == metric.stderr
        assert uncertainty["num_samples"] == result.dataset.samples_used
