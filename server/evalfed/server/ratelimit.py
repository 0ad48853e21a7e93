"""Per-caller request rates: a token bucket for each institute (or each anonymous address)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from evalfed.core.errors import RateLimitError

MAX_TRACKED_CALLERS = 10_000


class RateLimiter:
    """Allows each caller `rate_per_s` calls a second on average, `burst` at once."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, caller: str) -> None:
        """Spends one call of `caller`'s allowance, or raises LimitError naming the limit."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.pop(caller, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate_per_s)
            allowed = tokens >= 1.0
            self._buckets[caller] = (tokens - 1.0 if allowed else tokens, now)
            while len(self._buckets) > MAX_TRACKED_CALLERS:
                self._buckets.popitem(last=False)
        if not allowed:
            raise RateLimitError(
                f"{caller} is over this node's rate limit RATE_PER_CALLER={self.rate_per_s:g} "
                f"calls/s (burst {self.burst}); slow down and retry",
                retry_after_s=(1.0 - tokens) / self.rate_per_s,
            )
