"""Pipelined publish batches stored in the order they were signed.

A publisher sends batch k+1 before batch k is answered, and the node checks batches in
parallel, so a small batch k+1 can be ready to store while a larger batch k is still being
checked. Refusing it would make the publisher read the heads and sign everything after batch k
again. Instead, a batch whose records start beyond its lane's head waits for other publishes
to end and is tried again after each; it is refused as before (ConflictError) once none is
being checked and PUBLISH_GAP_GRACE_S has passed (its predecessor may still be on its way),
or after PUBLISH_ORDER_WAIT_S in all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from evalfed.core.errors import ConflictError

T = TypeVar("T")

PUBLISH_ORDER_WAIT_S = 10.0
"""The longest a batch ahead of its lane's head waits for the batches before it."""
PUBLISH_GAP_GRACE_S = 0.5
"""How long a batch ahead of its head waits when no other publish is being checked: the one
before it may have been sent first and still be arriving."""


class PublishOrder:
    """Counts the publishes being checked, and lets a batch that arrived early wait for them."""

    def __init__(
        self, wait_s: float = PUBLISH_ORDER_WAIT_S, grace_s: float = PUBLISH_GAP_GRACE_S
    ) -> None:
        self.wait_s = wait_s
        self.grace_s = grace_s
        self._changed = threading.Condition()
        self._working = 0
        """Publishes admitted and not waiting for another."""
        self._ended = 0
        """Publishes ended so far (stored or refused)."""

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """Holds one publish, from before its checks until it is stored or refused."""
        with self._changed:
            self._working += 1
        try:
            yield
        finally:
            with self._changed:
                self._working -= 1
                self._ended += 1
                self._changed.notify_all()

    def in_order(self, append: Callable[[], T]) -> T:
        """`append()`, inside `admitted()`; while it raises a ConflictError of a batch ahead of
        its head, tried again each time another publish ends (see the module's note)."""
        started = time.monotonic()
        while True:
            with self._changed:
                ended = self._ended
            try:
                return append()
            except ConflictError as exc:
                if not exc.ahead or not self._wait_for_another(ended, started):
                    raise

    def _wait_for_another(self, ended: int, started: float) -> bool:
        """Waits until a publish ends after `ended` had; False when it is not worth waiting."""
        with self._changed:
            self._working -= 1
            self._changed.notify_all()  # others waiting may now be all that is left
            try:
                while self._ended == ended:
                    waited = time.monotonic() - started
                    left = self.wait_s - waited
                    if self._working == 0:
                        left = min(left, self.grace_s - waited)
                    if left <= 0:
                        return False
                    self._changed.wait(left)
                return True
            finally:
                self._working += 1
