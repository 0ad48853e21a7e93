"""Real nodes as witnesses: a partner cosigns the origin's checkpoints and refuses one that
does not extend what it cosigned; checkpoints travel in sync to their log's audience only;
an origin that shows two histories is caught on every honest node after one round of syncs,
and a relay that withholds records shows as checkpoint lag."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator

import pytest

from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.core import tlog
from evalfed.core.binding import node_key_of, verify_binding
from evalfed.core.bundles import SplitViewError, check_bundle_split_views, verify_bundle
from evalfed.core.checkpoints import checkpoint_signer, log_origin, witness_verifier
from evalfed.core.codec import to_json
from evalfed.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    LimitError,
    NotFoundError,
)
from evalfed.core.limits import MAX_PROOF_HASHES
from evalfed.core.membership import Membership
from evalfed.core.note import Checkpoint, parse_note, sign_checkpoint
from evalfed.core.records import LogKey, audience_from_text, record_lane
from evalfed.core.witness import open_checkpoint_note
from evalfed.server.storage.store import Viewer
from evalfed.v1 import node_pb2 as pb
from evalfed.v1.envelope_pb2 import CheckpointNote
from tests.conftest import Federation, run_cli, wait_for
from tests.partners import CraftedPartner
from tests.results import result

WAIT_S = 30.0
MEMBERS = audience_from_text("")
TO_UK = audience_from_text("uk-aisi")


def _publish(node, federation: Federation, count: int, audience=MEMBERS, tag: str = "") -> list:
    with NodeClient(node.address, federation.keys[node.config.institute]) as client:
        return publish_records(
            client,
            [
                new_result_record(result(task=f"task{tag}{i}", value=i / 10), audience)
                for i in range(count)
            ],
        )


def _cosigners(node, key: LogKey) -> tuple[str, ...]:
    """Who cosigned the origin node's stored checkpoint of `key` (checked)."""
    stored = node.indexer.trees.checkpoint(key)
    if stored is None:
        return ()
    held = node.service.book.witnesses.held(key)
    if held is None or parse_note(held.message.note).text != parse_note(stored.note).text:
        return ()
    message = CheckpointNote(note=stored.note, bindings=held.message.bindings)
    return open_checkpoint_note(message, node.service.membership).cosigners


def _wait_cosigned(node, key: LogKey, size: int, by: str) -> None:
    def done() -> bool:
        stored = node.indexer.trees.checkpoint(key)
        return stored is not None and stored.size >= size and by in _cosigners(node, key)

    assert node.cosign_requests.wait_until(done, WAIT_S), f"no cosignature by {by} of size {size}"


def _forged(node, federation: Federation, key: LogKey, size: int, root: bytes) -> CheckpointNote:
    """A checkpoint of `key` signed with the origin node's own key: what an origin that
    equivocates signs."""
    signer = checkpoint_signer(federation.charter.federation_id, key, node.service.identity.key)
    note = sign_checkpoint(Checkpoint(signer.name, size, root), signer)
    return CheckpointNote(note=note, bindings=[node.service.identity.binding])


def _status(node, federation: Federation) -> pb.GetStatusResponse:
    with NodeClient(node.address, federation.keys[node.config.institute]) as client:
        return client.status()


def _wait_status(node, federation: Federation, done, what: str) -> pb.GetStatusResponse:
    """The node's status once `done(status)` holds, checked again after each change to its
    checkpoints or evidence (no sleeps)."""
    seen: list[pb.GetStatusResponse] = []

    def shown() -> bool:
        seen.append(_status(node, federation))
        return bool(done(seen[-1]))

    assert node.service.book.witnesses.wait_until(shown, WAIT_S), (
        f"{node.config.institute}: {what} not shown in status: {seen[-1]}"
    )
    return seen[-1]


def test_a_partner_cosigns_and_refuses_a_checkpoint_that_does_not_extend_what_it_cosigned(
    make_node, federation: Federation
) -> None:
    fed = federation.charter.federation_id
    uk = make_node("uk-aisi", log_trees=True)
    us = make_node("us-aisi", peers=(uk.address,), log_trees=True)
    key = ("us-aisi", "")
    ids = [o.id for o in _publish(us, federation, 3)]
    _wait_cosigned(us, key, 3, "uk-aisi")
    witnessed = uk.service.book.witnesses.cosigned(key)
    assert witnessed is not None and witnessed.size == 3
    assert witnessed.root == tlog.root_of([tlog.record_leaf_hash(i) for i in ids])

    # The cosignature is uk's node key's, type 0x04, under uk's witness name.
    stored = us.indexer.trees.checkpoint(key)
    uk_binding = verify_binding(uk.service.identity.binding, Membership(federation.charter))
    verifier = witness_verifier(fed, "uk-aisi", node_key_of(uk_binding))
    note = parse_note(stored.note)
    (cosig,) = [s for s in note.signatures if s.name == verifier.name]
    assert verifier.verifies(note.text, cosig)

    ids += [o.id for o in _publish(us, federation, 2, tag="b")]
    _wait_cosigned(us, key, 5, "uk-aisi")  # consistency from 3 to 5, checked by uk
    assert uk.service.book.witnesses.cosigned(key).size == 5

    with NodeClient(uk.address, federation.keys["us-aisi"]) as client:
        # A wrong old size: FAILED_PRECONDITION with the witness's size (C2SP's 409).
        real = CheckpointNote(note=stored.note, bindings=[us.service.identity.binding])
        with pytest.raises(ConflictError, match=r"last cosigned .* at size 5") as stale:
            client.cosign(pb.CosignRequest(checkpoint=real, old_size=3))
        assert stale.value.head_seq == 5
        # A larger checkpoint whose consistency proof does not verify.
        bigger = _forged(us, federation, key, 6, b"\x07" * 32)
        with pytest.raises(InvalidInputError, match="consistency proof"):
            client.cosign(
                pb.CosignRequest(checkpoint=bigger, old_size=5, consistency=[b"\x01" * 32] * 3)
            )
        # The cosigned size with another root: refused, and kept as evidence.
        other = _forged(us, federation, key, 5, b"\x09" * 32)
        with pytest.raises(ConflictError, match="another root"):
            client.cosign(pb.CosignRequest(checkpoint=other, old_size=5))
    assert uk.service.book.witnesses.cosigned(key).size == 5
    (view,) = _status(uk, federation).split_views
    assert (view.origin, view.lane, view.first_size, view.second_size) == ("us-aisi", "", 5, 5)


def _gossiped(client: NodeClient) -> Iterator[pb.SyncBatch]:
    """A raw sync stream as the client's institute sees it, up to caught_up."""
    for batch in client.follow():
        yield batch
        if batch.caught_up:
            return


def test_an_outsider_gets_no_checkpoint_of_a_restricted_lane_and_cannot_ask_to_cosign_it(
    make_node, federation: Federation
) -> None:
    """US shares records with UK alone; UK witnesses that lane. CA, a member outside its
    audience, pulling from US (as a node, and as a hostile partner reading the raw stream)
    gets the members lane's checkpoint but never the restricted lane's, and asking UK to
    cosign it gets the NOT_FOUND of a lane that does not exist; so does an anonymous caller."""
    uk = make_node("uk-aisi", log_trees=True)
    us = make_node("us-aisi", peers=(uk.address,), log_trees=True)
    with NodeClient(uk.address, federation.keys["uk-aisi"]) as operator:
        operator.update_peers([us.address], [])  # UK learns the lane's audience from its records
    (shared,) = _publish(us, federation, 1, TO_UK, tag="uk")
    lane = record_lane(new_result_record(result(), TO_UK))
    secret = ("us-aisi", lane)
    _wait_cosigned(us, secret, 1, "uk-aisi")
    _publish(us, federation, 1, tag="members")
    members = ("us-aisi", "")
    _wait_cosigned(us, members, 1, "uk-aisi")

    ca = make_node("ca-aisi", peers=(us.address,), log_trees=True)
    book = ca.service.book.witnesses
    assert book.wait_until(lambda: book.held(members) is not None, WAIT_S)
    assert book.held(secret) is None

    with NodeClient(us.address, federation.keys["ca-aisi"]) as hostile:
        gossip = [c for batch in _gossiped(hostile) for c in batch.checkpoints]
    origins = {parse_note(c.note).text.split("\n")[0] for c in gossip}
    fed = federation.charter.federation_id
    assert log_origin(fed, members) in origins
    assert log_origin(fed, secret) not in origins

    stored = us.indexer.trees.checkpoint(secret)
    request = pb.CosignRequest(
        checkpoint=CheckpointNote(note=stored.note, bindings=[us.service.identity.binding]),
        old_size=1,
    )
    unused = ("us-aisi", "to:" + "0" * 32)
    absent = pb.CosignRequest(checkpoint=_forged(us, federation, unused, 1, b"\x01" * 32))
    with NodeClient(uk.address, federation.keys["ca-aisi"]) as outsider:
        with pytest.raises(NotFoundError) as hidden:
            outsider.cosign(request)
        with pytest.raises(NotFoundError) as missing:
            outsider.cosign(absent)
    assert str(hidden.value) == str(missing.value).replace(unused[1], lane)
    with NodeClient(uk.address, None) as anonymous, pytest.raises(AuthenticationError):
        anonymous.cosign(request)
    assert uk.service.book.witnesses.cosigned(secret).size == 1  # unchanged
    assert ca.store.get(shared.id, Viewer("ca-aisi")) is None


def test_an_origin_that_shows_two_histories_is_caught_on_every_honest_node_in_one_round(
    make_node, federation: Federation, capsys, tmp_path
) -> None:
    """US signs two checkpoints of its members log of one size with different roots and has
    UK cosign one and CA the other. After UK and CA sync with each other once, both show the
    split view in status and metrics; once UK holds US's records, a query flags them and
    their bundle carries the evidence, which `evalfed verify`'s check refuses."""
    us = make_node("us-aisi", log_trees=True)
    key = ("us-aisi", "")
    ids = [o.id for o in _publish(us, federation, 3)]
    assert us.indexer.wait_until(
        lambda: (c := us.indexer.trees.checkpoint(key)) is not None and c.size == 3, WAIT_S
    )
    real = CheckpointNote(
        note=us.indexer.trees.checkpoint(key).note, bindings=[us.service.identity.binding]
    )
    other_root = tlog.root_of([tlog.record_leaf_hash(i) for i in reversed(ids)])
    forged = _forged(us, federation, key, 3, other_root)

    uk = make_node("uk-aisi", log_trees=True, metrics_listen="127.0.0.1:0")
    ca = make_node("ca-aisi", log_trees=True)
    with NodeClient(uk.address, federation.keys["us-aisi"]) as to_uk:
        to_uk.cosign(pb.CosignRequest(checkpoint=real))
    with NodeClient(ca.address, federation.keys["us-aisi"]) as to_ca:
        to_ca.cosign(pb.CosignRequest(checkpoint=forged))
    assert not _status(uk, federation).split_views
    assert not _status(ca, federation).split_views

    with NodeClient(uk.address, federation.keys["uk-aisi"]) as operator:
        operator.update_peers([ca.address], [])
    with NodeClient(ca.address, federation.keys["ca-aisi"]) as operator:
        operator.update_peers([uk.address], [])
    for honest in (uk, ca):
        status = _wait_status(honest, federation, lambda s: bool(s.split_views), "split view")
        (view,) = status.split_views
        assert (view.origin, view.lane, view.first_size, view.second_size) == ("us-aisi", "", 3, 3)
    assert 'evalfed_split_views{institute="us-aisi"} 1.0' in _metrics(uk)

    with NodeClient(uk.address, federation.keys["uk-aisi"]) as operator:
        operator.update_peers([us.address], [])
    with NodeClient(uk.address, federation.keys["ca-aisi"]) as reader:
        wait_for(uk, lambda: uk.store.count() >= 3)
        records = list(reader.query(pb.QueryRequest(origin="us-aisi")))
        assert records and all(r.log_split_view for r in records)
        bundle = reader.get(ids[0], bundle=True).bundle
    assert len(bundle.split_views) == 1
    verified = verify_bundle(bundle, federation.charter)
    with pytest.raises(SplitViewError, match="SPLIT VIEW"):
        check_bundle_split_views(bundle, federation.charter, verified)

    path = tmp_path / "bundle.json"
    path.write_text(to_json(bundle))
    code, _, err = run_cli(
        capsys, "verify", str(path), "--federation", str(federation.charter_path)
    )
    assert code == 1 and "SPLIT VIEW: us-aisi signed two checkpoints" in err
    key_file = str(federation.key_path("ca-aisi"))
    code, out, _ = run_cli(capsys, "status", "--node", ca.address, "--key", key_file)
    assert code == 0 and "SPLIT VIEW: us-aisi lane members" in out


def _metrics(node) -> str:
    with urllib.request.urlopen(f"http://{node.metrics_address}/metrics", timeout=10) as answer:
        return answer.read().decode()


class WithholdingRelay(CraftedPartner):
    """Relays US's first records and its real checkpoint, but withholds the newest records."""

    def __init__(self, federation, envelopes: list[bytes], checkpoint: CheckpointNote) -> None:
        super().__init__(federation, "uk-aisi", [envelopes])
        self.checkpoint = checkpoint

    def Sync(self, request, context) -> Iterator[pb.SyncBatch]:
        for batch in self.batches:
            yield pb.SyncBatch(envelopes=batch)
        yield pb.SyncBatch(checkpoints=[self.checkpoint])
        yield pb.SyncBatch(caught_up=True)
        closed = threading.Event()
        context.add_callback(closed.set)
        closed.wait()


def test_a_relay_that_withholds_the_newest_records_shows_as_checkpoint_lag(
    make_node, federation: Federation, serve_partner
) -> None:
    us = make_node("us-aisi", log_trees=True)
    key = ("us-aisi", "")
    _publish(us, federation, 5)
    assert us.indexer.wait_until(
        lambda: (c := us.indexer.trees.checkpoint(key)) is not None and c.size == 5, WAIT_S
    )
    checkpoint = CheckpointNote(
        note=us.indexer.trees.checkpoint(key).note, bindings=[us.service.identity.binding]
    )
    first_two = _envelopes(us, federation)[:2]
    relay = serve_partner(WithholdingRelay(federation, first_two, checkpoint))
    ca = make_node("ca-aisi", peers=(relay,), metrics_listen="127.0.0.1:0")
    status = _wait_status(
        ca, federation, lambda s: any(c.size > c.held for c in s.checkpoints), "lag"
    )
    (lagging,) = status.checkpoints
    assert (lagging.origin, lagging.size, lagging.held) == ("us-aisi", 5, 2)
    assert 'evalfed_checkpoint_lag_records{institute="us-aisi"} 3.0' in _metrics(ca)


def _envelopes(node, federation: Federation) -> list[bytes]:
    with NodeClient(node.address, federation.keys["uk-aisi"]) as reader:
        for batch in _gossiped(reader):
            if batch.envelopes:
                return list(batch.envelopes)
    return []


def test_a_relay_gossips_the_cosigned_checkpoint_and_an_idle_log_is_cosigned_again(
    make_node, federation: Federation
) -> None:
    """US's checkpoints reach CA only through UK, cosigned by UK; CA (no trees of its own)
    takes a larger one on UK's consistency proof; an idle log's checkpoint is re-signed every
    checkpoint_refresh_s and cosigned again, so CA sees a newer cosignature time."""
    uk = make_node("uk-aisi", log_trees=True)
    us = make_node("us-aisi", peers=(uk.address,), log_trees=True, checkpoint_refresh_s=1.0)
    with NodeClient(uk.address, federation.keys["uk-aisi"]) as operator:
        operator.update_peers([us.address], [])
    ca = make_node("ca-aisi", peers=(uk.address,))
    key = ("us-aisi", "")
    book = ca.service.book

    def held_at_ca(size: int):
        found = [s for s in book.status() if s.key == key and s.size == size]
        return found[0] if found and "uk-aisi" in found[0].cosigners else None

    _publish(us, federation, 2)
    assert book.witnesses.wait_until(lambda: held_at_ca(2) is not None, WAIT_S)
    _publish(us, federation, 1, tag="later")
    assert book.witnesses.wait_until(lambda: held_at_ca(3) is not None, WAIT_S)
    first = held_at_ca(3).newest_cosigned_at
    assert book.witnesses.wait_until(
        lambda: (now := held_at_ca(3)) is not None and now.newest_cosigned_at > first, WAIT_S
    )
    wait_for(ca, lambda: ca.store.count() >= 3)
    (shown,) = _status(ca, federation).checkpoints
    assert (shown.size, shown.held, list(shown.cosigners)) == (3, 3, ["uk-aisi"])
    assert not _status(ca, federation).split_views


def test_checkpoints_of_two_sizes_that_no_proof_joins_are_evidence_and_unproven_ones_wait(
    make_node, federation: Federation
) -> None:
    """UK holds US's 3 records and their real checkpoint. A checkpoint of size 2 whose root is
    not the prefix of UK's tree is evidence (UK's own consistency proof fails), whether it
    comes alone or inside evidence of two sizes; a larger one that nobody can prove and no
    witness cosigned is not taken."""
    us = make_node("us-aisi", log_trees=True)
    uk = make_node("uk-aisi", peers=(us.address,), log_trees=True)
    key = ("us-aisi", "")
    _publish(us, federation, 3)
    book = uk.service.book
    assert book.witnesses.wait_until(
        lambda: (held := book.witnesses.held(key)) is not None and held.size == 3, WAIT_S
    )
    assert uk.indexer.wait_for_size(key, 3, WAIT_S)
    real = book.witnesses.held(key).message
    assert book.take(_forged(us, federation, key, 5, b"\x05" * 32)) == "unproven"
    assert book.witnesses.held(key).size == 3
    assert book.take(_forged(us, federation, key, 2, b"\x02" * 32)) == "split view"
    (found,) = book.witnesses.split_views_of(key)
    assert "no consistency from size 2 to 3" in found.reason

    other = _forged(us, federation, key, 1, b"\x01" * 32)
    evidence = pb.SyncBatch().split_views.add()
    evidence.CopyFrom(found)
    evidence.first.CopyFrom(other)
    evidence.second.CopyFrom(real)
    assert book.take_split_view(evidence)
    assert len(book.witnesses.split_views_of(key)) == 2
    consistent = _forged(us, federation, key, 3, book.witnesses.held(key).root)
    evidence.first.CopyFrom(consistent)
    with pytest.raises(InvalidInputError, match="one size with different roots"):
        book.take_split_view(evidence)
    # As a witness, UK refuses a checkpoint its own tree contradicts, and an oversized proof.
    with NodeClient(uk.address, federation.keys["us-aisi"]) as client:
        wrong = _forged(us, federation, key, 3, b"\x03" * 32)
        with pytest.raises(ConflictError, match="does not match the records"):
            client.cosign(pb.CosignRequest(checkpoint=wrong))
        with pytest.raises(LimitError, match="MAX_PROOF_HASHES"):
            client.cosign(
                pb.CosignRequest(
                    checkpoint=wrong, consistency=[b"\x00" * 32] * (MAX_PROOF_HASHES + 1)
                )
            )
    assert uk.service.book.witnesses.cosigned(key) is None
