"""Checking checkpoints as they travel between nodes, and split-view evidence. No IO.

A `CheckpointNote` carries a signed checkpoint and the node bindings of whoever signed it.
Each binding must be signed by the current key of the institute it names (membership), the
origin's binding names the key of the log's signature, and the other bindings name the keys
of the cosignatures (type 0x04, under the witness name). Two checkpoints of one log, both
validly signed by its origin, with the same size and different roots are self-proving
split-view evidence: the origin showed two histories.
"""

from __future__ import annotations

from dataclasses import dataclass

from evalfed.core.binding import node_key_of, verify_binding
from evalfed.core.checkpoints import (
    checkpoint_verifier,
    log_origin,
    parse_log_origin,
    witness_verifier,
)
from evalfed.core.errors import AuthenticationError, InvalidInputError, LimitError, SignatureError
from evalfed.core.limits import MAX_CHECKPOINT_BINDINGS
from evalfed.core.membership import Membership
from evalfed.core.note import SignedCheckpoint, open_checkpoint, parse_checkpoint, parse_note
from evalfed.core.records import LogKey
from evalfed.v1.envelope_pb2 import CheckpointNote, Envelope, SplitViewEvidence

SAME_SIZE = "same size, different roots"


@dataclass(frozen=True)
class OpenedCheckpoint:
    """A checkpoint whose origin signature and known cosignatures verified."""

    key: LogKey
    signed: SignedCheckpoint
    note: bytes
    bindings: tuple[Envelope, ...]
    cosigners: tuple[str, ...]
    """The institutes whose cosignatures verified."""

    @property
    def size(self) -> int:
        return self.signed.checkpoint.size

    @property
    def root(self) -> bytes:
        return self.signed.checkpoint.root_hash

    @property
    def newest_cosigned_at(self) -> int:
        return max((c.timestamp for c in self.signed.cosignatures), default=0)

    def message(self) -> CheckpointNote:
        return CheckpointNote(note=self.note, bindings=self.bindings)


def checkpoint_key(data: bytes, federation_id: str) -> LogKey:
    """The log a signed checkpoint says it is of (unchecked)."""
    return parse_log_origin(federation_id, parse_checkpoint(parse_note(data).text).origin)


def open_checkpoint_note(message: CheckpointNote, membership: Membership) -> OpenedCheckpoint:
    """Checks a travelling checkpoint: its origin's binding and signature, and the
    cosignatures of every other bound node. Raises SignatureError, InvalidInputError or
    LimitError."""
    if len(message.bindings) > MAX_CHECKPOINT_BINDINGS:
        raise LimitError(
            f"a checkpoint travels with at most {MAX_CHECKPOINT_BINDINGS} node bindings "
            f"(MAX_CHECKPOINT_BINDINGS), not {len(message.bindings)}"
        )
    federation_id = membership.federation_id
    key = checkpoint_key(message.note, federation_id)
    origin_key = None
    cosigners = {}
    for envelope in message.bindings:
        try:
            binding = verify_binding(envelope, membership)
        except AuthenticationError as exc:
            raise SignatureError(f"a node binding with the checkpoint is refused: {exc}") from None
        if binding.institute == key[0]:
            origin_key = node_key_of(binding)
        else:
            cosigners[binding.institute] = witness_verifier(
                federation_id, binding.institute, node_key_of(binding)
            )
    if origin_key is None:
        raise SignatureError(
            f"the checkpoint of {key[0]}'s log comes without {key[0]}'s node binding, so its "
            "signature cannot be checked"
        )
    log = checkpoint_verifier(federation_id, key, origin_key)
    signed = open_checkpoint(
        message.note, log_origin(federation_id, key), log, tuple(cosigners.values())
    )
    by_name = {v.name: institute for institute, v in cosigners.items()}
    return OpenedCheckpoint(
        key,
        signed,
        bytes(message.note),
        tuple(message.bindings),
        tuple(sorted(by_name[c.name] for c in signed.cosignatures)),
    )


def split_view(first: OpenedCheckpoint, second: OpenedCheckpoint, reason: str) -> SplitViewEvidence:
    return SplitViewEvidence(
        origin=first.key[0],
        lane=first.key[1],
        first=first.message(),
        second=second.message(),
        reason=reason,
    )


def check_split_view(
    evidence: SplitViewEvidence, membership: Membership
) -> tuple[OpenedCheckpoint, OpenedCheckpoint]:
    """The two checkpoints of self-proving split-view evidence: both of the named log, both
    signed by its origin, of one size with different roots. Raises InvalidInputError or
    SignatureError when the evidence proves nothing."""
    first = open_checkpoint_note(evidence.first, membership)
    second = open_checkpoint_note(evidence.second, membership)
    named = (evidence.origin, evidence.lane)
    if first.key != named or second.key != named:
        raise InvalidInputError(
            f"split-view evidence of {evidence.origin} holds checkpoints of another log"
        )
    if first.size != second.size or first.root == second.root:
        raise InvalidInputError(
            "split-view evidence holds two checkpoints of one size with different roots; "
            f"these are of sizes {first.size} and {second.size}"
            + (" with one root" if first.root == second.root else "")
        )
    return first, second
