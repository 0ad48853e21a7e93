"""Storage for sync: cursors and partners, the backlog a partner lacks, and storing a
partner's batch (with its progress) in one transaction.

A cursor says the highest seq held with no gap before it (`logs.complete_seq`, moved in the
transaction that stores each batch) and the runs held past a gap, so every partner that
holds a missing record sends it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, func, select, tuple_, update
from sqlalchemy.engine import Connection, Row

from evalfed.core.chain import Fit, HeldIds, place, seq_spans
from evalfed.core.checks import VerifiedRecord, decode_envelope
from evalfed.core.errors import ChainError
from evalfed.core.limits import MAX_FORK_RIVALS, MAX_GAP_RANGES
from evalfed.core.records import INSTITUTES, LogKey, is_restricted, parse_record
from evalfed.core.timeutil import now_us
from evalfed.server.storage.lanes import within_lane_cap
from evalfed.server.storage.schema import logs, peers, records
from evalfed.server.storage.store import (
    IN_LOG,
    NO_END,
    NewRow,
    RecordStore,
    Viewer,
    head_of,
    held_count,
    held_ranges,
    insert_rows,
    log_params,
    row_of,
    set_head,
    viewer_params,
    visible_clause,
)

_PEERS = select(peers).order_by(peers.c.added_at_us, peers.c.address)
_PEER = select(peers).where(peers.c.address == bindparam("peer"))
_LOG_STATES = select(logs.c.origin, logs.c.lane, logs.c.head_seq, logs.c.complete_seq).order_by(
    logs.c.origin, logs.c.lane
)
_SET_FORKS_CURSOR = (
    update(peers)
    .where(peers.c.address == bindparam("peer"))
    .values(forks_cursor=bindparam("cursor"))
)
_NEXT_EMBARGO_END = select(func.min(records.c.embargo_until_us)).where(
    records.c.audience_scope == INSTITUTES, records.c.embargo_until_us > bindparam("after_us")
)
_MOVE_EMBARGO_CURSOR = (
    update(peers)
    .where(peers.c.address == bindparam("peer"), peers.c.embargo_through_us < bindparam("through"))
    .values(embargo_through_us=bindparam("through"))
)
_HELD_IN_SPAN = select(records.c.seq, records.c.id, records.c.issued_at_us, records.c.prev).where(
    IN_LOG, records.c.seq.between(bindparam("low"), bindparam("high"))
)
_HELD_IN_RESTRICTED_SPAN = _HELD_IN_SPAN.add_columns(records.c.envelope)
"""As _HELD_IN_SPAN, with the envelopes, for their lane salts (restricted lanes only)."""


@cache
def _visible_at(member: bool) -> Select[Any]:
    return (
        select(records.c.id)
        .where(IN_LOG, records.c.seq == bindparam("at_seq"), visible_clause(member))
        .order_by(records.c.id)
        .limit(1)
    )


@cache
def _others_at(member: bool) -> Select[Any]:
    return select(records.c.envelope).where(
        IN_LOG,
        records.c.seq == bindparam("at_seq"),
        records.c.id != bindparam("at_id"),
        records.c.void_reason == "",
        visible_clause(member),
    )


@cache
def _backlog(member: bool, within_seq: bool) -> Select[Any]:
    """A page of one log after (after_seq, after_id), or after after_seq unless `within_seq`,
    up to through_seq."""
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
            records.c.seq <= bindparam("through_seq"),
            records.c.pos <= bindparam("max_pos"),
            records.c.void_reason == "",
            visible_clause(member),
        )
        .order_by(records.c.seq, records.c.id)
        .limit(bindparam("page"))
    )


_other = records.alias("other")
_FORKS_STORED_IN = (
    select(records.c.origin, records.c.lane, records.c.seq)
    .where(
        records.c.pos > bindparam("after_pos"),
        records.c.pos <= bindparam("upto_pos"),
        records.c.origin.in_(select(logs.c.origin).where(logs.c.forked)),
        select(_other.c.pos)
        .where(
            _other.c.origin == records.c.origin,
            _other.c.lane == records.c.lane,
            _other.c.seq == records.c.seq,
            _other.c.id != records.c.id,
        )
        .exists(),
    )
    .distinct()
    .order_by(records.c.origin, records.c.lane, records.c.seq)
)
"""The (origin, lane, seq) of forked logs where a record stored in (after_pos, upto_pos] has
a rival: the fork evidence a partner that had everything through after_pos lacks."""


@cache
def _at_seq(member: bool) -> Select[Any]:
    return (
        select(records.c.envelope)
        .where(
            IN_LOG,
            records.c.seq == bindparam("at_seq"),
            records.c.void_reason == "",
            visible_clause(member),
        )
        .order_by(records.c.id)
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
            records.c.void_reason == "",
            visible_clause(member),
        )
        .order_by(records.c.origin, records.c.lane, records.c.seq)
    )


class Have(NamedTuple):
    """What a node holds of one log, as its cursor says: the highest seq with no gap before
    it, the id there, and the runs of seqs held past the gap (at most MAX_GAP_RANGES)."""

    seq: int
    id: str
    held: tuple[tuple[int, int], ...] = ()

    def wanted(self) -> list[tuple[int, int]]:
        """The seq spans (after, through] a partner should send: between and past the runs."""
        spans, after = [], self.seq
        for low, high in self.held:
            spans.append((after, low - 1))
            after = high
        spans.append((after, NO_END))
        return spans


class PeerCursors(NamedTuple):
    """How far a partner's deliveries reached: embargo releases by time, fork evidence by
    the partner's (opaque) fork cursor."""

    embargo_through_us: int = 0
    forks_cursor: bytes = b""


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

    def cursors(self, partner: Viewer) -> dict[LogKey, Have]:
        """Per log `partner` may see, what this node tells the partner it has: the highest seq
        held with no gap before it, and the runs held past the gap (a log the partner may not
        see is not named to it). One index lookup per log, and a walk past the gap of a log
        that has one."""
        query = _visible_at(partner.is_member)
        params = viewer_params(partner, now_us())
        cursors = {}
        with self.engine.connect() as conn:
            for origin, lane, head_seq, complete in conn.execute(_LOG_STATES).all():
                key = (origin, lane)
                held = (
                    held_ranges(conn, key, complete, MAX_GAP_RANGES) if head_seq > complete else []
                )
                at_seq = complete or (held[0][0] if held else 0)
                found = conn.execute(query, {**params, **log_params(key), "at_seq": at_seq}).first()
                if found is not None:
                    cursors[key] = Have(complete, found.id if complete else "", tuple(held))
        return cursors

    def lags(self, claims: dict[str, dict[LogKey, int]]) -> dict[str, int]:
        """Per partner, the seqs up to the heads it claims (per log) that this node lacks.
        The claims are what the partner said and sent: a liar can make its lag look larger,
        not hide a gap. Signed heads (checkpoints) would take their place here."""
        heads = {(h.origin, h.lane): h for h in self.store.heads()}
        lags = dict.fromkeys(claims, 0)
        with self.engine.connect() as conn:
            for partner, claimed in claims.items():
                for key, claim in claimed.items():
                    head = heads.get(key)
                    complete, top = (head.complete, head.seq) if head else (0, 0)
                    if claim <= complete:
                        continue
                    upto = min(claim, top)
                    held = held_count(conn, key, complete, upto) if upto > complete else 0
                    lags[partner] += claim - complete - held
        return lags

    def peer_cursors(self, address: str) -> PeerCursors:
        with self.engine.connect() as conn:
            row = conn.execute(_PEER, {"peer": address}).first()
        if row is None:
            return PeerCursors()
        return PeerCursors(row.embargo_through_us, row.forks_cursor or b"")

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
        through_seq: int = NO_END,
    ) -> Sequence[Row]:
        """Records of one log that `viewer` may see, stored by `max_pos`, in (seq, id) order
        after `after` and up to `through_seq`: (seq, id), or (seq, None) for everything past
        that seq. One walk along the (origin, lane, seq, id) index, however many records the
        node holds."""
        seq, record_id = after
        query = _backlog(viewer.is_member, record_id is not None)
        params = {**viewer_params(viewer, now_us()), **log_params(key)}
        params.update(after_seq=seq, after_id=record_id, max_pos=max_pos, page=limit)
        params.update(through_seq=through_seq)
        with self.engine.connect() as conn:
            return conn.execute(query, params).all()  # one fetch, not one per row

    def fork_evidence(self, viewer: Viewer, after_pos: int, upto_pos: int) -> list[Row]:
        """The valid records `viewer` may see at each (origin, lane, seq) holding more than
        one where a record was stored in (after_pos, upto_pos]."""
        query = _at_seq(viewer.is_member)
        params = viewer_params(viewer, now_us())
        evidence: list[Row] = []
        with self.engine.connect() as conn:
            bounds = {"after_pos": after_pos, "upto_pos": upto_pos}
            for origin, lane, seq in conn.execute(_FORKS_STORED_IN, bounds).all():
                at = {**params, **log_params((origin, lane)), "at_seq": seq}
                evidence += conn.execute(query, at).all()
        return evidence

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
        self,
        batch: Sequence[VerifiedRecord],
        peer: str,
        embargo_through_us: int,
        forks_cursor: bytes = b"",
    ) -> SyncResult:
        """Stores a partner's batch in one transaction, with the partner's cursors.

        Each record is placed against what is held: duplicates are skipped, forks kept as
        evidence (and the origin flagged) up to MAX_FORK_RIVALS per seq, and a record that
        breaks its chain is rejected. Each log's gap-free seq moves with it.
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
                key = (facts.origin, facts.lane)
                if fit is Fit.FORK:
                    at_seq = held.ids[(*key, facts.seq)]
                    if len(at_seq) > 1 + MAX_FORK_RIVALS:
                        at_seq.discard(verified.id)
                        result.rejected.append(
                            (verified.id, f"forklimit: {facts.origin} already has "
                             f"{1 + MAX_FORK_RIVALS} records at seq {facts.seq} "
                             f"(MAX_FORK_RIVALS={MAX_FORK_RIVALS})")
                        )  # fmt: skip
                        continue
                    result.forks += 1
                    forked.add(key)
                else:
                    result.new += 1
                rows.append(row_of(verified, peer, received, digest=facts.origin == own))
                if facts.seq > tops[key][0]:
                    tops[key] = (facts.seq, verified.id)
            if rows:
                insert_rows(conn, rows)
            for key, head in heads.items():
                seq, head_id = tops[key]
                complete = _complete_seq(conn, key, head.complete, seq, held, spans[key][1])
                if seq != head.seq or key in forked or complete != head.complete:
                    set_head(conn, key, head, seq, head_id, key in forked, complete)
            if embargo_through_us:
                conn.execute(_MOVE_EMBARGO_CURSOR, {"peer": peer, "through": embargo_through_us})
            if forks_cursor:
                conn.execute(_SET_FORKS_CURSOR, {"peer": peer, "cursor": forks_cursor})
        result.highest = {key: high for key, (_, high) in spans.items()}
        if rows:
            self.store.notify_appended(len(rows))
        return result


def _complete_seq(
    conn: Connection, key: LogKey, complete: int, head: int, held: HeldIds, span_high: int
) -> int:
    """A log's gap-free seq after a batch: walked on through the seqs the batch's span holds
    (a dictionary lookup per record), then, only when it reaches the span's end below the
    head (a gap just filled), through the runs stored past it."""
    origin, lane = key
    ids = held.ids
    while (origin, lane, complete + 1) in ids:
        complete += 1
    if span_high <= complete < head:
        runs = held_ranges(conn, key, complete, 1)
        if runs and runs[0][0] == complete + 1:
            complete = runs[0][1]
    return complete


def _held_in(conn: Connection, spans: dict[LogKey, tuple[int, int]]) -> HeldIds:
    """The held ids in each log's span of seqs and at the seq past it (whose prevs a record
    filling a gap must match)."""
    held = HeldIds()
    for (origin, lane), (low, high) in spans.items():
        params = {**log_params((origin, lane)), "low": low, "high": high + 1}
        if not is_restricted(lane):
            for row in conn.execute(_HELD_IN_SPAN, params):
                held.add(origin, lane, row.seq, row.id, row.issued_at_us, row.prev)
            continue
        for row in conn.execute(_HELD_IN_RESTRICTED_SPAN, params):
            salt = parse_record(decode_envelope(row.envelope)).lane_salt
            held.add(origin, lane, row.seq, row.id, row.issued_at_us, row.prev, salt)
    return held
