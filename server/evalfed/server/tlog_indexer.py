"""The node's tree indexer: a thread that grows each log's Merkle tree behind its records.

Woken by the store's append events, it waits TLOG_SETTLE_S, then extends every tree that
lacks leaves of its log's gap-free prefix (`TlogStore.logs_behind`, one query over the logs,
not over the records), TLOG_INDEX_PAGE leaves per transaction. So records that trickle in (one
publish at a time, live sync) are indexed together about once per TLOG_SETTLE_S, and
forwarding each one never waits for tree work or a checkpoint signature. While a burst pours
in (a catch-up, a batch publish: TLOG_BURST records or more waiting), it waits for the burst to
end (a quiet time of twice the longest gap between its appends), up to TLOG_MAX_DEFER_S, so the
trees' work takes neither CPU nor the store's write lock from the records. At start it first
extends every tree that is behind (the records stored before it ran, or before the node had
trees). Appending a record does no tree work, so publishing and sync cost what they cost
before. After trees of this institute's logs grew, it signs their checkpoints
(evalfed.server.checkpoints)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from evalfed.core.limits import (
    TLOG_BURST,
    TLOG_BURST_GAP_MAX_S,
    TLOG_INDEX_PAGE,
    TLOG_MAX_DEFER_S,
    TLOG_SETTLE_S,
)
from evalfed.core.records import LogKey
from evalfed.server.checkpoints import CheckpointSigner
from evalfed.server.storage.store import RecordStore
from evalfed.server.storage.tlog_store import TlogStore

log = logging.getLogger("evalfed.tlog")

RETRY_AFTER_ERROR_S = 1.0
IDLE_WAIT_S = 60.0
SETTLE_LOOKS = 4


class TlogIndexer:
    """start() it once; stop() ends it. Give it a `signer` to sign checkpoints of its logs."""

    def __init__(
        self, store: RecordStore, page: int = TLOG_INDEX_PAGE, settle_s: float = TLOG_SETTLE_S
    ) -> None:
        self.store = store
        self.trees = TlogStore(store)
        self.page = page
        self.settle_s = settle_s
        self._last_append_at = time.monotonic()
        """When the indexer last saw an append (about)."""
        self.signer: CheckpointSigner | None = None
        self._stop = threading.Event()
        self._grew = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="tlog indexer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.store.wake_waiters()
        if self._thread is not None:
            self._thread.join()

    def wait_for_size(self, key: LogKey, size: int, timeout_s: float) -> bool:
        """Blocks until the log's tree has at least `size` leaves (or the timeout)."""
        return self.wait_until(lambda: self.trees.size(key) >= size, timeout_s)

    def wait_until(self, done: Callable[[], bool], timeout_s: float) -> bool:
        """Blocks until `done()` holds, checked each time a tree grew or a checkpoint was
        signed (or the timeout)."""
        with self._grew:
            return self._grew.wait_for(done, timeout=timeout_s)

    def _run(self) -> None:
        pos = self.store.max_pos()
        behind, started = True, False
        while not self._stop.is_set():
            try:
                if behind:
                    for key in self.trees.logs_behind():
                        self._follow(key)
                    if self.signer is not None and not started:
                        for key in self.trees.unsigned(self.signer.institute):
                            self.signer.grown(key)
                    behind, started = False, True
                self._sign_due()
                wait_s = IDLE_WAIT_S if self.signer is None else self.signer.wait_s(IDLE_WAIT_S)
                newest = self.store.wait_for_append(pos, wait_s, until=self._stop)
                if newest > pos:
                    pos, behind = self._settle(pos, newest), True
            except Exception:
                log.exception("the tree indexer failed; it tries again")
                behind = True
                self._stop.wait(RETRY_AFTER_ERROR_S)

    def _settle(self, pos: int, newest: int) -> int:
        """Waits TLOG_SETTLE_S after the append of `newest`. Once TLOG_BURST records or more
        wait past `pos` (a burst), waits until no record arrived for twice the longest time
        between two appends, counting the one before `newest` (up to TLOG_BURST_GAP_MAX_S
        before it), and at least TLOG_SETTLE_S: a catch-up commits up to 20,000 records at
        once, seconds apart on a busy machine. Up to TLOG_MAX_DEFER_S in all. It looks for
        appends SETTLE_LOOKS times per settle time, not at each one (each look would take the
        GIL from the thread forwarding the record). The newest pos."""
        started = last_at = time.monotonic()
        longest = min(started - self._last_append_at, TLOG_BURST_GAP_MAX_S)
        while True:
            if newest - pos >= TLOG_BURST:
                end = last_at + max(self.settle_s, 2 * longest)
            else:
                end = started + self.settle_s
            timeout_s = min(end, started + TLOG_MAX_DEFER_S) - time.monotonic()
            if timeout_s <= 0 or self._stop.wait(min(timeout_s, self.settle_s / SETTLE_LOOKS)):
                break
            later = self.store.wait_for_append(newest, 0)
            if later > newest:
                now = time.monotonic()
                longest, last_at, newest = max(longest, now - last_at), now, later
        self._last_append_at = last_at
        return newest

    def _follow(self, key: LogKey) -> None:
        more = True
        while more and not self._stop.is_set():
            before, size, more = self.trees.extend(key, self.page)
            self._notify()
            if size > before and self.signer is not None:
                self.signer.grown(key)

    def _sign_due(self) -> None:
        if self.signer is not None and self.signer.sign_due():
            self._notify()

    def _notify(self) -> None:
        with self._grew:
            self._grew.notify_all()
