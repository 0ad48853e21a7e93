"""The record store: appends verified records, keeps each log's head, answers reads.

An origin keeps one log per audience, its lane (see evalfed.core.records.lane_of); a log is
named by (origin, lane).

Every append is one transaction: the rows, the log heads and (for sync) the cursor move
together, so a crash at any point leaves either all of a batch or none of it.

Statements are built once, with bound parameters for their values: building a select and
its cache key cost SQLAlchemy more than running it (a log's head: 200 against 39 µs).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, distinct, func, or_, select, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.sql.elements import ColumnElement

from evalfed.core.chain import check_issued_after, check_salt_kept, seq_spans
from evalfed.core.checks import VerifiedRecord, decode_envelope
from evalfed.core.errors import ConflictError
from evalfed.core.limits import MAX_GAP_RANGES, MAX_LANES_PER_ORIGIN
from evalfed.core.records import (
    INSTITUTES,
    MEMBERS_LANE,
    PUBLIC,
    LogKey,
    RecordFacts,
    is_restricted,
    parse_record,
)
from evalfed.core.timeutil import now_us
from evalfed.server.storage.lanes import check_lanes
from evalfed.server.storage.schema import HAS_TARGET, logs, records
from evalfed.server.storage.stats import TableStats


@dataclass(frozen=True)
class Viewer:
    """Who is reading: a member institute, or nobody (anonymous, public records only)."""

    institute: str | None

    @classmethod
    def anonymous(cls) -> Viewer:
        return cls(None)

    @property
    def is_member(self) -> bool:
        return self.institute is not None


@dataclass(frozen=True)
class Head:
    origin: str
    seq: int
    id: str
    forked: bool = False
    lane: str = MEMBERS_LANE
    complete: int = 0
    """The highest seq held with no gap before it (the node's own view; 0 in others')."""


@dataclass(frozen=True)
class LogGap:
    """Seqs of a log missing below its head: what a relay withheld, or has not sent yet."""

    origin: str
    lane: str
    complete: int
    head: int
    missing: int
    missing_ranges: list[tuple[int, int]]
    """The first MAX_GAP_RANGES ranges of missing seqs, (low, high) both included."""


@dataclass(frozen=True)
class Appended:
    """One record of an append: its id and seq, and whether the node held it already."""

    id: str
    seq: int
    existed: bool


@dataclass(frozen=True)
class QueryFilter:
    model: str = ""
    task: str = ""
    origin: str = ""
    kind: str = ""


ROW_COLUMNS = ("id", *RecordFacts._fields, "body_digest", "envelope", "received_at_us",
               "received_from", "void_reason", "id_key", "digest_key")  # fmt: skip
"""The columns of a new row, in the order `row_of` gives them."""

NewRow = tuple[object, ...]


def row_of(
    verified: VerifiedRecord, received_from: str, received_at: int, digest: bool = True
) -> NewRow:
    """The row for a record, in ROW_COLUMNS order; `digest` records its body digest (for
    de-duplicating one's own results; other origins' records do not need it)."""
    body_digest = verified.body_digest if digest else ""
    return (
        verified.id,
        *verified.facts,
        body_digest,
        verified.envelope_bytes,
        received_at,
        received_from,
        "",
        hash_key(verified.id),
        hash_key(body_digest),
    )


_TWO_TO_63, _TWO_TO_64 = 1 << 63, 1 << 64


def hash_key(hex_hash: str) -> int:
    """The indexed key of a record id or body digest: its first 8 bytes as a signed 64-bit
    integer (0 for none). Lookups compare the full value too."""
    if not hex_hash:
        return 0
    key = int(hex_hash[:16], 16)
    return key - _TWO_TO_64 if key >= _TWO_TO_63 else key


def visible_clause(member: bool) -> ColumnElement[bool]:
    """The SQL condition for records a viewer may see (see evalfed.core audience rules): a
    member institute, named by the parameters `viewer_params` gives, or (not `member`)
    anybody, who sees public records only."""
    if not member:
        return records.c.audience_scope == PUBLIC
    return or_(
        records.c.audience_scope != INSTITUTES,
        records.c.origin == bindparam("viewer"),
        records.c.audience.like(bindparam("viewer_pattern")),
        and_(
            records.c.embargo_until_us.is_not(None),
            records.c.embargo_until_us <= bindparam("viewer_now_us"),
        ),
    )


def viewer_params(viewer: Viewer, now: int) -> dict[str, Any]:
    """The parameters of `visible_clause(viewer.is_member)` at time `now`."""
    if not viewer.is_member:
        return {}
    return {
        "viewer": viewer.institute,
        "viewer_pattern": f"%,{viewer.institute},%",
        "viewer_now_us": now,
    }


_MAX_POS = select(func.max(records.c.pos))
_LOGS = select(logs.c.origin, logs.c.lane).order_by(logs.c.origin, logs.c.lane)
_LOG_FORKS = select(logs.c.origin, logs.c.lane, logs.c.forked).order_by(logs.c.origin, logs.c.lane)
_HEADS = select(logs).order_by(logs.c.origin, logs.c.lane)
_COUNT = select(func.count()).select_from(records)
_FORKED_ORIGINS = select(logs.c.origin).where(logs.c.forked)
_FORKED_LOGS = select(logs.c.origin, logs.c.lane).where(logs.c.forked)
_GAPPED_LOGS = select(logs).where(logs.c.head_seq > logs.c.complete_seq)
_SUPERSEDING = select(records.c.target, records.c.kind, records.c.id).where(
    records.c.target.in_(bindparam("targets", expanding=True)),
    HAS_TARGET,
    records.c.kind.in_(("retraction", "correction")),
)
_IS_LOG = and_(logs.c.origin == bindparam("log_origin"), logs.c.lane == bindparam("log_lane"))
IN_LOG = and_(records.c.origin == bindparam("log_origin"), records.c.lane == bindparam("log_lane"))
"""Records of the log that `log_params` names."""
_HEAD = select(logs).where(_IS_LOG)
_HEAD_FOR_UPDATE = _HEAD.with_for_update()
_SET_HEAD = (
    update(logs)
    .where(_IS_LOG)
    .values(
        head_seq=bindparam("new_seq"),
        head_id=bindparam("new_id"),
        forked=bindparam("new_forked"),
        complete_seq=bindparam("new_complete"),
    )
)
_ISSUED_AT = select(records.c.issued_at_us).where(
    IN_LOG, records.c.seq == bindparam("at_seq"), records.c.id == bindparam("at_id")
)
_ENVELOPE_AT = select(records.c.envelope).where(
    IN_LOG, records.c.seq == bindparam("at_seq"), records.c.id == bindparam("at_id")
)


def log_params(key: LogKey) -> dict[str, Any]:
    """The parameters that name a log in the statements here."""
    return {"log_origin": key[0], "log_lane": key[1]}


@cache
def _visible_top(member: bool, valid_only: bool) -> Select[Any]:
    """A log's last record the viewer may see."""
    visible = visible_clause(member)
    if valid_only:
        visible = and_(visible, records.c.void_reason == "")
    return (
        select(records.c.seq, records.c.id)
        .where(IN_LOG, visible)
        .order_by(records.c.seq.desc(), records.c.id.desc())
        .limit(1)
    )


@cache
def _visible_in_log(member: bool) -> Select[Any]:
    return select(records.c.pos).where(IN_LOG, visible_clause(member)).limit(1)


_held_seqs = (
    select(records.c.seq)
    .where(IN_LOG, records.c.seq > bindparam("after_seq"), records.c.seq <= bindparam("upto_seq"))
    .distinct()
    .subquery()
)
_islands = select(
    _held_seqs.c.seq,
    (_held_seqs.c.seq - func.row_number().over(order_by=_held_seqs.c.seq)).label("island"),
).subquery()
_HELD_RANGES = (
    select(func.min(_islands.c.seq).label("low"), func.max(_islands.c.seq).label("high"))
    .group_by(_islands.c.island)
    .order_by(func.min(_islands.c.seq))
    .limit(bindparam("ranges"))
)
_HELD_COUNT = select(func.count(distinct(records.c.seq))).where(
    IN_LOG, records.c.seq > bindparam("after_seq"), records.c.seq <= bindparam("upto_seq")
)
NO_END = (1 << 63) - 1
"""A seq past any log's end."""


def held_ranges(
    conn: Connection, key: LogKey, after_seq: int, limit: int, upto_seq: int = NO_END
) -> list[tuple[int, int]]:
    """The first `limit` runs of seqs held in (after_seq, upto_seq], as (low, high): one walk
    along the log's index (run only for logs with a gap)."""
    params = {**log_params(key), "after_seq": after_seq, "upto_seq": upto_seq, "ranges": limit}
    return [(r.low, r.high) for r in conn.execute(_HELD_RANGES, params)]


def held_count(conn: Connection, key: LogKey, after_seq: int, upto_seq: int) -> int:
    """How many distinct seqs of the log are held in (after_seq, upto_seq]."""
    params = {**log_params(key), "after_seq": after_seq, "upto_seq": upto_seq}
    return int(conn.execute(_HELD_COUNT, params).scalar() or 0)


def missing_between(held: list[tuple[int, int]], after: int, upto: int) -> list[tuple[int, int]]:
    """The runs of seqs in (after, upto] outside the `held` runs (ascending, within it)."""
    missing, low = [], after + 1
    for held_low, held_high in held:
        if held_low > low:
            missing.append((low, held_low - 1))
        low = held_high + 1
    if low <= upto:
        missing.append((low, upto))
    return missing


@cache
def _visible_count(member: bool) -> Select[Any]:
    return select(func.count()).where(visible_clause(member), records.c.void_reason == "")


@cache
def _by_id(member: bool) -> Select[Any]:
    return select(records).where(
        records.c.id_key == bindparam("id_key"),
        records.c.id == bindparam("record_id"),
        visible_clause(member),
    )


QUERY_FILTERS = ("model", "task", "origin", "kind")


@cache
def _query(member: bool, filters: tuple[str, ...], paged: bool) -> Select[Any]:
    """Newest first, with a condition for each column named in `filters` (its value is the
    parameter of that name) and, when `paged`, before the parameter `before_pos`."""
    conditions = [visible_clause(member)]
    conditions += [records.c[name] == bindparam(name) for name in filters]
    if paged:
        conditions.append(records.c.pos < bindparam("before_pos"))
    return (
        select(records)
        .where(*conditions)
        .order_by(records.c.pos.desc())
        .limit(bindparam("page_size"))
    )


@cache
def _stored_in_spans(spans: int) -> Select[Any]:
    """Ids and seqs of an origin's records in `spans` seq ranges of its lanes (parameters
    `lane_i`, `low_i`, `high_i`): neighbouring entries of the log's index."""
    in_spans = or_(
        *(
            and_(
                records.c.lane == bindparam(f"lane_{i}"),
                records.c.seq.between(bindparam(f"low_{i}"), bindparam(f"high_{i}")),
            )
            for i in range(spans)
        )
    )
    return select(records.c.id, records.c.seq).where(
        records.c.origin == bindparam("log_origin"), in_spans
    )


SPANS_PER_LOOKUP = 100
"""Lanes looked up in one statement: SQLite refuses an OR of about a thousand terms
("Expression tree is too large")."""


def _stored_in(
    conn: Connection, origin: str, spans: list[tuple[LogKey, tuple[int, int]]]
) -> dict[str, int]:
    """Ids and seqs of `origin`'s stored records in these seq spans of its lanes."""
    stored: dict[str, int] = {}
    for start in range(0, len(spans), SPANS_PER_LOOKUP):
        chunk = spans[start : start + SPANS_PER_LOOKUP]
        params: dict[str, Any] = {"log_origin": origin}
        for i, ((_, lane), (low, high)) in enumerate(chunk):
            params.update({f"lane_{i}": lane, f"low_{i}": low, f"high_{i}": high})
        stored.update((r.id, r.seq) for r in conn.execute(_stored_in_spans(len(chunk)), params))
    return stored


class RecordStore:
    """Reads and writes records and log heads through one SQLAlchemy engine."""

    def __init__(self, engine: Engine, lane_cap: int = MAX_LANES_PER_ORIGIN) -> None:
        self.engine = engine
        self.lane_cap = lane_cap
        self.write_lock = threading.Lock()
        self.stats = TableStats(engine)
        self._appended = threading.Condition()
        self._last_pos = self.max_pos()

    # -- reads -------------------------------------------------------------------------------

    def max_pos(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(_MAX_POS).scalar() or 0)

    def logs(self) -> list[LogKey]:
        """Every log this node holds records of: (origin, lane)."""
        with self.engine.connect() as conn:
            return [(r.origin, r.lane) for r in conn.execute(_LOGS)]

    def head(self, origin: str, lane: str = MEMBERS_LANE) -> Head:
        with self.engine.connect() as conn:
            return head_of(conn, (origin, lane))

    def heads(self) -> list[Head]:
        with self.engine.connect() as conn:
            rows = conn.execute(_HEADS).all()
        return [
            Head(r.origin, r.head_seq, r.head_id, r.forked, r.lane, r.complete_seq) for r in rows
        ]

    def gaps(self) -> list[LogGap]:
        """Every log missing seqs below its head, with what is missing. Logs without a gap
        (complete_seq at the head, kept with each batch) cost nothing here."""
        gaps = []
        with self.engine.connect() as conn:
            for row in conn.execute(_GAPPED_LOGS).all():
                key, complete, head = (row.origin, row.lane), row.complete_seq, row.head_seq
                held = held_ranges(conn, key, complete, MAX_GAP_RANGES + 1)
                ranges = missing_between(held, complete, head)[:MAX_GAP_RANGES]
                missing = head - complete - held_count(conn, key, complete, head)
                gaps.append(LogGap(*key, complete, head, missing, ranges))
        return gaps

    def missing_records(self) -> int:
        """Seqs missing below the heads of all logs: node-wide, for metrics."""
        return sum(gap.missing for gap in self.gaps())

    def visible_heads(self, viewer: Viewer, valid_only: bool = True) -> list[Head]:
        """Per log, the last record `viewer` may see (what it may know of it), valid ones only
        unless `valid_only` is false, and whether the log is forked (told only of a log the
        viewer sees): one short index walk down each log."""
        query = _visible_top(viewer.is_member, valid_only)
        params = viewer_params(viewer, now_us())
        heads = []
        with self.engine.connect() as conn:
            for origin, lane, forked in conn.execute(_LOG_FORKS).all():
                top = conn.execute(query, {**params, **log_params((origin, lane))}).first()
                if top is not None:
                    heads.append(Head(origin, top.seq, top.id, forked, lane))
        return heads

    def may_see_log(self, viewer: Viewer, key: LogKey) -> bool:
        """Whether `viewer` may see any record of the log (all of a lane share one audience)."""
        params = {**viewer_params(viewer, now_us()), **log_params(key)}
        with self.engine.connect() as conn:
            return conn.execute(_visible_in_log(viewer.is_member), params).first() is not None

    def visible_count(self, viewer: Viewer) -> int:
        query = _visible_count(viewer.is_member)
        with self.engine.connect() as conn:
            return int(conn.execute(query, viewer_params(viewer, now_us())).scalar() or 0)

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(_COUNT).scalar() or 0)

    def get(self, record_id: str, viewer: Viewer) -> Row | None:
        """The record with this id (64 hex characters, checked by the caller), if visible."""
        params = viewer_params(viewer, now_us())
        params.update(id_key=hash_key(record_id), record_id=record_id)
        with self.engine.connect() as conn:
            return conn.execute(_by_id(viewer.is_member), params).first()

    def find_digests(self, origin: str, digests: Sequence[str]) -> dict[str, str]:
        """Stored results of `origin` by body digest (64 hex characters, checked by the caller)."""
        with self.engine.connect() as conn:
            return {d: found[0] for d, found in stored_results(conn, origin, digests).items()}

    def query(
        self, where: QueryFilter, viewer: Viewer, page_size: int, before_pos: int | None
    ) -> list[Row]:
        """Newest first; `before_pos` continues after the last row of a previous page."""
        values = {name: getattr(where, name) for name in QUERY_FILTERS if getattr(where, name)}
        query = _query(viewer.is_member, tuple(values), before_pos is not None)
        params = {**viewer_params(viewer, now_us()), **values, "page_size": page_size}
        if before_pos is not None:
            params["before_pos"] = before_pos
        with self.engine.connect() as conn:
            return list(conn.execute(query, params))

    def superseded(self, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """For each id a later record retracts or corrects: (kind, that record's id)."""
        with self.engine.connect() as conn:
            rows = conn.execute(_SUPERSEDING, {"targets": list(ids)})
            return {r.target: (r.kind, r.id) for r in rows}

    def forked_origins(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(_FORKED_ORIGINS).scalars())

    def forked_origins_seen_by(self, viewer: Viewer) -> set[str]:
        """Origins with a forked log that `viewer` may see (a fork of a lane it may not see
        is not told to it)."""
        query = _visible_in_log(viewer.is_member)
        params = viewer_params(viewer, now_us())
        with self.engine.connect() as conn:
            return {
                origin
                for origin, lane in conn.execute(_FORKED_LOGS).all()
                if conn.execute(query, {**params, **log_params((origin, lane))}).first()
            }

    # -- writes ------------------------------------------------------------------------------

    def append_own(self, batch: Sequence[VerifiedRecord], received_from: str) -> list[Appended]:
        """Appends a publish batch of one origin at the heads of its lanes, all or nothing.

        An identical record, or the same result body again, is reported as existing and not
        stored twice; anything else must extend its lane's head, or ConflictError names it.
        """
        if not batch:
            return []
        origin = batch[0].origin
        received = now_us()
        with self.write_lock, self.engine.begin() as conn:
            spans = seq_spans(batch)
            check_lanes(conn, batch, self.lane_cap)
            old_heads = {key: head_of(conn, key, for_update=True) for key in spans}
            heads = {
                key: (
                    old.seq,
                    old.id,
                    _issued_at(conn, old) if key[1] != MEMBERS_LANE else 0,
                    _lane_salt(conn, old) if is_restricted(key[1]) else b"",
                )
                for key, old in old_heads.items()
            }
            # A record's id hashes its payload, origin, lane and seq included, so a stored one
            # is found at its own (origin, lane, seq): neighbouring entries of the log's index,
            # where looking ids up would read a random page of the id index for each.
            stored = _stored_in(conn, origin, list(spans.items()))
            digests = stored_results(conn, origin, [v.body_digest for v in batch])
            results: list[Appended] = []
            rows: list[NewRow] = []
            for verified in batch:
                digest = verified.body_digest
                if verified.id in stored:
                    results.append(Appended(verified.id, stored[verified.id], True))
                    continue
                if digest in digests and verified.facts.kind == "result":
                    existing_id, existing_seq = digests[digest]
                    results.append(Appended(existing_id, existing_seq, True))
                    continue
                key = verified.log
                seq, head_id, head_issued, head_salt = heads[key]
                if verified.seq != seq + 1 or verified.prev != head_id:
                    raise ConflictError(
                        f"record seq {verified.seq} does not extend the head of {log_name(key)} "
                        f"(seq {seq}, id {head_id[:16] or '-'}); read the head and sign again",
                        seq,
                        head_id,
                        ahead=verified.seq > seq + 1 and seq == old_heads[key].seq,
                    )
                if key[1] != MEMBERS_LANE:
                    check_issued_after(verified.facts.issued_at_us, head_issued, origin, seq + 1)
                salt = verified.lane_salt if is_restricted(key[1]) else b""
                if seq:
                    check_salt_kept(salt, head_salt, origin, seq + 1)
                rows.append(row_of(verified, received_from, received))
                results.append(Appended(verified.id, verified.seq, False))
                if verified.facts.kind == "result":
                    digests[digest] = (verified.id, verified.seq)
                heads[key] = (verified.seq, verified.id, verified.facts.issued_at_us, salt)
            if rows:
                insert_rows(conn, rows)
                for key, (seq, head_id, *_) in heads.items():
                    old = old_heads[key]
                    if (seq, head_id) != (old.seq, old.id):
                        complete = seq if old.complete == old.seq else old.complete
                        set_head(conn, key, old, seq, head_id, complete=complete)
        if rows:
            self.notify_appended(len(rows))
        return results

    def notify_appended(self, rows: int) -> None:
        """Wakes the streams that follow this store (after committing `rows` new records)."""
        self.stats.added(rows)
        with self._appended:
            self._last_pos = self.max_pos()
            self._appended.notify_all()

    def wait_for_append(
        self, after_pos: int, timeout_s: float, until: threading.Event | None = None
    ) -> int:
        """Blocks until a record beyond `after_pos` is stored, `until` is set (then woken by
        `wake_waiters`) or the timeout passes; the newest pos."""
        with self._appended:
            self._appended.wait_for(
                lambda: self._last_pos > after_pos or (until is not None and until.is_set()),
                timeout=timeout_s,
            )
            return self._last_pos

    def wake_waiters(self) -> None:
        """Makes every waiter check its condition again (one that set its `until` ends)."""
        with self._appended:
            self._appended.notify_all()


def insert_rows(conn: Connection, rows: list[NewRow]) -> None:
    """Inserts record rows (the hot path of publishing and sync): on PostgreSQL with COPY, which
    took a quarter of the server's CPU per row that INSERT took (13 against 54 µs) and half
    the node's; elsewhere through the driver's executemany."""
    bulk_insert(conn, "records", ROW_COLUMNS, rows)


def bulk_insert(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Inserts rows of values in `columns`' order into `table`: COPY on PostgreSQL, the
    driver's executemany elsewhere."""
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        driver = conn.connection.driver_connection
        assert driver is not None  # a connection in a transaction has one
        cursor = driver.cursor()
        with cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    mark = _param_mark(conn)
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join([mark] * len(columns))})"
    conn.exec_driver_sql(sql, list(rows))


def _param_mark(conn: Connection) -> str:
    """The driver's positional parameter mark, for statements written out by hand."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _issued_at(conn: Connection, head: Head) -> int:
    """When the record at `head` was issued (0 for an empty log)."""
    if not head.id:
        return 0
    params = {**log_params((head.origin, head.lane)), "at_seq": head.seq, "at_id": head.id}
    return int(conn.execute(_ISSUED_AT, params).scalar_one())


def _lane_salt(conn: Connection, head: Head) -> bytes:
    """The lane salt of the record at `head` (empty for an empty log): read from its envelope,
    for restricted lanes only."""
    if not head.id:
        return b""
    params = {**log_params((head.origin, head.lane)), "at_seq": head.seq, "at_id": head.id}
    envelope = conn.execute(_ENVELOPE_AT, params).scalar_one()
    return parse_record(decode_envelope(envelope)).lane_salt


def log_name(key: LogKey) -> str:
    """A log as people read it: the origin, and its lane unless it is the members lane."""
    origin, lane = key
    return f"{origin} (lane {lane})" if lane else origin


def head_of(conn: Connection, key: LogKey, for_update: bool = False) -> Head:
    row = conn.execute(_HEAD_FOR_UPDATE if for_update else _HEAD, log_params(key)).first()
    if row is None:
        return Head(key[0], 0, "", lane=key[1])
    return Head(key[0], row.head_seq, row.head_id, row.forked, key[1], row.complete_seq)


def set_head(
    conn: Connection,
    key: LogKey,
    old: Head,
    seq: int,
    head_id: str,
    forked: bool = False,
    complete: int | None = None,
) -> None:
    """Moves a log's head (the highest seq held), its fork flag, and its gap-free seq."""
    forked = old.forked or forked
    complete = old.complete if complete is None else complete
    if old.seq == 0 and not old.id and conn.execute(_HEAD, log_params(key)).first() is None:
        conn.execute(
            logs.insert(),
            {
                "origin": key[0],
                "lane": key[1],
                "head_seq": seq,
                "head_id": head_id,
                "forked": forked,
                "complete_seq": complete,
            },
        )
        return
    params = {"new_seq": seq, "new_id": head_id, "new_forked": forked, "new_complete": complete}
    conn.execute(_SET_HEAD, {**log_params(key), **params})


def stored_results(
    conn: Connection, origin: str, digests: Sequence[str]
) -> dict[str, tuple[str, int]]:
    """Stored results of `origin` by body digest: (id, seq). Looked up by digest key and
    checked in full here; the statement is written out, as SQLAlchemy's expansion of a
    thousand-value IN cost more than the lookup."""
    keys = list({hash_key(d) for d in digests})
    if not keys:
        return {}
    mark = _param_mark(conn)
    sql = (
        "SELECT body_digest, id, seq FROM records WHERE origin = "
        f"{mark} AND kind = 'result' AND digest_key IN ({', '.join([mark] * len(keys))}) "
        "AND digest_key != 0"  # HAS_DIGEST_KEY: the index holds only such rows
    )
    wanted = set(digests)
    return {
        digest: (record_id, seq)
        for digest, record_id, seq in conn.exec_driver_sql(sql, (origin, *keys))
        if digest in wanted
    }
