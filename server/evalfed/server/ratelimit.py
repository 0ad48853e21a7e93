"""Per-caller rates: a token bucket for each caller (a claimed institute at an address, or an
anonymous address), counting calls or what a call costs the node (records)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from evalfed.core.errors import RateLimitError

MAX_TRACKED_CALLERS = 10_000


class RateLimiter:
    """Allows each caller `rate_per_s` units a second on average, `burst` at once.

    `limit` and `unit` name the setting in refusals (RATE_PER_CALLER, calls)."""

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        limit: str = "RATE_PER_CALLER",
        unit: str = "calls",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.limit = limit
        self.unit = unit
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, caller: str, cost: float = 1.0) -> None:
        """Spends `cost` of `caller`'s allowance, or raises RateLimitError naming the limit.

        A cost over the burst is let through once the bucket is full and leaves it in debt,
        so a large call is slowed, never refused forever."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(caller, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate_per_s)
            needed = min(cost, float(self.burst))
            allowed = tokens >= needed
            self._buckets[caller] = (tokens - cost if allowed else tokens, now)
            while len(self._buckets) > MAX_TRACKED_CALLERS:
                self._buckets.popitem(last=False)
        if not allowed:
            raise RateLimitError(
                f"{caller} is over this node's rate limit {self.limit}={self.rate_per_s:g} "
                f"{self.unit}/s (burst {self.burst}); slow down and retry",
                retry_after_s=(needed - tokens) / self.rate_per_s,
            )
