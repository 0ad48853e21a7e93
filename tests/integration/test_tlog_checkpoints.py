"""Real nodes: the origin's node signs a C2SP checkpoint of each of its logs as its tree
grows, with the node key its binding names, and serves checkpoints and proofs that offline
checks accept; a caller outside a restricted lane's audience gets nothing of it, the same
NOT_FOUND as for a log that does not exist."""

from __future__ import annotations

import pytest

from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.core import tlog
from evalfed.core.binding import node_key_of, verify_binding
from evalfed.core.checkpoints import checkpoint_verifier, log_origin
from evalfed.core.errors import NotFoundError
from evalfed.core.membership import Membership
from evalfed.core.note import TlogProof, open_checkpoint, verify_tlog_proof
from evalfed.core.records import LogKey, audience_from_text, record_lane
from evalfed.v1.node_pb2 import GetProofRequest
from tests.conftest import Federation
from tests.results import result

WAIT_S = 30.0
MEMBERS = audience_from_text("")
TO_UK = audience_from_text("uk-aisi")
UNUSED_LANE = "to:" + "0" * 32


def _opened(node, client: NodeClient, federation: Federation, key: LogKey, size: int):
    """The node's checkpoint of `key` once it covers `size` leaves, checked against the node
    key of the binding the node shows."""

    def signed() -> bool:
        checkpoint = node.indexer.trees.checkpoint(key)
        return checkpoint is not None and checkpoint.size >= size

    assert node.indexer.wait_until(signed, WAIT_S)
    binding = verify_binding(client.info.node_binding, Membership(federation.charter))
    verifier = checkpoint_verifier(federation.charter.federation_id, key, node_key_of(binding))
    note = client.checkpoint(*key).note
    return verifier, open_checkpoint(
        note, log_origin(federation.charter.federation_id, key), verifier
    )


def test_origin_signs_checkpoints_of_its_log_and_serves_proofs_that_verify(
    make_node, federation: Federation
) -> None:
    us = make_node("us-aisi", log_trees=True)
    key = ("us-aisi", "")
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        ids = [o.id for o in publish_records(
            client, [new_result_record(result(value=v / 10), MEMBERS) for v in range(3)]
        )]  # fmt: skip
        _, first = _opened(us, client, federation, key, 3)
        ids += [o.id for o in publish_records(
            client, [new_result_record(result(value=v / 10 + 0.05), MEMBERS) for v in range(2)]
        )]  # fmt: skip
        verifier, latest = _opened(us, client, federation, key, 5)
        leaves = [tlog.record_leaf_hash(i) for i in ids]
        assert (first.checkpoint.size, first.checkpoint.root_hash) == (3, tlog.root_of(leaves[:3]))
        assert (latest.checkpoint.size, latest.checkpoint.root_hash) == (5, tlog.root_of(leaves))

        included = client.proof(GetProofRequest(record_id=ids[1]))
        assert (included.index, included.size) == (1, 5)
        proof = TlogProof(included.index, tuple(included.hashes), included.checkpoint)
        origin = log_origin(federation.charter.federation_id, key)
        assert verify_tlog_proof(proof, leaves[1], origin, verifier).checkpoint.size == 5

        consistent = client.proof(GetProofRequest(origin="us-aisi", old_size=3, size=5))
        tlog.verify_consistency(3, 5, list(consistent.hashes), first.checkpoint.root_hash,
                                latest.checkpoint.root_hash)  # fmt: skip


def test_a_caller_outside_a_restricted_lane_gets_not_found_as_for_no_log(
    make_node, federation: Federation
) -> None:
    """US shares a record with UK alone. UK gets its lane's checkpoint and proofs; CA (a
    member outside the audience) and an anonymous caller get NOT_FOUND, worded as for a lane
    that does not exist, for the checkpoint, the record's proof and a consistency proof."""
    us = make_node("us-aisi", log_trees=True)
    body = new_result_record(result(task="to-uk"), TO_UK)
    lane = record_lane(body)
    key = ("us-aisi", lane)
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        (shared,) = publish_records(client, [body])
        publish_records(client, [new_result_record(result(task="to-uk-2"), TO_UK)])
    with NodeClient(us.address, federation.keys["uk-aisi"]) as uk:
        _, opened = _opened(us, uk, federation, key, 2)
        assert opened.checkpoint.size == 2
        assert uk.proof(GetProofRequest(record_id=shared.id)).size == 2

    for outsider in (federation.keys["ca-aisi"], None):
        with NodeClient(us.address, outsider) as client:
            with pytest.raises(NotFoundError) as hidden:
                client.checkpoint("us-aisi", lane)
            with pytest.raises(NotFoundError) as absent:
                client.checkpoint("us-aisi", UNUSED_LANE)
            assert str(hidden.value) == str(absent.value).replace(UNUSED_LANE, lane)
            with pytest.raises(NotFoundError) as hidden:
                client.proof(GetProofRequest(record_id=shared.id))
            with pytest.raises(NotFoundError) as absent:
                client.proof(GetProofRequest(record_id="ab" * 32))
            assert str(hidden.value) == str(absent.value).replace("ab" * 32, shared.id)
            with pytest.raises(NotFoundError, match="that you may see"):
                client.proof(GetProofRequest(origin="us-aisi", lane=lane, old_size=1, size=2))
