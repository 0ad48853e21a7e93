"""Storage for sync: cursors and partners, the backlog a partner lacks, and storing a
partner's batch (with its progress) in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func, select, tuple_, update
from sqlalchemy.engine import Connection, Row

from evalfed.core.chain import Fit, HeldIds, place, seq_spans
from evalfed.core.checks import VerifiedRecord
from evalfed.core.errors import ChainError
from evalfed.core.records import INSTITUTES, LogKey
from evalfed.core.timeutil import now_us
from evalfed.server.storage.lanes import within_lane_cap
from evalfed.server.storage.schema import logs, peers, records
from evalfed.server.storage.store import (
    IN_LOG,
    NewRow,
    RecordStore,
    Viewer,
    head_of,
    insert_rows,
    log_params,
    row_of,
    set_head,
    viewer_params,
    visible_clause,
)

_PEERS = select(peers).order_by(peers.c.added_at_us, peers.c.address)
_NEXT_EMBARGO_END = select(func.min(records.c.embargo_until_us)).where(
    records.c.audience_scope == INSTITUTES, records.c.embargo_until_us > bindparam("after_us")
)
_MOVE_EMBARGO_CURSOR = (
    update(peers)
    .where(peers.c.address == bindparam("peer"), peers.c.embargo_through_us < bindparam("through"))
    .values(embargo_through_us=bindparam("through"))
)
_HELD_IN_SPAN = select(records.c.seq, records.c.id, records.c.issued_at_us).where(
    IN_LOG, records.c.seq.between(bindparam("low"), bindparam("high"))
)


@cache
def _others_at(member: bool) -> Select[Any]:
    return select(records.c.envelope).where(
        IN_LOG,
        records.c.seq == bindparam("at_seq"),
        records.c.id != bindparam("at_id"),
        visible_clause(member),
    )


@cache
def _backlog(member: bool, within_seq: bool) -> Select[Any]:
    """A page of one log after (after_seq, after_id), or after after_seq unless `within_seq`."""
    past = (
        tuple_(records.c.seq, records.c.id) > tuple_(bindparam("after_seq"), bindparam("after_id"))
        if within_seq
        else records.c.seq > bindparam("after_seq")
    )
    return (
        select(records.c.seq, records.c.id, records.c.envelope)
        .where(
            IN_LOG,
            past,
            records.c.pos <= bindparam("max_pos"),
            records.c.void_reason == "",
            visible_clause(member),
        )
        .order_by(records.c.seq, records.c.id)
        .limit(bindparam("page"))
    )


@cache
def _fork_evidence(member: bool) -> Select[Any]:
    forked = select(logs.c.origin).where(logs.c.forked)
    other = records.alias("other")
    return (
        select(records.c.envelope)
        .where(
            records.c.origin.in_(forked),
            visible_clause(member),
            select(other.c.pos)
            .where(
                other.c.origin == records.c.origin,
                other.c.lane == records.c.lane,
                other.c.seq == records.c.seq,
                other.c.id != records.c.id,
            )
            .exists(),
        )
        .order_by(records.c.origin, records.c.lane, records.c.seq)
    )


@cache
def _appended_since(member: bool) -> Select[Any]:
    return (
        select(records.c.pos, records.c.envelope)
        .where(
            records.c.pos > bindparam("after_pos"),
            records.c.void_reason == "",
            visible_clause(member),
        )
        .order_by(records.c.pos)
        .limit(bindparam("page"))
    )


@cache
def _embargo_released(member: bool) -> Select[Any]:
    return (
        select(records.c.pos, records.c.envelope)
        .where(
            records.c.audience_scope == INSTITUTES,
            records.c.embargo_until_us > bindparam("after_us"),
            records.c.embargo_until_us <= bindparam("until_us"),
            visible_clause(member),
        )
        .order_by(records.c.origin, records.c.lane, records.c.seq)
    )


@dataclass
class SyncResult:
    """What became of one partner batch."""

    new: int = 0
    duplicates: int = 0
    forks: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    highest: dict[LogKey, int] = field(default_factory=dict)
    """Per log, the highest seq the batch held (stored or not): how far the partner has it."""


class SyncStore:
    """The sync side of a node's storage, on the same engine and write lock as its RecordStore."""

    def __init__(self, store: RecordStore, own_institute: str) -> None:
        self.store = store
        self.own_institute = own_institute
        self.engine = store.engine

    # -- partners and cursors ----------------------------------------------------------------

    def cursors(self, partner: Viewer) -> dict[LogKey, tuple[int, str]]:
        """Per log, the highest seq held that `partner` may see, and its id: what this node
        tells the partner it has (a log the partner may not see is not named to it)."""
        return {(h.origin, h.lane): (h.seq, h.id) for h in self.store.visible_heads(partner, False)}

    def others_at(self, viewer: Viewer, key: LogKey, seq: int, record_id: str) -> list[Row]:
        """Records `viewer` may see at (origin, lane, seq) other than `record_id`: fork
        evidence."""
        params = {**viewer_params(viewer, now_us()), **log_params(key)}
        params.update(at_seq=seq, at_id=record_id)
        with self.engine.connect() as conn:
            return list(conn.execute(_others_at(viewer.is_member), params))

    def peer_list(self) -> list[tuple[str, int]]:
        """Partner addresses, each with the time through which its embargo releases arrived."""
        with self.engine.connect() as conn:
            return [(r.address, r.embargo_through_us) for r in conn.execute(_PEERS)]

    def add_peer(self, address: str) -> bool:
        with self.store.write_lock, self.engine.begin() as conn:
            if conn.execute(select(peers.c.address).where(peers.c.address == address)).first():
                return False
            conn.execute(peers.insert().values(address=address, added_at_us=now_us()))
            return True

    def remove_peer(self, address: str) -> bool:
        with self.store.write_lock, self.engine.begin() as conn:
            return bool(conn.execute(peers.delete().where(peers.c.address == address)).rowcount)

    # -- serving a partner -------------------------------------------------------------------

    def backlog(
        self,
        viewer: Viewer,
        key: LogKey,
        after: tuple[int, str | None],
        max_pos: int,
        limit: int,
    ) -> Sequence[Row]:
        """Records of one log that `viewer` may see, stored by `max_pos`, in (seq, id) order
        after `after`: (seq, id), or (seq, None) for everything past that seq. One walk along
        the (origin, lane, seq, id) index, however many records the node holds."""
        seq, record_id = after
        query = _backlog(viewer.is_member, record_id is not None)
        params = {**viewer_params(viewer, now_us()), **log_params(key)}
        params.update(after_seq=seq, after_id=record_id, max_pos=max_pos, page=limit)
        with self.engine.connect() as conn:
            return conn.execute(query, params).all()  # one fetch, not one per row

    def fork_evidence(self, viewer: Viewer) -> list[Row]:
        """Every record `viewer` may see at an (origin, lane, seq) that holds more than one."""
        query = _fork_evidence(viewer.is_member)
        with self.engine.connect() as conn:
            return list(conn.execute(query, viewer_params(viewer, now_us())))

    def appended_since(self, viewer: Viewer, after_pos: int, limit: int) -> list[Row]:
        """Records stored after `after_pos` that `viewer` may see, in the order stored."""
        params = {**viewer_params(viewer, now_us()), "after_pos": after_pos, "page": limit}
        with self.engine.connect() as conn:
            return list(conn.execute(_appended_since(viewer.is_member), params))

    def embargo_released(self, viewer: Viewer, after_us: int, until_us: int) -> list[Row]:
        """Restricted records whose embargo ended in (after_us, until_us], as `viewer` sees them."""
        params = {**viewer_params(viewer, until_us), "after_us": after_us, "until_us": until_us}
        with self.engine.connect() as conn:
            return list(conn.execute(_embargo_released(viewer.is_member), params))

    def next_embargo_end(self, after_us: int) -> int | None:
        with self.engine.connect() as conn:
            value = conn.execute(_NEXT_EMBARGO_END, {"after_us": after_us}).scalar()
        return int(value) if value is not None else None

    # -- storing a partner's batch -----------------------------------------------------------

    def append_synced(
        self, batch: Sequence[VerifiedRecord], peer: str, embargo_through_us: int
    ) -> SyncResult:
        """Stores a partner's batch in one transaction, with the partner's embargo cursor.

        Each record is placed against what is held: duplicates are skipped, forks kept as
        evidence (and the origin flagged), and a record that breaks its chain is rejected.
        """
        result = SyncResult()
        received = now_us()
        rows: list[NewRow] = []
        own = self.own_institute
        with self.store.write_lock, self.engine.begin() as conn:
            batch, over_cap = within_lane_cap(conn, batch, self.store.lane_cap)
            result.rejected += over_cap
            spans = seq_spans(batch, before=1)
            held = _held_in(conn, spans)
            heads = {key: head_of(conn, key, for_update=True) for key in spans}
            tops = {key: (head.seq, head.id) for key, head in heads.items()}
            forked: set[LogKey] = set()
            for verified in batch:
                try:
                    fit = place(verified, held)
                except ChainError as exc:
                    result.rejected.append((verified.id, f"chain: {exc}"))
                    continue
                if fit is Fit.DUPLICATE:
                    result.duplicates += 1
                    continue
                facts = verified.facts
                rows.append(row_of(verified, peer, received, digest=facts.origin == own))
                key = (facts.origin, facts.lane)
                if fit is Fit.FORK:
                    result.forks += 1
                    forked.add(key)
                else:
                    result.new += 1
                if facts.seq > tops[key][0]:
                    tops[key] = (facts.seq, verified.id)
            if rows:
                insert_rows(conn, rows)
            for key, head in heads.items():
                seq, head_id = tops[key]
                if seq != head.seq or key in forked:
                    set_head(conn, key, head, seq, head_id, forked=key in forked)
            if embargo_through_us:
                conn.execute(_MOVE_EMBARGO_CURSOR, {"peer": peer, "through": embargo_through_us})
        result.highest = {key: high for key, (_, high) in spans.items()}
        if rows:
            self.store.notify_appended(len(rows))
        return result


def _held_in(conn: Connection, spans: dict[LogKey, tuple[int, int]]) -> HeldIds:
    """The held ids in each log's span of seqs."""
    held = HeldIds()
    for (origin, lane), (low, high) in spans.items():
        params = {**log_params((origin, lane)), "low": low, "high": high}
        for row in conn.execute(_HELD_IN_SPAN, params):
            held.add(origin, lane, row.seq, row.id, row.issued_at_us)
    return held
