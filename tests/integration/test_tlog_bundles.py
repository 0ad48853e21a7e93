"""`evalfed get --bundle` against the origin's real node carries a tlog-proof to its latest
checkpoint and the origin's node binding; `evalfed verify` checks both offline, and a bundle
whose proof, checkpoint or binding was tampered with fails (exit 1) saying which."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.core.records import audience_from_text
from tests.conftest import Federation
from tests.conftest import run_cli as run
from tests.results import result

WAIT_S = 30.0


def _write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data))
    return path


def _flip_proof_hash(proof: str) -> str:
    """The tlog-proof text with one bit of its first inclusion hash flipped."""
    lines = proof.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("index ")) + 1
    raw = bytearray(base64.b64decode(lines[at]))
    raw[0] ^= 1
    lines[at] = base64.b64encode(bytes(raw)).decode()
    return "\n".join(lines)


@pytest.fixture
def node(make_node):
    """The US institute's node, keeping its logs' trees (they are off by default)."""
    return make_node("us-aisi", log_trees=True)


def test_bundle_proves_the_record_is_in_the_origins_log_and_tampering_fails_verify(
    node, cli_env: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members = audience_from_text("")
    with NodeClient(node.address, cli_env.keys["us-aisi"]) as client:
        ids = [o.id for o in publish_records(
            client, [new_result_record(result(value=v / 10), members) for v in range(3)]
        )]  # fmt: skip

    def signed() -> bool:
        checkpoint = node.indexer.trees.checkpoint(("us-aisi", ""))
        return checkpoint is not None and checkpoint.size == 3

    assert node.indexer.wait_until(signed, WAIT_S)
    bundle = tmp_path / "b.json"
    assert run(capsys, "get", ids[1], "--bundle", str(bundle))[0] == 0
    charter = str(cli_env.charter_path)
    code, out, _ = run(capsys, "verify", str(bundle), "--federation", charter)
    assert code == 0 and "in the log: leaf 1 of evalfed.v1/" in out and "size 3" in out
    data = json.loads(bundle.read_text())

    bad = _write(tmp_path / "p.json", {**data, "tlogProof": _flip_proof_hash(data["tlogProof"])})
    code, out, err = run(capsys, "verify", str(bad), "--federation", charter)
    assert code == 1 and "does not lead from the record to the checkpoint's root" in err

    note = data["tlogProof"].replace("\n3\n", "\n4\n", 1)  # the checkpoint's size
    bad = _write(tmp_path / "n.json", {**data, "tlogProof": note})
    code, out, err = run(capsys, "verify", str(bad), "--federation", charter)
    assert code == 1 and "not signed by us-aisi's node key" in err

    unbound = {k: v for k, v in data.items() if k != "originBinding"}
    code, out, err = run(
        capsys, "verify", str(_write(tmp_path / "u.json", unbound)), "--federation", charter
    )
    assert code == 1 and "without the origin's node binding" in err
