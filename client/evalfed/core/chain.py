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
        self._ids: dict[tuple[str, int], set[str]] = {}
        for origin, seq, record_id in rows:
            self.add(origin, seq, record_id)

    def add(self, origin: str, seq: int, record_id: str) -> None:
        self._ids.setdefault((origin, seq), set()).add(record_id)

    def at(self, origin: str, seq: int) -> set[str]:
        return self._ids.get((origin, seq), set())


def place(record: VerifiedRecord, held: HeldIds) -> Fit:
    """How `record` fits; raises ChainError when its prev contradicts the held record before it."""
    same_seq = held.at(record.origin, record.seq)
    if record.id in same_seq:
        return Fit.DUPLICATE
    before = held.at(record.origin, record.seq - 1) if record.seq > 1 else set()
    if before and record.record.prev not in before:
        raise ChainError(
            f"{record.origin} seq {record.seq} names prev {record.record.prev[:16]}, "
            f"but the record held at seq {record.seq - 1} is {sorted(before)[0][:16]}"
        )
    held.add(record.origin, record.seq, record.id)
    return Fit.FORK if same_seq else Fit.NEW
