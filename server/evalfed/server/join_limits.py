"""Bounds on join requests handed to a node: anyone may hand one in, unauthenticated, so each
caller is rate-limited, and the requests kept are capped in all and per claimed institute
(stale ones expire)."""

from __future__ import annotations

from evalfed.core.errors import LimitError, RateLimitError
from evalfed.core.limits import (
    JOIN_REQUEST_BURST,
    JOIN_REQUESTS_PER_HOUR,
    MAX_PENDING_JOIN_REQUESTS,
    MAX_PENDING_PER_INSTITUTE,
    PENDING_JOIN_TTL_S,
)
from evalfed.core.timeutil import now_us
from evalfed.server.members import MembershipKeeper
from evalfed.server.ratelimit import RateLimiter


class JoinRequestLimits:
    """The rate and the room for SubmitJoinRequest at one node."""

    def __init__(
        self,
        keeper: MembershipKeeper,
        per_hour: float = JOIN_REQUESTS_PER_HOUR,
        burst: int = JOIN_REQUEST_BURST,
        total: int = MAX_PENDING_JOIN_REQUESTS,
        per_institute: int = MAX_PENDING_PER_INSTITUTE,
    ) -> None:
        self.keeper = keeper
        self.per_hour = per_hour
        self.limiter = RateLimiter(per_hour / 3600.0, burst)
        self.total = total
        self.per_institute = per_institute

    def take(self, caller: str) -> None:
        """Spends one of `caller`'s join requests, or raises LimitError naming the limit."""
        try:
            self.limiter.take(caller)
        except RateLimitError as exc:
            raise LimitError(
                f"{caller} is over JOIN_REQUESTS_PER_HOUR={self.per_hour:g} (burst "
                f"{self.limiter.burst}) at this node; retry in {exc.retry_after_s:.0f} s"
            ) from None

    def check_room(self, institute: str) -> None:
        """Raises LimitError when no more requests may be kept (in all, or for `institute`);
        requests no longer pending, or older than PENDING_JOIN_TTL_S with no endorsement,
        are dropped first."""
        pending = self.keeper.membership.state.pending
        expired_before = now_us() - PENDING_JOIN_TTL_S * 1_000_000
        kept: list[str] = []
        dropped: list[str] = []
        for request_id, claimed, received_us in self.keeper.store.handed_in():
            waiting = pending.get(request_id)
            if waiting is None or (received_us < expired_before and not waiting.endorsed_by):
                dropped.append(request_id)
            else:
                kept.append(claimed)
        self.keeper.store.drop_join_requests(dropped)
        if len(kept) >= self.total:
            raise LimitError(
                f"this node already keeps MAX_PENDING_JOIN_REQUESTS={self.total} join requests "
                "awaiting endorsement; ask a member to endorse yours from its file "
                "(`evalfed members endorse FILE`), or retry when some are admitted or expire"
            )
        if kept.count(institute) >= self.per_institute:
            raise LimitError(
                f"this node already keeps MAX_PENDING_PER_INSTITUTE={self.per_institute} join "
                f"requests claiming {institute}; wait for endorsement, or for them to expire"
            )
