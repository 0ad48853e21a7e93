"""Where a verified record fits in its log, given what is already held. No IO.

An origin keeps one log per audience (its lane, see `lane_of`); a log is named by
(origin, lane). A record is new when it extends what is held (or fills a gap another node
could not show us); a duplicate when its id is held; a fork when another record already holds
its (origin, lane, seq), and both are kept as evidence. A record whose prev does not name the
held record before it breaks the chain and is rejected.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from evalfed.core.checks import VerifiedRecord
from evalfed.core.errors import ChainError

LogKey = tuple[str, str]
"""A log: (origin, lane)."""


class Fit(Enum):
    NEW = "new"
    DUPLICATE = "duplicate"
    FORK = "fork"


class HeldIds:
    """The ids held per (origin, lane, seq) around a batch; updated as the batch is placed."""

    def __init__(self, rows: Iterable[tuple[str, str, int, str]] = ()) -> None:
        self.ids: dict[tuple[str, str, int], set[str]] = {}
        for origin, lane, seq, record_id in rows:
            self.add(origin, lane, seq, record_id)

    def add(self, origin: str, lane: str, seq: int, record_id: str) -> None:
        self.ids.setdefault((origin, lane, seq), set()).add(record_id)


def place(record: VerifiedRecord, held: HeldIds) -> Fit:
    """How `record` fits; raises ChainError when its prev contradicts the held record before it.
    (On the sync hot path: one dictionary lookup per seq.)"""
    facts = record.facts
    origin, lane, seq, prev = facts.origin, facts.lane, facts.seq, facts.prev
    same_seq = held.ids.get((origin, lane, seq))
    if same_seq is not None and record.id in same_seq:
        return Fit.DUPLICATE
    before = held.ids.get((origin, lane, seq - 1)) if seq > 1 else None
    if before and prev not in before:
        raise ChainError(
            f"{origin} seq {seq} names prev {prev[:16]}, "
            f"but the record held at seq {seq - 1} is {sorted(before)[0][:16]}"
        )
    held.add(origin, lane, seq, record.id)
    return Fit.FORK if same_seq else Fit.NEW
