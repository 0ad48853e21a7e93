"""The membership commands as a user runs them: request, submit, endorse (by file and by id),
list, and rotating and revoking keys."""

from __future__ import annotations

import json
from pathlib import Path

from evalfed.client.node_client import NodeClient
from evalfed.keys import generate_key_files
from tests.conftest import Federation, run_cli, wait_for


def test_join_by_cli(make_node, federation: Federation, tmp_path: Path, capsys) -> None:
    us = make_node("us-aisi")
    uk = make_node("uk-aisi", peers=(us.address,))
    generate_key_files("kr-aisi", tmp_path)
    request = tmp_path / "kr.request.json"
    code, out, err = run_cli(
        capsys, "members", "request", "--institute", "kr-aisi",
        "--key", str(tmp_path / "kr-aisi.key"),
        "--country", "KR", "--name", "Korea AISI", "--address", "127.0.0.1:7799",
        "--out", str(request), "--node", us.address,
    )  # fmt: skip
    assert code == 0, err
    assert "pending with 0 of 2 endorsements" in out
    request_id = out.split("(id ")[1].split(")")[0]

    us_key, uk_key = str(federation.key_path("us-aisi")), str(federation.key_path("uk-aisi"))
    code, out, err = run_cli(
        capsys, "members", "endorse", request_id, "--node", us.address, "--key", us_key
    )
    assert code == 0, err
    assert "pending: 1 of 2" in out
    code, out, _ = run_cli(capsys, "members", "list", "--node", us.address, "--key", us_key)
    assert "kr-aisi" in out and "1 of 2 (us-aisi)" in out

    wait_for(uk, lambda: "kr-aisi" in str(uk.service.membership.state.pending.values()))
    code, out, err = run_cli(
        capsys, "members", "endorse", str(request), "--node", uk.address, "--key", uk_key
    )
    assert code == 0, err
    assert "kr-aisi is admitted" in out
    code, out, _ = run_cli(capsys, "members", "list", "--node", uk.address, "--json")
    members = {m["institute"]: m for m in json.loads(out)["members"]}
    assert members["kr-aisi"]["status"] == "admitted"
    assert members["kr-aisi"]["address"] == "127.0.0.1:7799"

    code, _, err = run_cli(
        capsys, "members", "endorse", "nope", "--node", us.address, "--key", us_key
    )
    assert code == 1 and "neither a join request file nor the id" in err


def test_rotate_and_revoke_by_cli(
    make_node, federation: Federation, tmp_path: Path, capsys
) -> None:
    us = make_node("us-aisi")
    keys = tmp_path / "keys"
    generate_key_files("us-aisi", keys)
    (keys / "us-aisi.key").write_bytes(federation.key_path("us-aisi").read_bytes())
    (keys / "us-aisi.key").chmod(0o600)
    old = str(keys / "us-aisi.key")
    code, _, err = run_cli(
        capsys, "keys", "rotate", "--node", us.address, "--key", old, "--out", str(keys)
    )
    assert code == 0, err
    new = next(p for p in keys.glob("us-aisi-*.key"))
    code, _, err = run_cli(
        capsys, "members", "expel", "uk-aisi", "--node", us.address, "--key", old
    )
    assert code == 1 and "rotated out or revoked" in err
    code, _, err = run_cli(
        capsys, "keys", "revoke", "--node", us.address, "--key", str(new),
        "--key-id", federation.keys["us-aisi"].key_id, "--compromised-since", "2030-01-01",
    )  # fmt: skip
    assert code == 0, err
    with NodeClient(us.address, federation.keys["uk-aisi"]) as client:
        us_member = next(m for m in client.members().members if m.institute == "us-aisi")
    old_key = next(k for k in us_member.keys if k.key_id == federation.keys["us-aisi"].key_id)
    assert old_key.revoked and old_key.until_seq == 1
    assert old_key.HasField("compromised_since")
    code, _, err = run_cli(capsys, "query", "--node", us.address, "--key", old)
    assert code == 1 and "rotated out or revoked" in err
