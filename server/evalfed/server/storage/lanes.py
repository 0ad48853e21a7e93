"""The lane budget: how many logs (lanes) one origin may open at this node.

Every lane is a cursor in each sync request and a head in each status page, for as long as
the node runs, so a new lane past MAX_LANES_PER_ORIGIN is refused: at publish with a
LimitError, at sync as a rejected record (counted under `limit`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection

from evalfed.core.checks import VerifiedRecord
from evalfed.core.errors import LimitError
from evalfed.core.records import LogKey
from evalfed.server.storage.schema import logs

_LANE_COUNT = select(func.count()).select_from(logs).where(logs.c.origin == bindparam("origin"))
_LANES = select(logs.c.lane).where(logs.c.origin == bindparam("origin"))


def lanes_over_cap(conn: Connection, keys: Iterable[LogKey], cap: int) -> set[LogKey]:
    """The logs among `keys` that this node does not hold yet and that would take their
    origin past `cap` lanes (the first new ones, in the order given, fit)."""
    new_by_origin: dict[str, list[str]] = {}
    for origin, lane in keys:
        new_by_origin.setdefault(origin, []).append(lane)
    over: set[LogKey] = set()
    for origin, lanes in new_by_origin.items():
        held = int(conn.execute(_LANE_COUNT, {"origin": origin}).scalar() or 0)
        if held + len(lanes) <= cap:
            continue  # however many are new, they fit: the common case, one count
        existing = set(conn.execute(_LANES, {"origin": origin}).scalars())
        room = cap - len(existing)
        for lane in lanes:
            if lane in existing:
                continue
            if room > 0:
                room -= 1
            else:
                over.add((origin, lane))
    return over


def lane_limit_message(key: LogKey, cap: int) -> str:
    return (
        f"{key[0]} already has MAX_LANES_PER_ORIGIN={cap} lanes (one per named audience and "
        "embargo hour) at this node; publish to an audience and embargo already in use"
    )


def check_lanes(conn: Connection, batch: Sequence[VerifiedRecord], cap: int) -> None:
    """Raises LimitError when the batch would open a lane past the cap (a publish)."""
    over = lanes_over_cap(conn, dict.fromkeys(v.log for v in batch), cap)
    if over:
        raise LimitError(lane_limit_message(min(over), cap) + f" ({len(over)} new lane(s) over)")


def within_lane_cap(
    conn: Connection, batch: Sequence[VerifiedRecord], cap: int
) -> tuple[list[VerifiedRecord], list[tuple[str, str]]]:
    """A partner's batch without the records that would open a lane past the cap, and those
    records as (id, reason) rejections."""
    over = lanes_over_cap(conn, dict.fromkeys(v.log for v in batch), cap)
    if not over:
        return list(batch), []
    kept = [v for v in batch if v.log not in over]
    rejected = [(v.id, "limit: " + lane_limit_message(v.log, cap)) for v in batch if v.log in over]
    return kept, rejected
