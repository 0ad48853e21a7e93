"""Time in the one form records use: UTC, whole microseconds since the epoch."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from evalfed.core.errors import InvalidInputError


def now_us() -> int:
    return time.time_ns() // 1000


def timestamp_us(ts: Timestamp) -> int:
    return ts.seconds * 1_000_000 + ts.nanos // 1000


def timestamp_of_us(us: int) -> Timestamp:
    return Timestamp(seconds=us // 1_000_000, nanos=(us % 1_000_000) * 1000)


def parse_iso_us(text: str) -> int:
    """Microseconds of an ISO 8601 date or time; a time without a zone is taken as UTC."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            f"{text!r} is not an ISO 8601 date or time (e.g. 2026-12-01 or 2026-12-01T09:00:00Z)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1_000_000)


def iso_of_us(us: int) -> str:
    return datetime.fromtimestamp(us / 1_000_000, tz=UTC).isoformat(timespec="seconds")
