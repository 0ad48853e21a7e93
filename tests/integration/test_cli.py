"""The `evalfed` command against a real node: the contract's commands, outputs and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Federation
from tests.conftest import run_cli as run

RESULT = {
    "model": {"id": "openai/gpt-4o-mini", "developer": "OpenAI"},
    "task": {"name": "gpqa", "version": "1"},
    "scores": [
        {
            "scorer": "choice",
            "metrics": [
                {"name": "accuracy", "value": 0.61, "stderr": 0.02},
                {"name": "calibration", "value": "NaN"},
            ],
        }
    ],
}


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_publish_query_get_verify(
    cli_env: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(tmp_path / "r.json", RESULT)
    code, out, _ = run(capsys, "publish", str(source))
    assert code == 0
    record_id = out.strip()
    assert len(record_id) == 64

    code, out, err = run(capsys, "publish", str(source))
    assert code == 0 and out.strip() == record_id and "already published" in err

    code, out, _ = run(capsys, "query", "--model", "openai/gpt-4o-mini", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["id"], r["origin"], r["seq"]) for r in rows] == [(record_id, "us-aisi", 1)]
    metrics = rows[0]["result"]["scores"][0]["metrics"]
    assert metrics[0] == {"name": "accuracy", "value": 0.61, "stderr": 0.02}
    assert metrics[1]["value"] == "NaN"

    code, out, _ = run(capsys, "query", "--task", "gpqa")
    assert code == 0 and "gpqa" in out and "accuracy=0.61 ± 0.02" in out
    code, out, _ = run(capsys, "query", "--task", "mmlu", "--json")
    assert code == 0 and out == ""

    bundle = tmp_path / "b.json"
    assert run(capsys, "get", record_id, "--bundle", str(bundle))[0] == 0
    code, out, _ = run(capsys, "verify", str(bundle), "--federation", str(cli_env.charter_path))
    assert code == 0 and "valid" in out

    data = json.loads(bundle.read_text())
    sig = bytearray(__import__("base64").b64decode(data["record"]["signatures"][0]["sig"]))
    sig[0] ^= 1
    data["record"]["signatures"][0]["sig"] = __import__("base64").b64encode(bytes(sig)).decode()
    bad = write(tmp_path / "bad.json", data)
    code, _, err = run(capsys, "verify", str(bad), "--federation", str(cli_env.charter_path))
    assert code == 1 and "signature" in err


def test_bad_inputs_exit_non_zero_and_store_nothing(
    cli_env: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing_task = write(tmp_path / "m.json", {**RESULT, "task": {"version": "1"}})
    code, _, err = run(capsys, "publish", str(missing_task))
    assert code == 1 and "task.name" in err

    malformed = tmp_path / "bad.json"
    malformed.write_text("{not json: [")
    code, _, err = run(capsys, "publish", str(malformed))
    assert code == 1 and "error:" in err

    unknown_field = write(tmp_path / "u.json", {**RESULT, "modell": {}})
    code, _, err = run(capsys, "publish", str(unknown_field))
    assert code == 1 and "modell" in err

    good = write(tmp_path / "r.json", RESULT)
    code, _, err = run(capsys, "publish", str(good), "--key", str(cli_env.pub_path("us-aisi")))
    assert code == 1 and "public key" in err

    code, _, err = run(capsys, "publish", str(good), "--key", str(cli_env.key_path("jp-aisi")))
    assert code == 1 and "not the key of any member" in err

    code, _, err = run(capsys, "publish", str(good), "--key", str(cli_env.key_path("uk-aisi")))
    assert code == 1 and "own institute's node" in err

    code, out, _ = run(capsys, "query", "--json")
    assert code == 0 and out == ""


def test_keys_and_federation_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = tmp_path / "keys"
    for name in ("us-aisi", "uk-aisi"):
        code, out, _ = run(capsys, "keys", "generate", name, "--out", str(keys))
        assert code == 0 and len(out.strip().splitlines()[-1]) == 64
    code, _, err = run(capsys, "keys", "generate", "us-aisi", "--out", str(keys))
    assert code == 1 and "refusing to overwrite" in err

    charter = tmp_path / "fed.json"
    us_pub, uk_pub = keys / "us-aisi.pub", keys / "uk-aisi.pub"
    founders = ["--founder", f"us-aisi={us_pub}", "--founder", f"uk-aisi={uk_pub}"]
    init = ["federation", "init", str(charter), "--threshold", "2", *founders]
    code, out, _ = run(capsys, *init, "--sign", str(keys / "us-aisi.key"))
    assert code == 0 and "still to sign: uk-aisi" in out
    node_init = ["node", "init", str(tmp_path / "n"), "--institute", "us-aisi"]
    fed = ["--federation", str(charter)]
    us_key, uk_key = keys / "us-aisi.key", keys / "uk-aisi.key"
    code, _, err = run(capsys, *node_init, "--key", str(us_key), *fed)
    assert code == 1 and "uk-aisi" in err
    code, out, _ = run(
        capsys, "federation", "sign", str(charter), "--key", str(keys / "uk-aisi.key")
    )
    assert code == 0 and "federation id" in out
    code, _, err = run(capsys, *node_init, "--key", str(uk_key), *fed)
    assert code == 1 and "not us-aisi's key" in err
    code, _, err = run(capsys, *node_init, "--key", str(us_pub), *fed)
    assert code == 1 and "private key once" in err
    code, out, _ = run(capsys, *node_init, "--key", str(us_key), *fed, "--listen", "127.0.0.1:0")
    assert code == 0 and (tmp_path / "n" / "node.toml").exists()
