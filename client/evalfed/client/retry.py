"""Retrying calls a node refused for now: over its rate (RESOURCE_EXHAUSTED with a retry hint)
or unreachable for a moment (UNAVAILABLE).

The client retries itself rather than through a gRPC retry policy in the service config: gRPC
would resend the first attempt's metadata, and a signed call's nonce is accepted once, so
every attempt must be signed anew (the signing interceptor does so for each call made here).
A RESOURCE_EXHAUSTED without a hint is a fixed limit (a batch too large), which no retry
helps, so it is raised at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import grpc

from evalfed.client.status import error_of
from evalfed.core.errors import EvalfedError, RateLimitError

T = TypeVar("T")

RATE_LIMIT_RETRIES = 20
"""Attempts after the first for a call over the node's rate: it says how long to wait."""
UNAVAILABLE_RETRIES = 5
"""Attempts after the first for a call that found the node unreachable (about 3 s in all)."""
FIRST_BACKOFF_S = 0.1
MAX_BACKOFF_S = 5.0


def retry_delay(code: grpc.StatusCode, error: EvalfedError, attempt: int) -> float | None:
    """Seconds to wait before attempt `attempt + 1` after a call failed with `code` (as
    `error`); None: do not retry. A deadline exceeded is not retried: the call may still run.

    Exponential backoff with jitter (half fixed, half random), never shorter than the
    node's own retry hint."""
    if isinstance(error, RateLimitError):
        if attempt >= RATE_LIMIT_RETRIES:
            return None
        hint = error.retry_after_s
    elif code == grpc.StatusCode.UNAVAILABLE:
        if attempt >= UNAVAILABLE_RETRIES:
            return None
        hint = 0.0
    else:
        return None
    backoff = min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2**attempt)
    return max(hint * random.uniform(1.0, 1.25), random.uniform(backoff / 2, backoff))


def call_with_retry(call: Callable[[], T], address: str) -> T:
    """`call()`, retried as `retry_delay` says; its last failure raised as an evalfed error."""
    attempt = 0
    while True:
        try:
            return call()
        except grpc.RpcError as exc:
            error = error_of(exc, address)
            code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
        delay = retry_delay(code, error, attempt)
        if delay is None:
            raise error from None
        time.sleep(delay)
        attempt += 1
