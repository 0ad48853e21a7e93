"""`evalfed verify --witness-policy`: a bundle's checkpoint from a real node counts only the
cosignatures of the policy's witnesses, each checked, against its k-of-n quorum; too few,
an impostor's under a witness's name, or one altered, and verify fails (exit 1)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.core.note import Cosigner, TlogProof, add_cosignature, parse_tlog_proof
from evalfed.core.records import audience_from_text
from evalfed.keys import PrivateKey
from tests.conftest import Federation
from tests.conftest import run_cli as run
from tests.results import result

WAIT_S = 30.0
WITNESSES = ("uk-aisi", "ca-aisi", "fr-inesia")
COSIGNED_AT = 1_796_000_000


@pytest.fixture
def node(make_node):
    return make_node("us-aisi", log_trees=True)


@pytest.fixture
def bundle(node, cli_env: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    """A bundle of a record of the node's, with its tlog-proof to the latest checkpoint."""
    with NodeClient(node.address, cli_env.keys["us-aisi"]) as client:
        (published,) = publish_records(
            client, [new_result_record(result(), audience_from_text(""))]
        )

    def signed() -> bool:
        checkpoint = node.indexer.trees.checkpoint(("us-aisi", ""))
        return checkpoint is not None and checkpoint.size == 1

    assert node.indexer.wait_until(signed, WAIT_S)
    path = tmp_path / "bundle.json"
    assert run(capsys, "get", published.id, "--bundle", str(path))[0] == 0
    return json.loads(path.read_text())


def cosigned(bundle: dict, *cosigners: Cosigner) -> dict:
    """The bundle with these cosignatures added to its proof's checkpoint."""
    proof = parse_tlog_proof(bundle["tlogProof"].encode())
    note = proof.checkpoint
    for cosigner in cosigners:
        note = add_cosignature(note, cosigner, COSIGNED_AT)
    text = TlogProof(proof.index, proof.inclusion, note).to_bytes().decode()
    return {**bundle, "tlogProof": text}


def verify(capsys, tmp_path: Path, federation: Federation, bundle: dict, policy: str):
    bundle_path, policy_path = tmp_path / "checked.json", tmp_path / "policy.txt"
    bundle_path.write_text(json.dumps(bundle))
    policy_path.write_text(policy)
    charter = str(federation.charter_path)
    return run(capsys, "verify", str(bundle_path), "--federation", charter,
               "--witness-policy", str(policy_path))  # fmt: skip


@pytest.fixture
def witnesses() -> dict[str, Cosigner]:
    return {name: Cosigner(f"{name}/witness", PrivateKey.generate()) for name in WITNESSES}


def two_of_three(witnesses: dict[str, Cosigner]) -> str:
    lines = [f"witness {name} {w.verifier.vkey()}" for name, w in witnesses.items()]
    return "\n".join([*lines, f"group partners 2 {' '.join(WITNESSES)}", "quorum partners", ""])


def test_two_of_three_witnesses_cosigned_and_verify_says_so(
    bundle, witnesses, cli_env, tmp_path, capsys
) -> None:
    both = cosigned(bundle, witnesses["uk-aisi"], witnesses["fr-inesia"])
    code, out, err = verify(capsys, tmp_path, cli_env, both, two_of_three(witnesses))
    assert code == 0, err
    assert "cosigned by uk-aisi/witness" in out and "cosigned by fr-inesia/witness" in out
    assert "witnessed: the cosignatures meet the policy's 2 of (uk-aisi, ca-aisi, fr-inesia)" in out


def test_one_cosignature_of_the_two_needed_fails(
    bundle, witnesses, cli_env, tmp_path, capsys
) -> None:
    one = cosigned(bundle, witnesses["ca-aisi"])
    code, _, err = verify(capsys, tmp_path, cli_env, one, two_of_three(witnesses))
    assert code == 1
    assert "not witnessed: the checkpoint is cosigned by ca-aisi, and the policy asks for 2" in err


def test_an_impostor_under_a_witness_name_is_not_counted(
    bundle, witnesses, cli_env, tmp_path, capsys
) -> None:
    """A relay adds a cosignature line under a policy witness's name with its own key: the
    key hash differs, so the line is not the witness's and does not count."""
    impostor = Cosigner("ca-aisi/witness", PrivateKey.generate())
    forged = cosigned(bundle, witnesses["uk-aisi"], impostor)
    code, _, err = verify(capsys, tmp_path, cli_env, forged, two_of_three(witnesses))
    assert code == 1 and "cosigned by uk-aisi, and the policy asks for 2" in err


def test_an_altered_cosignature_fails_verify(bundle, witnesses, cli_env, tmp_path, capsys) -> None:
    good = cosigned(bundle, witnesses["uk-aisi"], witnesses["ca-aisi"])
    lines = good["tlogProof"].split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("— uk-aisi/witness "))
    head, encoded = lines[at].rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 1  # a bit of the Ed25519 signature, after key hash and timestamp
    lines[at] = f"{head} {base64.b64encode(bytes(raw)).decode()}"
    altered = {**good, "tlogProof": "\n".join(lines)}
    code, _, err = verify(capsys, tmp_path, cli_env, altered, two_of_three(witnesses))
    assert code == 1 and "uk-aisi/witness" in err and "does not verify" in err


def test_a_policy_of_none_needs_no_cosignature_and_a_bad_policy_is_named(
    bundle, witnesses, cli_env, tmp_path, capsys
) -> None:
    code, out, err = verify(capsys, tmp_path, cli_env, bundle, "quorum none\n")
    assert code == 0 and "witnessed" in out, err
    code, _, err = verify(capsys, tmp_path, cli_env, bundle, "group g 2 a b\nquorum g\n")
    assert code == 1 and "witness policy line 1: group members not defined above: a, b" in err


def test_partners_nodes_cosign_and_their_witness_keys_make_the_policy(
    make_node, federation: Federation, tmp_path: Path, capsys, monkeypatch
) -> None:
    """Real witnessing end to end: UK's and CA's nodes cosign US's checkpoint; `evalfed
    witness-key` gives their policy lines; the bundle from US meets "all of UK and CA", and
    not a policy that also asks for a witness who never saw the log."""
    uk = make_node("uk-aisi", log_trees=True)
    ca = make_node("ca-aisi", log_trees=True)
    us = make_node("us-aisi", peers=(uk.address, ca.address), log_trees=True)
    monkeypatch.setenv("EVALFED_KEY", str(federation.key_path("us-aisi")))
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        (published,) = publish_records(
            client, [new_result_record(result(), audience_from_text(""))]
        )
    key = ("us-aisi", "")

    def cosigned_by_both() -> bool:
        stored = us.indexer.trees.checkpoint(key)
        if stored is None:
            return False
        names = {line.split(" ")[1] for line in stored.note.decode().split("\n") if line[:1] == "—"}
        fed = federation.charter.federation_id
        return {f"evalfed.v1/{fed}/uk-aisi/witness", f"evalfed.v1/{fed}/ca-aisi/witness"} <= names

    assert us.cosign_requests.wait_until(cosigned_by_both, WAIT_S)
    lines = []
    for partner in (uk, ca):
        code, out, err = run(capsys, "witness-key", "--node", partner.address)
        assert code == 0, err
        lines.append(out.strip())
    assert [line.split(" ")[:2] for line in lines] == [
        ["witness", "uk-aisi"],
        ["witness", "ca-aisi"],
    ]
    bundle = tmp_path / "bundle.json"
    assert run(capsys, "get", published.id, "--bundle", str(bundle), "--node", us.address)[0] == 0
    data = json.loads(bundle.read_text())

    both = "\n".join([*lines, "group partners all uk-aisi ca-aisi", "quorum partners", ""])
    code, out, err = verify(capsys, tmp_path, federation, data, both)
    assert code == 0, err
    assert "witnessed: the cosignatures meet the policy's 2 of (uk-aisi, ca-aisi)" in out

    absent = Cosigner("fr-inesia/witness", PrivateKey.generate()).verifier.vkey()
    three = "\n".join(
        [*lines, f"witness fr {absent}", "group g all uk-aisi ca-aisi fr", "quorum g"]
    )
    code, _, err = verify(capsys, tmp_path, federation, data, three)
    assert code == 1 and "cosigned by ca-aisi, uk-aisi, and the policy asks for 3 of" in err
