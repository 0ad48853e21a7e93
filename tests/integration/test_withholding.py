"""A relay that withholds, lies or over-shares: gaps show and fill from honest partners, a
partner is told only what its verified institute may see, page tokens and fork flags say
nothing of hidden records, void records never relay, and fork evidence is bounded."""

from __future__ import annotations

import base64
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from evalfed.client import membership_events as events
from evalfed.client.channel import CallSigner
from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record
from evalfed.client.transport import connect_node
from evalfed.core import limits
from evalfed.core.errors import InvalidInputError
from evalfed.core.records import audience_from_text, record_id
from evalfed.core.timeutil import now_us
from evalfed.keys import PrivateKey
from evalfed.server.config import NodeConfig
from evalfed.server.datadir import prepare_data_dir
from evalfed.server.identity import load_identity
from evalfed.server.storage.store import Viewer
from evalfed.v1 import node_pb2 as pb
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.node_pb2_grpc import NodeStub, add_NodeServicer_to_server
from tests.conftest import Federation, run_cli, wait_for
from tests.membership import signed_event
from tests.metrics import scrape, value
from tests.partners import CraftedPartner
from tests.results import result, signed_record

MEMBERS = audience_from_text("")


def chain(federation: Federation, count: int, audience: str = "") -> list[Envelope]:
    """`count` records of US's log in `audience`'s lane, each a distinct result."""
    envelopes, prev = [], ""
    for seq in range(1, count + 1):
        value = seq / 100 + len(audience) / 10
        envelope = signed_record(federation, seq, prev, value=value, audience=audience)
        prev = record_id(envelope.payload)
        envelopes.append(envelope)
    return envelopes


def holds(node, record_id_: str) -> bool:
    return node.store.get(record_id_, Viewer(node.config.institute)) is not None


def applied(node, record_id_: str) -> bool:
    return any(record_id(e.payload) == record_id_ for e in node.service.membership.state.records)


def log_status(node, federation: Federation, origin: str = "us-aisi") -> pb.OriginHead:
    with NodeClient(node.address, federation.keys[node.config.institute]) as client:
        status = client.status()
    return next(h for h in status.heads if h.origin == origin and h.lane == "")


class ClaimingRelay(CraftedPartner):
    """A relay that serves the batches it is given and claims the heads it is given."""

    def __init__(self, federation: Federation, batches: list[list[bytes]], heads: dict) -> None:
        super().__init__(federation, "ca-aisi", batches)
        self.heads = heads

    def GetStatus(self, request, context):
        heads = [pb.OriginHead(origin=o, seq=s) for o, s in self.heads.items()]
        return pb.GetStatusResponse(institute=self.institute, heads=heads)


def test_gap_left_by_a_relay_shows_in_status_and_fills_from_an_honest_partner(
    make_node, serve_partner, federation: Federation, capsys, monkeypatch
) -> None:
    log = chain(federation, 5)
    withheld = [e.SerializeToString() for seq, e in enumerate(log, 1) if seq != 3]
    relay = serve_partner(ClaimingRelay(federation, [withheld], {"us-aisi": 7}))
    uk = make_node("uk-aisi", peers=(relay,), metrics_listen="127.0.0.1:0")
    wait_for(uk, lambda: uk.store.head("us-aisi").seq == 5)
    monkeypatch.setenv("EVALFED_NODE", uk.address)
    monkeypatch.setenv("EVALFED_KEY", str(federation.key_path("uk-aisi")))
    code, out, _ = run_cli(capsys, "status")
    assert code == 0 and "1 record(s) missing" in out

    head = log_status(uk, federation)
    assert (head.seq, head.complete_seq, head.missing) == (5, 2, 1)
    assert [(r.low, r.high) for r in head.missing_ranges] == [(3, 3)]
    assert uk.store.missing_records() == 1
    with NodeClient(uk.address, federation.keys["uk-aisi"]) as client:
        (peer,) = client.status().peers
    assert peer.lag == 3  # seq 3, and 6 and 7 which the relay claims but did not send
    _, samples = scrape(uk.metrics_address)
    assert value(samples, "evalfed_store_missing_records") == 1
    assert value(samples, "evalfed_sync_lag_records", partner=relay, institute="ca-aisi") == 3

    us = make_node("us-aisi")
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        client.publish(log)
    with NodeClient(uk.address, federation.keys["uk-aisi"]) as client:
        client.update_peers([us.address], [])
    wait_for(uk, lambda: holds(uk, record_id(log[2].payload)))
    head = log_status(uk, federation)
    assert (head.seq, head.complete_seq, head.missing, len(head.missing_ranges)) == (5, 5, 0, 0)
    assert uk.store.missing_records() == 0
    assert uk.store.count() == 5


def test_withheld_revocation_is_fetched_from_an_honest_partner(
    make_node, serve_partner, federation: Federation
) -> None:
    old, new = federation.keys["us-aisi"], PrivateKey.generate()
    t0 = now_us() - 600_000_000
    event = us_events(federation)
    good = event(result_body("good"), 1, None, old, t0)
    rotate = event(rotation(federation, old, new), 2, good, old, t0 + 1_000_000)
    revoke = event(events.revocation(old.key_id, "leaked", t0 + 2_000_000), 3, rotate, new,
                   t0 + 3_000_000)  # fmt: skip
    after = event(result_body("after"), 4, revoke, new, t0 + 4_000_000)
    relay = serve_partner(
        CraftedPartner(
            federation, "ca-aisi", [[e.SerializeToString() for e in (good, rotate, after)]]
        )
    )
    uk = make_node("uk-aisi", peers=(relay,))
    wait_for(uk, lambda: holds(uk, record_id(after.payload)))
    assert not applied(uk, record_id(revoke.payload))

    # The honest partner: Canada's node, holding the whole log (the US node's own binding,
    # signed by the revoked key, no longer checks out).
    whole = [e.SerializeToString() for e in (good, rotate, revoke, after)]
    ca = make_node(
        "ca-aisi", peers=(serve_partner(CraftedPartner(federation, "uk-aisi", [whole])),)
    )
    wait_for(
        ca, lambda: holds(ca, record_id(after.payload)) and holds(ca, record_id(revoke.payload))
    )
    with NodeClient(uk.address, federation.keys["uk-aisi"]) as client:
        client.update_peers([ca.address], [])
    wait_for(uk, lambda: applied(uk, record_id(revoke.payload)))
    with NodeClient(uk.address, federation.keys["uk-aisi"]) as client:
        (member,) = [m for m in client.members().members if m.institute == "us-aisi"]
    assert [k.revoked for k in member.keys if k.key_id == old.key_id] == [True]
    assert log_status(uk, federation).missing == 0


def result_body(task: str, audience=MEMBERS, embargo_until_us: int | None = None):
    return new_result_record(result(task=task), audience, embargo_until_us)


def rotation(federation: Federation, old: PrivateKey, new: PrivateKey):
    return events.rotation(federation.charter.federation_id, "us-aisi", old.key_id, new)


def us_events(federation: Federation):
    """Signs a body as US's record at a seq after `prev` (None: the first), with a key and
    an issue time."""

    def event(body, seq: int, prev: Envelope | None, key: PrivateKey, at_us: int) -> Envelope:
        prev_id = record_id(prev.payload) if prev else ""
        return signed_event(federation, body, "us-aisi", seq, prev_id, key, at_us)

    return event


class LyingPartner(CraftedPartner):
    """A UK node (TLS, bound by UK's key) whose GetStatus claims to be Canada; it keeps the
    sync requests it gets."""

    def __init__(self, federation: Federation, binding: Envelope) -> None:
        super().__init__(federation, "uk-aisi", [])
        self.binding = binding
        self.requests: list[pb.SyncRequest] = []
        self.asked = threading.Event()

    def GetInfo(self, request, context):
        info = super().GetInfo(request, context)
        info.node_binding.CopyFrom(self.binding)
        return info

    def GetStatus(self, request, context):
        return pb.GetStatusResponse(institute="ca-aisi")

    def Sync(self, request, context):
        self.requests.append(request)
        self.asked.set()
        yield from super().Sync(request, context)


@pytest.fixture
def lying_partner(tmp_path, federation: Federation):
    config = NodeConfig(data_dir=tmp_path / "liar", institute="uk-aisi")
    prepare_data_dir(config, federation.charter, federation.keys["uk-aisi"])
    identity = load_identity(config.data_dir, "uk-aisi")
    partner = LyingPartner(federation, identity.binding)
    server = grpc.server(ThreadPoolExecutor(4))
    add_NodeServicer_to_server(partner, server)
    tls = grpc.ssl_server_credentials([(identity.tls_key_pem, identity.tls_cert_pem)])
    port = server.add_secure_port("127.0.0.1:0", tls)
    server.start()
    yield partner, f"127.0.0.1:{port}"
    server.stop(0)


def test_partner_is_told_only_what_its_verified_institute_may_see(
    make_node, lying_partner, federation: Federation
) -> None:
    partner, address = lying_partner
    us = make_node("us-aisi")
    for_ca = chain(federation, 2, audience="ca-aisi")
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        client.publish(for_ca)
        client.update_peers([address], [])
    assert partner.asked.wait(10), "the node never asked the partner for records"
    request = partner.requests[0]
    assert [c for c in request.have if c.origin == "us-aisi"] == []
    assert us.links.stats()[address].institute == "uk-aisi"


def test_page_tokens_reveal_nothing_of_hidden_records_and_are_bound_to_the_caller(
    make_node, federation: Federation
) -> None:
    us = make_node("us-aisi")
    public = chain(federation, 2, audience="public")
    hidden = chain(federation, 3, audience="uk-aisi")
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        client.publish(public[:1])
        client.publish(hidden)
        client.publish(public[1:])
    with NodeClient(us.address, federation.keys["ca-aisi"]) as ca:
        first = ca.query_page(pb.QueryRequest(kind="result", page_size=1))
        again = ca.query_page(pb.QueryRequest(kind="result", page_size=1))
        token = first.next_page_token
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert b"pos:" not in raw
        assert token != again.next_page_token
        second = ca.query_page(pb.QueryRequest(kind="result", page_size=1, page_token=token))
        assert [r.id for r in second.records] == [record_id(public[0].payload)]
        with pytest.raises(InvalidInputError):
            ca.query_page(pb.QueryRequest(kind="result", model="x", page_token=token))
    with (
        NodeClient(us.address, federation.keys["uk-aisi"]) as uk,
        pytest.raises(InvalidInputError),
    ):
        uk.query_page(pb.QueryRequest(kind="result", page_size=1, page_token=token))


def test_fork_of_a_lane_the_caller_cannot_see_is_not_flagged_to_it(
    make_node, serve_partner, federation: Federation
) -> None:
    (for_uk,) = chain(federation, 1, audience="uk-aisi")
    rival = signed_record(federation, 1, "", value=0.99, audience="uk-aisi")
    (public,) = chain(federation, 1, audience="public")
    relay = serve_partner(CraftedPartner(federation, "ca-aisi", [[rival.SerializeToString()]]))
    us = make_node("us-aisi")
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        client.publish([for_uk, public])
        client.update_peers([relay], [])
    wait_for(us, lambda: holds(us, record_id(rival.payload)))
    with NodeClient(us.address, federation.keys["uk-aisi"]) as uk:
        assert {r.origin_forked for r in uk.query(pb.QueryRequest(origin="us-aisi"))} == {True}
    with NodeClient(us.address, federation.keys["ca-aisi"]) as ca:
        rows = list(ca.query(pb.QueryRequest(origin="us-aisi")))
        assert ca.status().forked_origins == []
    assert [(r.id, r.origin_forked) for r in rows] == [(record_id(public.payload), False)]


def test_fork_of_a_lane_a_member_sees_shows_in_its_status(
    make_node, serve_partner, federation: Federation
) -> None:
    (for_uk,) = chain(federation, 1, audience="uk-aisi")
    rival = signed_record(federation, 1, "", value=0.99, audience="uk-aisi")
    relay = serve_partner(CraftedPartner(federation, "ca-aisi", [[rival.SerializeToString()]]))
    us = make_node("us-aisi")
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        client.publish([for_uk])
        client.update_peers([relay], [])
    wait_for(us, lambda: holds(us, record_id(rival.payload)))
    with NodeClient(us.address, federation.keys["uk-aisi"]) as uk:
        status = uk.status()
    assert status.forked_origins == ["us-aisi"]
    assert [h.forked for h in status.heads if h.origin == "us-aisi"] == [True]


def _sync_as(node, federation: Federation, caller_dir, institute: str, request: pb.SyncRequest):
    """Every envelope of one Sync call made as `institute`'s node, and the last batch."""
    config = NodeConfig(data_dir=caller_dir, institute=institute)
    if not (caller_dir / "node.toml").exists():
        prepare_data_dir(config, federation.charter, federation.keys[institute])
    identity = load_identity(caller_dir, institute)
    signer = CallSigner(identity.key, institute, federation.charter.federation_id,
                        identity.binding_bytes)  # fmt: skip
    with connect_node(node.address).channel(signer) as channel:
        batches = list(NodeStub(channel).Sync(request, timeout=10))
    return [
        record_id(Envelope.FromString(e).payload) for b in batches for e in b.envelopes
    ], batches


def test_void_records_are_relayed_by_no_path(
    make_node, serve_partner, federation: Federation, tmp_path
) -> None:
    old, new = federation.keys["us-aisi"], PrivateKey.generate()
    t0 = now_us() - 600_000_000
    event = us_events(federation)
    good = event(result_body("good"), 1, None, old, t0)
    bad = event(result_body("bad"), 2, good, old, t0 + 2_000_000)
    rival = event(result_body("rival"), 2, good, old, t0 + 500_000)
    embargoed = result_body(
        "embargoed", audience_from_text("uk-aisi"), t0 // 3_600_000_000 * 3_600_000_000
    )
    released = event(embargoed, 1, None, old, t0 + 2_500_000)
    rotate = event(rotation(federation, old, new), 3, bad, old, t0 + 5_000_000)
    revoke = event(events.revocation(old.key_id, "leaked", t0 + 1_000_000), 4, rotate, new,
                   t0 + 6_000_000)  # fmt: skip
    first = [e.SerializeToString() for e in (good, bad, rotate, released, rival)]
    relay = CraftedPartner(federation, "ca-aisi", [first, [revoke.SerializeToString()]])
    uk = make_node("uk-aisi", peers=(serve_partner(relay),))
    void = {record_id(bad.payload), record_id(released.payload)}

    def voided() -> bool:
        rows = [uk.store.get(i, Viewer("uk-aisi")) for i in void]
        return all(row is not None and row.void_reason for row in rows)

    wait_for(uk, voided)
    at_seq_2 = pb.Cursor(origin="us-aisi", lane="", seq=2, id=record_id(rival.payload))
    sent, _ = _sync_as(uk, federation, tmp_path / "ca", "ca-aisi", pb.SyncRequest())
    assert record_id(rival.payload) in sent and not void & set(sent)
    request = pb.SyncRequest(have=[at_seq_2])
    sent, _ = _sync_as(uk, federation, tmp_path / "ca", "ca-aisi", request)
    assert not void & set(sent)


def test_fork_evidence_is_bounded_and_not_sent_again_at_every_stream_start(
    make_node, serve_partner, federation: Federation, tmp_path
) -> None:
    rivals = [signed_record(federation, 1, "", value=i / 10) for i in range(5)]
    second = signed_record(federation, 2, record_id(rivals[0].payload))
    batch = [e.SerializeToString() for e in (*rivals, second)]
    uk = make_node(
        "uk-aisi", peers=(serve_partner(CraftedPartner(federation, "ca-aisi", [batch])),)
    )
    wait_for(uk, lambda: holds(uk, record_id(second.payload)))
    kept = {record_id(e.payload) for e in rivals if holds(uk, record_id(e.payload))}
    assert len(kept) == 1 + limits.MAX_FORK_RIVALS
    (stats,) = uk.links.stats().values()
    assert stats.rejected["forklimit"] == len(rivals) - len(kept)

    cursor = pb.Cursor(origin="us-aisi", seq=2, id=record_id(second.payload))
    request = pb.SyncRequest(have=[cursor])
    sent, batches = _sync_as(uk, federation, tmp_path / "ca", "ca-aisi", request)
    assert set(sent) == kept
    request.forks_cursor = batches[-1].forks_cursor
    assert request.forks_cursor
    sent, _ = _sync_as(uk, federation, tmp_path / "ca", "ca-aisi", request)
    assert sent == []


def test_cursor_with_too_many_or_disordered_held_ranges_is_refused(
    node, federation: Federation, tmp_path
) -> None:
    many = [pb.SeqRange(low=3 * i, high=3 * i + 1) for i in range(1, limits.MAX_GAP_RANGES + 2)]
    disordered = [pb.SeqRange(low=9, high=10), pb.SeqRange(low=5, high=6)]
    for held, code, words in (
        (many, grpc.StatusCode.RESOURCE_EXHAUSTED, "MAX_GAP_RANGES"),
        (disordered, grpc.StatusCode.INVALID_ARGUMENT, "ascending"),
    ):
        request = pb.SyncRequest(have=[pb.Cursor(origin="us-aisi", seq=1, held=held)])
        with pytest.raises(grpc.RpcError) as caught:
            _sync_as(node, federation, tmp_path / "ca", "ca-aisi", request)
        assert caught.value.code() == code and words in (caught.value.details() or "")


def test_gap_filler_that_the_held_next_record_does_not_name_flags_a_fork(
    make_node, serve_partner, federation: Federation
) -> None:
    first, second, named = chain(federation, 3)
    after = signed_record(federation, 4, record_id(named.payload))
    filler = signed_record(federation, 3, record_id(second.payload), value=0.77)
    sent = [e.SerializeToString() for e in (first, second, after)]
    uk = make_node("uk-aisi", peers=(serve_partner(CraftedPartner(federation, "ca-aisi", [sent])),))
    wait_for(uk, lambda: uk.store.head("us-aisi").seq == 4)
    partner = CraftedPartner(federation, "ca-aisi", [[filler.SerializeToString()]])
    with NodeClient(uk.address, federation.keys["uk-aisi"]) as client:
        client.update_peers([serve_partner(partner)], [])
    wait_for(uk, lambda: holds(uk, record_id(filler.payload)))
    with NodeClient(uk.address, federation.keys["uk-aisi"]) as client:
        assert client.status().forked_origins == ["us-aisi"]
        rows = list(client.query(pb.QueryRequest(origin="us-aisi")))
    assert {r.origin_forked for r in rows} == {True}
    assert uk.store.head("us-aisi").forked and holds(uk, record_id(after.payload))


def test_record_that_drops_its_lanes_salt_is_refused_at_sync(
    make_node, serve_partner, federation: Federation
) -> None:
    salt = bytes(range(16))
    first = signed_record(federation, 1, "", audience="uk-aisi", lane_salt=salt)
    unsalted = signed_record(federation, 2, record_id(first.payload), audience="uk-aisi")
    resalted = signed_record(federation, 2, record_id(first.payload), value=0.6,
                             audience="uk-aisi", lane_salt=bytes(16))  # fmt: skip
    kept = signed_record(federation, 2, record_id(first.payload), value=0.7, audience="uk-aisi",
                         lane_salt=salt)  # fmt: skip
    batch = [e.SerializeToString() for e in (first, unsalted, resalted, kept)]
    relay = serve_partner(CraftedPartner(federation, "ca-aisi", [batch]))
    uk = make_node("uk-aisi", peers=(relay,))
    wait_for(uk, lambda: holds(uk, record_id(kept.payload)))
    assert not holds(uk, record_id(unsalted.payload)) and not holds(uk, record_id(resalted.payload))
    assert uk.links.stats()[relay].rejected["chain"] == 2
    assert uk.store.forked_origins() == set()


class PagingRelay(CraftedPartner):
    """A relay whose GetStatus claims heads over pages of the given heads each."""

    def __init__(self, federation: Federation, batches: list[list[bytes]], pages: list) -> None:
        super().__init__(federation, "ca-aisi", batches)
        self.pages = pages

    def GetStatus(self, request, context):
        at = int(request.page_token or 0)
        heads = [pb.OriginHead(origin=o, lane=lane, seq=s) for o, lane, s in self.pages[at]]
        token = str(at + 1) if at + 1 < len(self.pages) else ""
        return pb.GetStatusResponse(institute=self.institute, heads=heads, next_page_token=token)


def test_lag_counts_heads_a_partner_claims_past_its_first_status_page(
    make_node, serve_partner, federation: Federation
) -> None:
    sent = [e.SerializeToString() for e in chain(federation, 2)]
    pages = [[("us-aisi", "", 2)], [("us-aisi", "public", 4)]]
    relay = serve_partner(PagingRelay(federation, [sent], pages))
    uk = make_node("uk-aisi", peers=(relay,))
    wait_for(uk, lambda: uk.store.head("us-aisi").seq == 2)
    with NodeClient(uk.address, federation.keys["uk-aisi"]) as client:
        (peer,) = client.status().peers
    assert peer.lag == 4


def test_record_past_a_gap_without_its_lanes_salt_flags_a_fork_when_the_gap_fills(
    make_node, serve_partner, federation: Federation
) -> None:
    salt = bytes(range(16))
    first = signed_record(federation, 1, "", audience="uk-aisi", lane_salt=salt)
    second = signed_record(federation, 2, record_id(first.payload), value=0.6,
                           audience="uk-aisi", lane_salt=salt)  # fmt: skip
    unsalted = signed_record(federation, 3, record_id(second.payload), value=0.7,
                             audience="uk-aisi")  # fmt: skip
    batch = [e.SerializeToString() for e in (first, unsalted, second)]
    uk = make_node(
        "uk-aisi", peers=(serve_partner(CraftedPartner(federation, "ca-aisi", [batch])),)
    )
    wait_for(uk, lambda: holds(uk, record_id(second.payload)))
    assert uk.store.forked_origins() == {"us-aisi"}
