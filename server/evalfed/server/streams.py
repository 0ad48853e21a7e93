"""Sync stream slots: how many streams each institute, and everyone together, may hold open.

A following stream holds an RPC worker for as long as it is open, so streams are bounded per
institute (MAX_STREAMS_PER_INSTITUTE) and in all (the node's `max_streams`, below its
`max_workers`): workers are left for unary calls however many streams are asked for.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import TypeVar

from evalfed.core.errors import LimitError
from evalfed.core.limits import MAX_STREAMS, MAX_STREAMS_PER_INSTITUTE

T = TypeVar("T")


class StreamSlots:
    """Counts open streams; `held` runs a stream in a slot, or refuses it with LimitError."""

    def __init__(
        self, total: int = MAX_STREAMS, per_institute: int = MAX_STREAMS_PER_INSTITUTE
    ) -> None:
        self.total = total
        self.per_institute = per_institute
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    def held(self, institute: str, stream: Iterator[T]) -> Iterator[T]:
        """`stream`, taking a slot of `institute` when first asked for and giving it back when
        the stream ends or is dropped."""
        self._take(institute)
        try:
            yield from stream
        finally:
            self._give_back(institute)

    def open_streams(self, institute: str | None = None) -> int:
        with self._lock:
            return self._open[institute] if institute else self._open.total()

    def _take(self, institute: str) -> None:
        with self._lock:
            if self._open[institute] >= self.per_institute:
                raise LimitError(
                    f"{institute} already has MAX_STREAMS_PER_INSTITUTE={self.per_institute} "
                    "sync streams open at this node; close one (a node needs one per partner)"
                )
            if self._open.total() >= self.total:
                raise LimitError(
                    f"this node already serves MAX_STREAMS={self.total} sync streams; retry later"
                )
            self._open[institute] += 1

    def _give_back(self, institute: str) -> None:
        with self._lock:
            self._open[institute] -= 1
            if self._open[institute] <= 0:
                del self._open[institute]
