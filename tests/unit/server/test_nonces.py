"""The nonce memory never lets a call be replayed while its time is still accepted."""

from __future__ import annotations

import pytest

from evalfed.core.callauth import MAX_CLOCK_SKEW_S
from evalfed.core.errors import RateLimitError
from evalfed.server.guard import NonceCache, nonce_window_calls
from evalfed.server.ratelimit import RateLimiter

WINDOW_S = 2 * MAX_CLOCK_SKEW_S


def test_a_nonce_is_remembered_however_many_calls_come_after_it() -> None:
    """Before, the memory let its oldest nonces go once it held 100,000, so a call held back
    by a relay ran twice after enough other calls, well inside the time window."""
    nonces = NonceCache(per_caller=1000)
    assert nonces.add("us-aisi", "captured", 0.0)
    for i in range(999):
        assert nonces.add("uk-aisi", f"n{i}", 1.0)  # another caller's calls don't push it out
    assert not nonces.add("us-aisi", "captured", WINDOW_S - 1)


def test_a_caller_past_its_window_is_refused_not_let_replay() -> None:
    nonces = NonceCache(per_caller=3)
    for nonce in ("a", "b", "c"):
        assert nonces.add("us-aisi", nonce, 10.0)
    with pytest.raises(RateLimitError, match="slow down and retry") as refused:
        nonces.add("us-aisi", "d", 11.0)
    assert 0 < refused.value.retry_after_s <= WINDOW_S
    assert not nonces.add("us-aisi", "a", 12.0)
    assert nonces.add("uk-aisi", "d", 12.0)  # no one else is held up


def test_nonces_expire_with_the_window() -> None:
    nonces = NonceCache(per_caller=2)
    assert nonces.add("us-aisi", "a", 0.0) and nonces.add("us-aisi", "b", 0.0)
    assert nonces.add("us-aisi", "c", WINDOW_S + 1)  # a and b have expired: room again
    assert nonces.add("us-aisi", "a", WINDOW_S + 2)  # a call that old is refused by its time


def test_the_memory_holds_what_the_rate_limit_lets_through_in_a_window() -> None:
    assert nonce_window_calls(RateLimiter(200.0, 400)) == 200 * WINDOW_S + 400
