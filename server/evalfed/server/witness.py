"""The node's book of checkpoints: every log's largest checked checkpoint, gossiped in sync
and cosigned by witnesses, and the split-view evidence it finds.

A checkpoint arrives from sync (the sender's own or relayed), from a Cosign call, or from this
node's own signer. It is checked (the origin's binding and signature, the known
cosignatures), kept only when this node may see the log (the log's records' audience), and
compared with the one held: the same checkpoint adds its new cosignatures; a larger one
replaces it once a consistency proof (from this node's tree, else from the sender) joins
them, or, when no proof can be had, once a member witness has cosigned it (the witness
checked consistency with what it cosigned before); one of the same size with another root,
or one that a proof shows inconsistent, is split-view evidence, kept with both notes. No gRPC here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from evalfed.core import tlog
from evalfed.core.errors import EvalfedError, InvalidInputError, NotFoundError, ProofError
from evalfed.core.membership import Membership
from evalfed.core.note import parse_note
from evalfed.core.records import MEMBERS_LANE, PUBLIC_LANE, LogKey
from evalfed.core.witness import (
    SAME_SIZE,
    OpenedCheckpoint,
    check_split_view,
    open_checkpoint_note,
    split_view,
)
from evalfed.server.storage.store import RecordStore, Viewer, log_name
from evalfed.server.storage.tlog_store import TlogStore
from evalfed.server.storage.witness_store import WitnessStore
from evalfed.v1.envelope_pb2 import CheckpointNote, Envelope, SplitViewEvidence

log = logging.getLogger("evalfed.witness")

Prover = Callable[[LogKey, int, int], Sequence[bytes] | None]
"""Asks for a consistency proof of a log between two sizes; None when it cannot be had."""


def no_prover(_key: LogKey, _old: int, _new: int) -> None:
    return None


@dataclass(frozen=True)
class LogCheckpointStatus:
    key: LogKey
    size: int
    held: int
    cosigners: tuple[str, ...]
    newest_cosigned_at: int

    @property
    def lag(self) -> int:
        return max(0, self.size - self.held)


class CheckpointBook:
    """Takes in checkpoints and evidence, and says what to gossip to whom."""

    def __init__(
        self,
        institute: str,
        membership: Membership,
        store: RecordStore,
        trees: TlogStore,
        witnesses: WitnessStore,
    ) -> None:
        self.institute = institute
        self.membership = membership
        self.store = store
        self.trees = trees
        self.witnesses = witnesses
        self.unproven = 0
        """Larger checkpoints left aside because no consistency proof could be had."""

    def may_see(self, viewer: Viewer, key: LogKey) -> bool:
        """The audience rule of the log's records: all members for the members lane, anyone
        for the public lane, else only callers who may see a record of it held here."""
        if key[1] == MEMBERS_LANE:
            return viewer.is_member
        if key[1] == PUBLIC_LANE:
            return True
        return viewer.is_member and self.store.may_see_log(viewer, key)

    def take(self, message: CheckpointNote, prove: Prover = no_prover) -> str:
        """Checks and compares a checkpoint; what came of it ("held", "same", "cosigned",
        "older", "unproven", "unseen", or "split view")."""
        opened = open_checkpoint_note(message, self.membership)
        return self.take_opened(opened, prove)

    def take_opened(self, opened: OpenedCheckpoint, prove: Prover = no_prover) -> str:
        key = opened.key
        if not self.may_see(Viewer(self.institute), key):
            return "unseen"
        held = self.witnesses.held(key)
        if held is None:
            self.witnesses.hold(key, opened.size, opened.root, opened.message())
            return "held"
        try:
            mine = open_checkpoint_note(held.message, self.membership)
        except EvalfedError:  # e.g. its binding's key was rotated out: take the new one
            self.witnesses.hold(key, opened.size, opened.root, opened.message())
            return "held"
        if opened.size == mine.size:
            if opened.root != mine.root:
                return self._split(mine, opened, SAME_SIZE)
            merged = merge_cosignatures(mine, opened)
            if merged is None:
                return "same"
            self.witnesses.hold(key, mine.size, mine.root, merged)
            return "cosigned"
        small, large = (mine, opened) if mine.size < opened.size else (opened, mine)
        verdict = self._consistent(small, large, prove)
        if verdict is None:
            if large is not opened:
                return "older"
            self.unproven += 1
            if not opened.cosigners:
                log.info(
                    "no consistency proof of %s from %d to %d, and no witness cosigned the "
                    "larger checkpoint: it waits",
                    log_name(key),
                    small.size,
                    large.size,
                )
                return "unproven"
            # A witness checked it against the last one it cosigned: taken without a proof.
            self.witnesses.hold(key, opened.size, opened.root, opened.message())
            return "held"
        if verdict:
            return self._split(small, large, verdict)
        if large is opened:
            self.witnesses.hold(key, opened.size, opened.root, opened.message())
            return "held"
        return "older"

    def _consistent(
        self, small: OpenedCheckpoint, large: OpenedCheckpoint, prove: Prover
    ) -> str | None:
        """ "" when a proof joins the two, the reason when one fails, None when none is had."""
        key = small.key
        proof: Sequence[bytes] | None = None
        source = "this node's tree"
        if self.trees.size(key) >= large.size:
            _, reader = self.trees.reader(key)
            proof = tlog.consistency_proof(small.size, large.size, reader)
        if proof is None:
            proof, source = prove(key, small.size, large.size), "the sender"
        if proof is None:
            return None
        try:
            tlog.verify_consistency(small.size, large.size, list(proof), small.root, large.root)
        except ProofError as exc:
            return f"no consistency from size {small.size} to {large.size} ({source}: {exc})"
        return ""

    def _split(self, first: OpenedCheckpoint, second: OpenedCheckpoint, reason: str) -> str:
        if self.witnesses.add_split_view(split_view(first, second, reason)):
            log.warning(
                "split view of %s: two checkpoints signed by %s (sizes %d and %d): %s",
                log_name(first.key),
                first.key[0],
                first.size,
                second.size,
                reason,
            )
        return "split view"

    def take_split_view(self, evidence: SplitViewEvidence, prove: Prover = no_prover) -> bool:
        """Checks gossiped evidence and keeps it; whether it was new. Evidence of one size
        with two roots proves itself; of two sizes, it is kept only when a consistency proof
        (this node's tree, else the sender's) fails here too."""
        first = open_checkpoint_note(evidence.first, self.membership)
        second = open_checkpoint_note(evidence.second, self.membership)
        if first.size == second.size or first.key != second.key:
            first, _ = check_split_view(evidence, self.membership)
            reason = evidence.reason
        else:
            small, large = sorted((first, second), key=lambda c: c.size)
            verdict = self._consistent(small, large, prove)
            if not verdict:
                return False  # consistent after all, or nothing here can tell
            reason = verdict
        if not self.may_see(Viewer(self.institute), first.key):
            return False
        return self.witnesses.add_split_view(split_view(first, second, reason))

    def take_gossip(
        self,
        notes: Sequence[CheckpointNote],
        views: Sequence[SplitViewEvidence],
        prove: Prover,
        sender: str,
    ) -> dict[str, int]:
        """Takes what a partner sent; how many of each outcome (a refused one is logged)."""
        outcomes: dict[str, int] = {}

        def count(outcome: str) -> None:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1

        for note in notes:
            try:
                count(self.take(note, prove))
            except EvalfedError as exc:
                count("refused")
                log.warning("refused a checkpoint from %s: %s", sender, exc)
        for view in views:
            try:
                count("split view" if self.take_split_view(view, prove) else "known")
            except EvalfedError as exc:
                count("refused")
                log.warning("refused split-view evidence from %s: %s", sender, exc)
        return outcomes

    def gossip(
        self, viewer: Viewer, after_version: int
    ) -> tuple[list[CheckpointNote], list[SplitViewEvidence], int]:
        """The checkpoints and evidence changed after `after_version` of logs `viewer` may
        see, and the version they bring it to."""
        if self.witnesses.unchanged_since(after_version):
            return [], [], after_version
        version = self.witnesses.version()
        notes = [
            held.message
            for held in self.witnesses.held_since(after_version)
            if self.may_see(viewer, held.key)
        ]
        views = [
            held.evidence
            for held in self.witnesses.split_views_since(after_version)
            if self.may_see(viewer, held.key)
        ]
        return notes, views, version

    def split_logs(self) -> set[LogKey]:
        return self.witnesses.split_logs()

    def status(self) -> list[LogCheckpointStatus]:
        """Per log held, the largest checkpoint, the records held with no gap, and its
        cosigners (the operator's view)."""
        complete = {(h.origin, h.lane): h.complete for h in self.store.heads()}
        out = []
        for held in self.witnesses.held_since(0):
            try:
                opened = open_checkpoint_note(held.message, self.membership)
            except EvalfedError:
                continue
            out.append(
                LogCheckpointStatus(
                    held.key,
                    held.size,
                    complete.get(held.key, 0),
                    opened.cosigners,
                    opened.newest_cosigned_at,
                )
            )
        return sorted(out, key=lambda s: s.key)


def merge_cosignatures(mine: OpenedCheckpoint, other: OpenedCheckpoint) -> CheckpointNote | None:
    """`mine` with the checked cosignatures of `other` (same checkpoint) it lacks, newer ones
    replacing older; None when nothing is added."""
    note = mine.signed.note
    have = {(c.name, c.key_hash): c.timestamp for c in mine.signed.cosignatures}
    bindings = list(mine.bindings)
    known = {b.SerializeToString() for b in bindings}
    added = False
    wanted = {(c.name, c.key_hash) for c in other.signed.cosignatures}
    for sig in parse_note(other.note).signatures:
        slot = (sig.name, sig.key_hash)
        if slot in wanted and have.get(slot, -1) < sig.timestamp:
            note = note.with_signature(sig)
            added = True
    if not added:
        return None
    for binding in other.bindings:
        if binding.SerializeToString() not in known:
            bindings.append(binding)
            known.add(binding.SerializeToString())
    return CheckpointNote(note=note.to_bytes(), bindings=bindings)


def with_binding(note: bytes, binding: Envelope) -> CheckpointNote:
    return CheckpointNote(note=note, bindings=[binding])


def require_visible(book: CheckpointBook, viewer: Viewer, key: LogKey) -> None:
    """NOT_FOUND, worded as for a log that does not exist, for a caller outside the log's
    audience, or for a log this node may not see itself."""
    if not (book.may_see(viewer, key) and book.may_see(Viewer(book.institute), key)):
        raise NotFoundError(f"no log {log_name(key)} that you may see is held here")


def check_gossip_sizes(notes: int, views: int, most_notes: int, most_views: int) -> None:
    if notes > most_notes or views > most_views:
        raise InvalidInputError(
            f"a sync batch carries at most {most_notes} checkpoints (MAX_GOSSIP_CHECKPOINTS) "
            f"and {most_views} split views (MAX_GOSSIP_SPLIT_VIEWS), not {notes} and {views}"
        )
