"""When the client retries a refused call, and how long it waits."""

from __future__ import annotations

import grpc

from evalfed.client.retry import (
    MAX_BACKOFF_S,
    RATE_LIMIT_RETRIES,
    UNAVAILABLE_RETRIES,
    retry_delay,
)
from evalfed.core.errors import LimitError, RateLimitError, UnavailableError

OVER_RATE = grpc.StatusCode.RESOURCE_EXHAUSTED


def test_a_rate_limit_is_waited_out_at_least_as_long_as_the_node_says() -> None:
    error = RateLimitError("over the rate", retry_after_s=2.0)
    delays = [retry_delay(OVER_RATE, error, attempt) for attempt in range(RATE_LIMIT_RETRIES)]
    assert all(d is not None and 2.0 <= d <= max(2.5, MAX_BACKOFF_S) for d in delays)
    assert retry_delay(OVER_RATE, error, RATE_LIMIT_RETRIES) is None


def test_unreachable_backs_off_with_jitter_then_gives_up() -> None:
    error = UnavailableError("down")
    code = grpc.StatusCode.UNAVAILABLE
    firsts = {retry_delay(code, error, 0) for _ in range(20)}
    assert len(firsts) > 1 and all(d is not None and 0.05 <= d <= 0.1 for d in firsts)
    later = retry_delay(code, error, 3)
    assert later is not None and 0.4 <= later <= 0.8
    assert retry_delay(code, error, UNAVAILABLE_RETRIES) is None


def test_fixed_limits_and_deadlines_are_not_retried() -> None:
    assert retry_delay(OVER_RATE, LimitError("batch over MAX_PUBLISH_BATCH"), 0) is None
    deadline = grpc.StatusCode.DEADLINE_EXCEEDED
    assert retry_delay(deadline, UnavailableError("deadline"), 0) is None
