"""Rates counted in what calls cost: a pipelined publisher's batches pass, a flood waits."""

from __future__ import annotations

import pytest

from evalfed.core.errors import RateLimitError
from evalfed.core.limits import MAX_PUBLISH_BATCH, RECORD_BURST, RECORD_RATE_PER_CALLER
from evalfed.server.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def records_limiter(clock: Clock) -> RateLimiter:
    return RateLimiter(
        RECORD_RATE_PER_CALLER, RECORD_BURST, "RECORD_RATE_PER_CALLER", "records", clock
    )


@pytest.mark.parametrize("records_per_s", [10_000, 15_000, 25_000])
def test_a_publisher_in_full_batches_is_never_refused(records_per_s: int) -> None:
    clock = Clock()
    limiter = records_limiter(clock)
    for _ in range(records_per_s * 60 // MAX_PUBLISH_BATCH):  # a minute of batches
        limiter.take("us-aisi (as claimed from 10.0.0.1)", MAX_PUBLISH_BATCH)
        clock.now += MAX_PUBLISH_BATCH / records_per_s


def test_a_flood_is_refused_with_the_limit_named_and_a_retry_hint() -> None:
    clock = Clock()
    limiter = records_limiter(clock)
    for _ in range(RECORD_BURST // MAX_PUBLISH_BATCH):
        limiter.take("us-aisi", MAX_PUBLISH_BATCH)
    with pytest.raises(RateLimitError, match="RECORD_RATE_PER_CALLER=30000 records/s") as caught:
        limiter.take("us-aisi", MAX_PUBLISH_BATCH)
    assert caught.value.retry_after_s == pytest.approx(MAX_PUBLISH_BATCH / RECORD_RATE_PER_CALLER)
    limiter.take("uk-aisi", MAX_PUBLISH_BATCH)  # another caller is not held up
    clock.now += caught.value.retry_after_s
    limiter.take("us-aisi", MAX_PUBLISH_BATCH)


def test_a_call_costing_more_than_the_burst_waits_for_a_full_bucket() -> None:
    clock = Clock()
    limiter = RateLimiter(10.0, 100, clock=clock)
    limiter.take("a", 250)
    with pytest.raises(RateLimitError) as caught:
        limiter.take("a", 250)
    assert caught.value.retry_after_s == pytest.approx(25.0)
    clock.now += 25.0
    limiter.take("a", 250)
