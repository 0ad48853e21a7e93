"""Storage for membership: the membership records held, and join requests handed in."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.sql.elements import ColumnElement

from evalfed.core.membership import MEMBERSHIP_KINDS
from evalfed.core.records import MEMBERS_LANE, head_key, parse_record
from evalfed.core.timeutil import now_us
from evalfed.server.storage.schema import join_requests, records
from evalfed.server.storage.store import RecordStore
from evalfed.v1.envelope_pb2 import Envelope


def _envelope(data: bytes) -> Envelope:
    envelope = Envelope()
    envelope.ParseFromString(data)
    return envelope


class MemberStore:
    """Reads membership records and keeps submitted join requests."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store
        self.engine = store.engine

    def membership_records(self) -> list[Envelope]:
        query = select(records.c.envelope).where(records.c.kind.in_(MEMBERSHIP_KINDS))
        with self.engine.connect() as conn:
            return [_envelope(row.envelope) for row in conn.execute(query)]

    def lane_keys(self, origin: str) -> dict[str, str | None]:
        """Each of `origin`'s stored lanes and what lane heads name it by (`head_key`): a
        restricted lane by the tag of its salt, as its lowest stored record carries it; None
        for one without a salt."""
        first = (
            select(records.c.lane, func.min(records.c.seq).label("seq"))
            .where(records.c.origin == origin)
            .group_by(records.c.lane)
            .subquery()
        )
        query = select(records.c.lane, records.c.envelope).join(
            first, (records.c.lane == first.c.lane) & (records.c.seq == first.c.seq)
        )
        keys: dict[str, str | None] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query.where(records.c.origin == origin)):
                salt = parse_record(_envelope(row.envelope)).lane_salt
                keys.setdefault(row.lane, head_key(row.lane, salt))
        return keys

    def join_requests(self) -> list[Envelope]:
        with self.engine.connect() as conn:
            return [_envelope(r.envelope) for r in conn.execute(select(join_requests.c.envelope))]

    def add_join_request(self, request_id: str, institute: str, envelope: Envelope) -> None:
        with self.store.write_lock, self.engine.begin() as conn:
            exists = conn.execute(
                select(join_requests.c.id).where(join_requests.c.id == request_id)
            ).first()
            if exists is None:
                conn.execute(
                    join_requests.insert().values(
                        id=request_id,
                        institute=institute,
                        envelope=envelope.SerializeToString(),
                        received_at_us=now_us(),
                    )
                )

    def handed_in(self) -> list[tuple[str, str, int]]:
        """Join requests handed to this node: (id, institute claimed, received at µs)."""
        query = select(
            join_requests.c.id, join_requests.c.institute, join_requests.c.received_at_us
        )
        with self.engine.connect() as conn:
            return [(r.id, r.institute, r.received_at_us) for r in conn.execute(query)]

    def drop_join_requests(self, ids: list[str]) -> None:
        if not ids:
            return
        with self.store.write_lock, self.engine.begin() as conn:
            conn.execute(join_requests.delete().where(join_requests.c.id.in_(ids)))

    def void_signed_since(self, origin: str, key_id: str, since_us: int, reason: str) -> int:
        """Marks `origin`'s records signed by `key_id` at or after `since_us` as void."""
        return self._void(
            (records.c.origin == origin)
            & (records.c.key_id == key_id)
            & (records.c.issued_at_us >= since_us),
            reason,
        )

    def void_origin_since(self, origin: str, since_us: int, reason: str) -> int:
        """Marks every record of `origin` issued at or after `since_us` as void."""
        return self._void(
            (records.c.origin == origin) & (records.c.issued_at_us >= since_us), reason
        )

    def void_past_heads(
        self,
        origin: str,
        key_id: str | None,
        heads: Mapping[str, int],
        reason: str,
        spared: Collection[str] = (),
    ) -> int:
        """Marks `origin`'s records (signed by `key_id`, when given) past `heads` (by lane
        name) as void: in a lane `heads` names, those past its seq; in any other lane but the
        `spared` ones, all of them. The members lane is left alone when `heads` does not name
        it (its key periods are by position)."""
        mine = records.c.origin == origin
        if key_id is not None:
            mine &= records.c.key_id == key_id
        named = [lane for lane in heads if lane != MEMBERS_LANE or key_id is None]
        left = [*named, *spared]
        others = mine & records.c.lane.not_in(left) if left else mine
        if key_id is not None and MEMBERS_LANE not in named:
            others &= records.c.lane != MEMBERS_LANE
        past = update(records).where(
            mine,
            records.c.lane == bindparam("at_lane"),
            records.c.seq > bindparam("at_seq"),
            records.c.void_reason == "",
        )
        with self.store.write_lock, self.engine.begin() as conn:
            count = self._void_in(conn, others, reason)
            if named:
                result = conn.execute(
                    past.values(void_reason=reason),
                    [{"at_lane": lane, "at_seq": heads[lane]} for lane in named],
                )
                count += int(result.rowcount or 0)
            return count

    def _void(self, condition: ColumnElement[bool], reason: str) -> int:
        with self.store.write_lock, self.engine.begin() as conn:
            return self._void_in(conn, condition, reason)

    @staticmethod
    def _void_in(conn: Connection, condition: ColumnElement[bool], reason: str) -> int:
        result = conn.execute(
            update(records).where(condition, records.c.void_reason == "").values(void_reason=reason)
        )
        return int(result.rowcount or 0)
