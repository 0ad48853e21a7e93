"""The CLI against hostile nodes and on a shared machine: endorsing by id checks the id is the
request's own hash, export names files only by checked ids, the data folder is owner-only,
and --federation pins the federation of anonymous reads."""

from __future__ import annotations

import logging
import stat
from collections.abc import Sequence
from pathlib import Path

import pytest

from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.core.charter import build_charter, charter_envelope, sign_charter
from evalfed.core.codec import to_json
from evalfed.core.joins import join_request_id
from evalfed.core.records import audience_from_text
from evalfed.core.timeutil import now_us
from evalfed.keys import PrivateKey
from evalfed.v1 import node_pb2 as pb
from tests.conftest import Federation, run_cli
from tests.membership import join_request, signed_event
from tests.partners import CraftedPartner
from tests.results import result


class HostileNode(CraftedPartner):
    """A node that lists `pending` under ids of its choosing, answers queries with `stored`,
    and keeps whatever is published to it."""

    def __init__(
        self,
        federation: Federation,
        pending: Sequence[pb.PendingRequest] = (),
        stored: Sequence[pb.StoredRecord] = (),
    ) -> None:
        super().__init__(federation, "us-aisi", [])
        self.pending, self.stored = list(pending), list(stored)
        self.published: list[object] = []

    def ListMembers(self, request, context):
        return pb.ListMembersResponse(pending=self.pending)

    def GetHead(self, request, context):
        return pb.GetHeadResponse(origin=request.origin, lane=request.lane)

    def FindExisting(self, request, context):
        return pb.FindExistingResponse()

    def Publish(self, request, context):
        self.published.extend(request.envelopes)
        return pb.PublishResponse(results=[pb.Published(id="0" * 64, seq=1)])

    def Query(self, request, context):
        return pb.QueryResponse(records=self.stored)


def test_endorse_by_id_refuses_an_envelope_whose_hash_is_not_the_id(
    serve_partner, federation: Federation, capsys
) -> None:
    """The node lists JP's honest request id, with an attacker's request (its own key, for
    jp-aisi) as the envelope: endorsing by that id must not endorse the attacker's key."""
    honest = join_request(federation, "jp-aisi", federation.keys["jp-aisi"])
    swapped = join_request(federation, "jp-aisi", PrivateKey.generate())
    listed = pb.PendingRequest(id=join_request_id(honest), institute="jp-aisi", request=swapped)
    node = HostileNode(federation, pending=[listed])
    address = serve_partner(node)
    us_key = str(federation.key_path("us-aisi"))
    code, _, err = run_cli(
        capsys, "members", "endorse", join_request_id(honest), "--node", address, "--key", us_key
    )
    assert code == 1
    assert "whose id is" in err and "not endorsing it" in err
    assert node.published == []


def test_endorse_shows_the_key_it_endorses(make_node, federation: Federation, capsys) -> None:
    us = make_node("us-aisi")
    jp_key = federation.keys["jp-aisi"]
    request = join_request(federation, "jp-aisi", jp_key, address="127.0.0.1:7001")
    with NodeClient(us.address) as anonymous:
        anonymous.submit_join_request(request)
    code, out, err = run_cli(
        capsys, "members", "endorse", join_request_id(request),
        "--node", us.address, "--key", str(federation.key_path("us-aisi")),
    )  # fmt: skip
    assert code == 0, err
    assert f"key {jp_key.key_id}" in out
    assert "jp-aisi (jp-aisi institute, JP) at 127.0.0.1:7001" in out


def test_export_with_a_hostile_id_writes_nothing_outside_the_folder(
    serve_partner, federation: Federation, tmp_path: Path, capsys
) -> None:
    record = signed_event(
        federation,
        new_result_record(result(task="t"), audience_from_text("")),
        "us-aisi",
        1,
        "",
        federation.keys["us-aisi"],
    )
    folder = tmp_path / "deep" / "out"
    escape = "../../escaped"
    address = serve_partner(
        HostileNode(federation, stored=[pb.StoredRecord(id=escape, envelope=record)])
    )
    code, _, err = run_cli(
        capsys, "export", "--format", "every-eval-ever", "--node", address,
        "--key", str(federation.key_path("us-aisi")), "--out", str(folder),
    )  # fmt: skip
    assert code == 1
    assert "not the SHA-256 of its payload" in err
    assert not (tmp_path / "escaped.json").exists()
    assert not list(tmp_path.rglob("*.json"))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_folder_and_its_files_are_owner_only(
    make_node, federation: Federation, caplog
) -> None:
    from evalfed.server.app import build_node

    us = make_node("us-aisi")
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        publish_records(client, [new_result_record(result(), audience_from_text(""))])
    folder = us.config.data_dir
    sqlite = not us.config.database_url
    assert _mode(folder) == 0o700
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert folder / "node.toml" in files
    if sqlite:
        assert {folder / "node.db", folder / "node.db-wal", folder / "node.db-shm"} <= set(files)
    assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}

    us.stop(grace_s=0)
    folder.chmod(0o755)
    (folder / "node.toml").chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="evalfed.server.datadir"):
        again = build_node(us.config)
    try:
        assert _mode(folder) == 0o700 and _mode(folder / "node.toml") == 0o600
        assert "took group and other permissions off 2 path(s)" in caplog.text
    finally:
        again.stop(grace_s=0)


@pytest.fixture
def other_charter(tmp_path: Path) -> Path:
    """The charter of another federation, with one founder."""
    key = PrivateKey.generate()
    envelope = charter_envelope(build_charter("elsewhere", 1, [("xx-aisi", key.public)], now_us()))
    sign_charter(envelope, key)
    path = tmp_path / "other.json"
    path.write_text(to_json(envelope))
    return path


def test_federation_pins_anonymous_reads(
    make_node, federation: Federation, other_charter: Path, capsys, monkeypatch
) -> None:
    us = make_node("us-aisi")
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        publish_records(
            client, [new_result_record(result(task="open"), audience_from_text("public"))]
        )
    ours = str(federation.charter_path)
    code, out, err = run_cli(capsys, "query", "--node", us.address, "--federation", ours)
    assert code == 0, err
    assert "open" in out
    for argv in (
        ("query", "--node", us.address),
        ("get", "0" * 64, "--node", us.address),
        ("members", "list", "--node", us.address),
    ):
        code, _, err = run_cli(capsys, *argv, "--federation", str(other_charter))
        assert code == 1
        assert "serves federation" in err and "(your federation file)" in err
    monkeypatch.setenv("EVALFED_FEDERATION", str(other_charter))
    code, _, err = run_cli(capsys, "query", "--node", us.address)
    assert code == 1 and "(your federation file)" in err
