"""Offline checking of a record bundle against a federation charter: the record, the proof
that it is in its origin's log when the bundle carries one, and any split-view evidence of
that log (which fails the check: the origin showed two histories)."""

from __future__ import annotations

from collections.abc import Sequence

from evalfed.core.binding import node_key_of, verify_binding
from evalfed.core.charter import VerifiedCharter
from evalfed.core.checkpoints import checkpoint_verifier, log_origin
from evalfed.core.checks import VerifiedRecord, check_envelope
from evalfed.core.errors import (
    AuthenticationError,
    EvalfedError,
    InvalidInputError,
    ProofError,
    SignatureError,
)
from evalfed.core.membership import Membership
from evalfed.core.note import (
    NoteVerifier,
    SignedCheckpoint,
    parse_tlog_proof,
    verify_tlog_proof,
)
from evalfed.core.records import record_id
from evalfed.core.tlog import record_leaf_hash
from evalfed.core.witness import check_split_view
from evalfed.v1.envelope_pb2 import Bundle


class SplitViewError(SignatureError):
    """The bundle carries proof that the record's origin signed two inconsistent checkpoints
    of the record's log."""


def verify_bundle(bundle: Bundle, charter: VerifiedCharter) -> VerifiedRecord:
    """The bundled record, if it belongs to this federation and its author's signature holds."""
    if bundle.federation_id != charter.federation_id:
        raise InvalidInputError(
            f"the bundle is for federation {bundle.federation_id[:16]}, "
            f"not {charter.federation_id[:16]} (the charter given)"
        )
    actual = record_id(bundle.record.payload)
    if bundle.record_id != actual:
        raise SignatureError(
            f"the record's payload hashes to {actual[:16]}, not the bundled id "
            f"{bundle.record_id[:16]}: the payload was altered"
        )
    return check_envelope(bundle.record, Membership(charter, bundle.membership))


def verify_bundle_proof(
    bundle: Bundle,
    charter: VerifiedCharter,
    verified: VerifiedRecord,
    cosigners: Sequence[NoteVerifier] = (),
) -> SignedCheckpoint | None:
    """The origin's checkpoint that the bundle proves the record is in, if it carries a
    tlog-proof: signed by the node key that the origin's binding (checked against the
    charter and the bundled membership records) names, with the record's leaf at seq - 1,
    and with the cosignatures of those `cosigners` that cosigned it, each checked."""
    if not bundle.tlog_proof:
        return None
    if not bundle.HasField("origin_binding"):
        raise SignatureError(
            "the bundle's tlog proof comes without the origin's node binding, so the key "
            "that signed its checkpoint cannot be checked"
        )
    try:
        binding = verify_binding(bundle.origin_binding, Membership(charter, bundle.membership))
    except AuthenticationError as exc:
        raise SignatureError(f"the bundle's origin binding is refused: {exc}") from None
    if binding.institute != verified.origin:
        raise SignatureError(
            f"the bundle's node binding is {binding.institute}'s, not that of the record's "
            f"origin {verified.origin}"
        )
    proof = parse_tlog_proof(bundle.tlog_proof.encode())
    if proof.index != verified.seq - 1:
        raise ProofError(
            f"the tlog proof is of leaf {proof.index}, but the record is seq {verified.seq} "
            f"(leaf {verified.seq - 1})"
        )
    federation_id = charter.federation_id
    verifier = checkpoint_verifier(federation_id, verified.log, node_key_of(binding))
    origin = log_origin(federation_id, verified.log)
    try:
        signed = verify_tlog_proof(
            proof, record_leaf_hash(verified.id), origin, verifier, cosigners
        )
    except ProofError as exc:
        raise ProofError(
            f"the tlog proof does not lead from the record to the checkpoint's root: {exc}"
        ) from None
    except SignatureError as exc:
        raise SignatureError(
            f"the tlog proof's checkpoint is not signed by {verified.origin}'s node key: {exc}"
        ) from None
    return signed


def check_bundle_split_views(
    bundle: Bundle, charter: VerifiedCharter, verified: VerifiedRecord
) -> None:
    """Raises SplitViewError when the bundle carries split-view evidence of the record's log
    that proves itself (two checkpoints of one size with different roots, both signed by the
    origin's node key that a binding checked against the charter and the bundled membership
    names); evidence that proves nothing is ignored, as it cannot speak against the origin."""
    membership = Membership(charter, bundle.membership)
    for evidence in bundle.split_views:
        if (evidence.origin, evidence.lane) != verified.log:
            continue
        try:
            first, _ = check_split_view(evidence, membership)
        except EvalfedError:
            continue
        raise SplitViewError(
            f"SPLIT VIEW: {verified.origin} signed two checkpoints of this record's log of "
            f"size {first.size} with different roots (the bundle carries both): it showed "
            "different histories to different members, so no checkpoint of it can be trusted"
        )
