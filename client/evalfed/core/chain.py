"""Where a verified record fits in its origin's log, given what is already held. No IO.

A record is new when it extends what is held (or fills a gap another node could not show us);
a duplicate when its id is held; a fork when another record already holds its (origin, seq),
and both are kept as evidence. A record whose prev does not name the held record before it
breaks the chain and is rejected.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from evalfed.core.checks import VerifiedRecord
from evalfed.core.errors import ChainError


class Fit(Enum):
    NEW = "new"
    DUPLICATE = "duplicate"
    FORK = "fork"


class HeldIds:
    """The ids held per (origin, seq) around a batch; updated as the batch is placed."""

    def __init__(self, rows: Iterable[tuple[str, int, str]] = ()) -> None:
        self.ids: dict[tuple[str, int], set[str]] = {}
        for origin, seq, record_id in rows:
            self.add(origin, seq, record_id)

    def add(self, origin: str, seq: int, record_id: str) -> None:
        self.ids.setdefault((origin, seq), set()).add(record_id)


def place(record: VerifiedRecord, held: HeldIds) -> Fit:
    """How `record` fits; raises ChainError when its prev contradicts the held record before it.
    (On the sync hot path: one dictionary lookup per seq.)"""
    origin, seq, prev = record.facts.origin, record.facts.seq, record.facts.prev
    same_seq = held.ids.get((origin, seq))
    if same_seq is not None and record.id in same_seq:
        return Fit.DUPLICATE
    before = held.ids.get((origin, seq - 1)) if seq > 1 else None
    if before and prev not in before:
        raise ChainError(
            f"{origin} seq {seq} names prev {prev[:16]}, "
            f"but the record held at seq {seq - 1} is {sorted(before)[0][:16]}"
        )
    held.add(origin, seq, record.id)
    return Fit.FORK if same_seq else Fit.NEW
