"""Partner nodes syncing in-process on loopback: relays, live push, audiences, embargoes."""

from __future__ import annotations

import hashlib

import grpc
import pytest

from evalfed.client.channel import CallSigner
from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.client.transport import connect_node, fetch_certificate
from evalfed.core import validate
from evalfed.core.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from evalfed.core.records import audience_from_text
from evalfed.core.timeutil import now_us
from evalfed.keys import PrivateKey
from evalfed.keys.tls import cert_sha256, make_self_signed_cert
from evalfed.server.identity import load_identity
from evalfed.v1.node_pb2 import QueryRequest, SyncRequest
from evalfed.v1.node_pb2_grpc import NodeStub
from tests.conftest import Federation, wait_for
from tests.results import result


def publish(node, federation: Federation, audience: str = "", task: str = "gpqa", **kw) -> str:
    with NodeClient(node.address, federation.keys[node.config.institute]) as client:
        body = new_result_record(result(task=task), audience_from_text(audience), **kw)
        return publish_records(client, [body])[0].id


def holds(node, record_id: str) -> bool:
    return node.store.get(record_id, _viewer(node)) is not None


def _viewer(node):
    from evalfed.server.storage.store import Viewer

    return Viewer(node.config.institute)


@pytest.fixture
def line(make_node):
    """US - UK - CA: UK pulls from US, CA pulls from UK; US and CA are not partners."""
    us = make_node("us-aisi")
    uk = make_node("uk-aisi", peers=(us.address,))
    ca = make_node("ca-aisi", peers=(uk.address,))
    return us, uk, ca


def test_record_relays_and_is_checked_at_the_end_of_the_line(line, federation: Federation) -> None:
    us, uk, ca = line
    record_id = publish(us, federation)
    wait_for(ca, lambda: holds(ca, record_id))
    row = ca.store.get(record_id, _viewer(ca))
    assert row.received_from == uk.address
    with NodeClient(ca.address, federation.keys["ca-aisi"]) as client:
        stored = client.get(record_id).record
    assert stored.envelope.signatures[0].keyid == federation.keys["us-aisi"].key_id


def test_live_push_reaches_a_following_partner(line, federation: Federation) -> None:
    us, uk, _ = line
    wait_for(uk, lambda: uk.links.stats()[us.address].state == "streaming", 30)
    before = uk.links.stats()[us.address].received
    record_id = publish(us, federation)
    wait_for(uk, lambda: holds(uk, record_id), 10)
    assert uk.links.stats()[us.address].received == before + 1


def test_audience_and_public_and_embargo(
    line, federation: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    us, uk, ca = line
    # Embargoes end on whole hours; here on whole seconds, so the release is seen in seconds.
    monkeypatch.setattr(validate, "EMBARGO_GRANULARITY_S", 1)
    for_uk = publish(us, federation, audience="uk-aisi", task="restricted")
    public = publish(us, federation, audience="public", task="open")
    soon = publish(us, federation, audience="uk-aisi", task="embargoed",
                   embargo_until_us=(now_us() // 1_000_000 + 2) * 1_000_000)  # fmt: skip
    wait_for(ca, lambda: holds(ca, public))
    wait_for(uk, lambda: holds(uk, for_uk) and holds(uk, soon))
    assert not holds(ca, for_uk)
    with NodeClient(ca.address, federation.keys["ca-aisi"]) as client, pytest.raises(NotFoundError):
        client.get(for_uk)
    wait_for(ca, lambda: holds(ca, soon), 20)
    assert not holds(ca, for_uk)
    with NodeClient(ca.address) as anonymous:
        assert [r.id for r in anonymous.query(QueryRequest())] == [public]


def test_status_reports_links_and_heads(line, federation: Federation) -> None:
    us, uk, _ = line
    record_id = publish(us, federation)
    wait_for(uk, lambda: holds(uk, record_id))
    with NodeClient(uk.address, federation.keys["uk-aisi"]) as client:
        status = client.status()
    (peer,) = status.peers
    assert peer.address == us.address and peer.institute == "us-aisi"
    assert peer.state == "streaming" and peer.received >= 1
    assert {h.origin: h.seq for h in peer.heads}["us-aisi"] == 1  # what the partner has
    assert {h.origin: h.seq for h in status.heads}["us-aisi"] == 1
    assert not status.forked_origins


def test_peers_can_be_changed_by_the_institute_only(make_node, federation: Federation) -> None:
    us = make_node("us-aisi")
    uk = make_node("uk-aisi")
    with NodeClient(uk.address, federation.keys["uk-aisi"]) as client:
        assert client.update_peers([us.address], []) == [us.address]
        record_id = publish(us, federation)
        wait_for(uk, lambda: holds(uk, record_id))
        assert client.update_peers([], [us.address]) == []
    with (
        NodeClient(uk.address, federation.keys["us-aisi"]) as other,
        pytest.raises(PermissionDeniedError, match="only uk-aisi"),
    ):
        other.update_peers([us.address], [])


def test_non_member_and_impostor_nodes_are_refused(
    make_node, federation: Federation, tmp_path
) -> None:
    us = make_node("us-aisi")
    publish(us, federation)
    fed_id = federation.charter.federation_id
    outsider = CallSigner(federation.keys["jp-aisi"], "jp-aisi", fed_id)
    uk_identity = load_identity(make_node("uk-aisi").config.data_dir, "uk-aisi")
    impostor = CallSigner(PrivateKey.generate(), "uk-aisi", fed_id, uk_identity.binding_bytes)
    claims_us = CallSigner(uk_identity.key, "us-aisi", fed_id, uk_identity.binding_bytes)
    for signer in (outsider, impostor, claims_us, None):
        with (
            connect_node(us.address).channel(signer) as channel,
            pytest.raises(grpc.RpcError) as caught,
        ):
            list(NodeStub(channel).Sync(SyncRequest(), timeout=10))
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED, signer


def test_a_node_presenting_another_certificate_than_its_binding_names_is_refused(
    federation: Federation, new_database, tmp_path
) -> None:
    from evalfed.server.app import build_node
    from evalfed.server.config import NodeConfig
    from evalfed.server.datadir import prepare_data_dir
    from evalfed.server.identity import TLS_CERT, TLS_KEY

    config = NodeConfig(tmp_path / "us", "us-aisi", "127.0.0.1:0", new_database())
    prepare_data_dir(config, federation.charter, federation.keys["us-aisi"], ())
    key_pem, cert_pem = make_self_signed_cert()  # as a machine in the middle would present
    (config.data_dir / TLS_KEY).write_bytes(key_pem)
    (config.data_dir / TLS_CERT).write_bytes(cert_pem)
    node = build_node(config)
    node.start()
    try:
        der = fetch_certificate(node.address)
        assert der is not None and hashlib.sha256(der).hexdigest() == cert_sha256(cert_pem)
        with pytest.raises(AuthenticationError, match="someone may be in the middle"):
            connect_node(node.address)
    finally:
        node.stop(grace_s=0)


def test_status_and_peers_commands(line, federation: Federation, capsys) -> None:
    from evalfed.client.cli import main

    us, uk, _ = line
    record_id = publish(us, federation)
    wait_for(uk, lambda: holds(uk, record_id))
    key = str(federation.key_path("uk-aisi"))
    assert main(["status", "--node", uk.address, "--key", key]) == 0
    out = capsys.readouterr().out
    assert us.address in out and "streaming" in out and "us-aisi" in out
    assert main(["status", "--node", uk.address, "--key", key, "--json"]) == 0
    status = __import__("json").loads(capsys.readouterr().out)
    assert status["peers"][0]["institute"] == "us-aisi"
    assert main(["peers", "remove", us.address, "--node", uk.address, "--key", key]) == 0
    assert main(["peers", "list", "--node", uk.address, "--key", key]) == 0
    assert capsys.readouterr().out.strip() == ""
    assert main(["peers", "add", us.address, "--node", uk.address, "--key", key]) == 0
    assert capsys.readouterr().out.split() == [us.address]
