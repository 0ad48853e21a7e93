"""Where a verified record fits in its log, given what is already held. No IO.

An origin keeps one log per audience (its lane, see `lane_of`); a log is named by
(origin, lane). A record is new when it extends what is held (or fills a gap another node
could not show us); a duplicate when its id is held; a fork when another record already holds
its (origin, lane, seq), and both are kept as evidence. A record whose prev does not name the
held record before it breaks the chain and is rejected; so is one, outside the members lane,
issued before the record it follows (keys there are valid by issue time, see membership), and
one, in a restricted lane, whose lane salt is not that record's (a lane keeps the salt chosen at
its seq 1, so an ended key cannot add unsalted, legacy-judged records to a salted lane).
A record that fills a gap, when no held record after it names it as prev (with its lane salt),
is a fork too: the origin signed another record at its seq (the one the next record names), or
one that breaks the salt rule past the gap, and the two records it signed are the evidence.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from evalfed.core.checks import VerifiedRecord
from evalfed.core.errors import ChainError
from evalfed.core.records import MEMBERS_LANE, PUBLIC_LANE, LogKey
from evalfed.core.timeutil import iso_of_us


class Fit(Enum):
    NEW = "new"
    DUPLICATE = "duplicate"
    FORK = "fork"


class HeldIds:
    """The ids held per (origin, lane, seq) around a batch, with their issue times, prevs and
    (restricted lanes) salts; updated as the batch is placed."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, str, int], set[str]] = {}
        self.issued_at_us: dict[str, int] = {}
        self.prevs: dict[str, str] = {}
        self.salts: dict[str, bytes] = {}

    def add(
        self,
        origin: str,
        lane: str,
        seq: int,
        record_id: str,
        issued_at_us: int,
        prev: str,
        salt: bytes = b"",
    ) -> None:
        self.ids.setdefault((origin, lane, seq), set()).add(record_id)
        self.issued_at_us[record_id] = issued_at_us
        self.prevs[record_id] = prev
        if salt:
            self.salts[record_id] = salt


def seq_spans(batch: Iterable[VerifiedRecord], before: int = 0) -> dict[LogKey, tuple[int, int]]:
    """Per log, the lowest and highest seq of the batch's records, the lowest reaching
    `before` seqs further back (1: the record each one follows)."""
    spans: dict[LogKey, tuple[int, int]] = {}
    for record in batch:
        facts = record.facts  # read once: this runs for every record stored
        key, seq = (facts.origin, facts.lane), facts.seq
        span = spans.get(key)
        spans[key] = (
            (seq - before, seq) if span is None else (min(span[0], seq - before), max(span[1], seq))
        )
    return spans


def place(record: VerifiedRecord, held: HeldIds) -> Fit:
    """How `record` fits; raises ChainError when its prev contradicts the held record before it.
    (On the sync hot path: three dictionary lookups per seq, written out here.)"""
    facts = record.facts
    origin, lane, seq, prev = facts.origin, facts.lane, facts.seq, facts.prev
    record_id, ids = record.id, held.ids
    same_seq = ids.get((origin, lane, seq))
    if same_seq is not None and record_id in same_seq:
        return Fit.DUPLICATE
    before = ids.get((origin, lane, seq - 1)) if seq > 1 else None
    if before and prev not in before:
        raise ChainError(
            f"{origin} seq {seq} names prev {prev[:16]}, "
            f"but the record held at seq {seq - 1} is {sorted(before)[0][:16]}"
        )
    salt = b""
    if lane != MEMBERS_LANE:
        if before:
            check_issued_after(facts.issued_at_us, held.issued_at_us[prev], origin, seq)
        if lane != PUBLIC_LANE:
            salt = record.lane_salt
            if before:
                check_salt_kept(salt, held.salts.get(prev, b""), origin, seq)
            if salt:
                held.salts[record_id] = salt
    if same_seq is None:
        ids[(origin, lane, seq)] = {record_id}
    else:
        same_seq.add(record_id)
    held.issued_at_us[record_id] = facts.issued_at_us
    prevs = held.prevs
    prevs[record_id] = prev
    after = ids.get((origin, lane, seq + 1))
    if same_seq or (after and not _followed(record_id, salt, after, held)):
        return Fit.FORK
    return Fit.NEW


def _followed(record_id: str, salt: bytes, after: set[str], held: HeldIds) -> bool:
    """Whether a held record at the next seq follows `record_id`: names it as prev, with the
    same lane salt (a record stored past a gap was not checked against the one it follows)."""
    prevs, salts = held.prevs, held.salts
    return any(prevs[n] == record_id and salts.get(n, b"") == salt for n in after)


def check_salt_kept(salt: bytes, prev_salt: bytes, origin: str, seq: int) -> None:
    """In a restricted lane, a record keeps the salt of the record it follows."""
    if salt != prev_salt:
        raise ChainError(
            f"{origin} seq {seq} has lane salt {salt.hex() or '(none)'}, but the record it "
            f"follows in its lane has {prev_salt.hex() or '(none)'}; a lane keeps the salt "
            "chosen at its seq 1: copy it from the lane's head record"
        )


def check_issued_after(issued_at_us: int, prev_issued_at_us: int, origin: str, seq: int) -> None:
    """Outside the members lane, a record may not be issued before the one it follows."""
    if issued_at_us < prev_issued_at_us:
        raise ChainError(
            f"{origin} seq {seq} was issued at {iso_of_us(issued_at_us)}, before the record it "
            f"follows in its lane ({iso_of_us(prev_issued_at_us)})"
        )
