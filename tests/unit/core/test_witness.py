"""Travelling checkpoints and split-view evidence, checked offline against membership: what
counts as the origin's signature, a cosignature, and evidence that proves itself."""

from __future__ import annotations

import pytest

from evalfed.core.binding import sign_binding
from evalfed.core.checkpoints import (
    checkpoint_signer,
    log_origin,
    parse_log_origin,
    witness_cosigner,
    witness_name,
)
from evalfed.core.errors import InvalidInputError, LimitError, SignatureError
from evalfed.core.limits import MAX_CHECKPOINT_BINDINGS
from evalfed.core.membership import Membership
from evalfed.core.note import Checkpoint, add_cosignature, sign_checkpoint
from evalfed.core.witness import (
    SAME_SIZE,
    check_split_view,
    open_checkpoint_note,
    split_view,
)
from evalfed.keys import PrivateKey
from evalfed.v1.envelope_pb2 import CheckpointNote, Envelope
from evalfed.v1.federation_pb2 import NodeBinding
from tests.conftest import Federation

KEY = ("us-aisi", "")


def _bound(federation: Federation, institute: str) -> tuple[PrivateKey, Envelope]:
    node_key = PrivateKey.generate()
    binding = NodeBinding(
        federation_id=federation.charter.federation_id,
        institute=institute,
        node_public_key=node_key.public.raw,
    )
    return node_key, sign_binding(binding, federation.keys[institute])


@pytest.fixture(scope="module")
def nodes(federation: Federation) -> dict[str, tuple[PrivateKey, Envelope]]:
    return {i: _bound(federation, i) for i in ("us-aisi", "uk-aisi", "jp-aisi")}


def _note(federation: Federation, node_key: PrivateKey, size: int, root: bytes) -> bytes:
    signer = checkpoint_signer(federation.charter.federation_id, KEY, node_key)
    return sign_checkpoint(Checkpoint(signer.name, size, root), signer)


def test_log_origins_round_trip_and_others_are_refused(federation: Federation) -> None:
    fed = federation.charter.federation_id
    for key in (KEY, ("us-aisi", "public"), ("uk-aisi", "to:" + "a" * 32)):
        assert parse_log_origin(fed, log_origin(fed, key)) == key
    for bad in (
        f"evalfed.v1/{'0' * 64}/us-aisi/members",  # another federation
        f"evalfed.v1/{fed}/us-aisi",
        witness_name(fed, "us-aisi"),  # a witness name is no log
        f"evalfed.v1/{fed}/us-aisi/to:ABC",
        f"evalfed.v1/{fed}/US/members",
    ):
        with pytest.raises(InvalidInputError):
            parse_log_origin(fed, bad)


def test_a_checkpoint_opens_with_its_origins_binding_and_names_its_checked_cosigners(
    federation: Federation, nodes
) -> None:
    membership = Membership(federation.charter)
    us_key, us_binding = nodes["us-aisi"]
    uk_key, uk_binding = nodes["uk-aisi"]
    note = _note(federation, us_key, 3, b"\x01" * 32)
    cosigned = add_cosignature(
        note, witness_cosigner(federation.charter.federation_id, "uk-aisi", uk_key), 1_700_000_000
    )
    opened = open_checkpoint_note(
        CheckpointNote(note=cosigned, bindings=[us_binding, uk_binding]), membership
    )
    assert (opened.key, opened.size, opened.cosigners) == (KEY, 3, ("uk-aisi",))
    assert opened.newest_cosigned_at == 1_700_000_000
    # Without the witness's binding its cosignature is just not counted.
    alone = open_checkpoint_note(CheckpointNote(note=cosigned, bindings=[us_binding]), membership)
    assert alone.cosigners == ()

    with pytest.raises(SignatureError, match="without us-aisi's node binding"):
        open_checkpoint_note(CheckpointNote(note=note, bindings=[uk_binding]), membership)
    # A node key bound to UK cannot sign US's checkpoints.
    forged = _note(federation, uk_key, 3, b"\x01" * 32)
    with pytest.raises(SignatureError):
        open_checkpoint_note(CheckpointNote(note=forged, bindings=[us_binding]), membership)
    # An outsider's binding (not signed by a member's key) is refused.
    with pytest.raises(SignatureError, match="binding"):
        open_checkpoint_note(
            CheckpointNote(note=note, bindings=[us_binding, nodes["jp-aisi"][1]]), membership
        )
    with pytest.raises(LimitError, match="MAX_CHECKPOINT_BINDINGS"):
        open_checkpoint_note(
            CheckpointNote(note=note, bindings=[us_binding] * (MAX_CHECKPOINT_BINDINGS + 1)),
            membership,
        )


def test_split_view_evidence_proves_itself_only_for_one_size_with_two_roots(
    federation: Federation, nodes
) -> None:
    membership = Membership(federation.charter)
    us_key, us_binding = nodes["us-aisi"]

    def opened(size: int, root: bytes):
        message = CheckpointNote(note=_note(federation, us_key, size, root), bindings=[us_binding])
        return open_checkpoint_note(message, membership)

    a, b = opened(4, b"\x01" * 32), opened(4, b"\x02" * 32)
    first, second = check_split_view(split_view(a, b, SAME_SIZE), membership)
    assert (first.root, second.root) == (a.root, b.root)
    for other in (opened(4, b"\x01" * 32), opened(5, b"\x02" * 32)):
        with pytest.raises(InvalidInputError, match="one size with different roots"):
            check_split_view(split_view(a, other, SAME_SIZE), membership)
    evidence = split_view(a, b, SAME_SIZE)
    evidence.origin = "uk-aisi"
    with pytest.raises(InvalidInputError, match="another log"):
        check_split_view(evidence, membership)
