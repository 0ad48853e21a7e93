"""The node's tree indexer: a thread that grows each log's Merkle tree behind its records.

Woken by the store's append events, it reads the records stored since it last looked, by
storage position and in pages, and extends the trees of the logs they belong to up to each
log's gap-free seq, in its own transactions. At start it first extends every tree that is
behind (the records stored before it ran, or before the node had trees). Appending a record
does no tree work, so publishing and sync cost what they cost before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from evalfed.core.limits import TLOG_INDEX_PAGE
from evalfed.core.records import LogKey
from evalfed.server.storage.store import RecordStore
from evalfed.server.storage.tlog_store import TlogStore

log = logging.getLogger("evalfed.tlog")

RETRY_AFTER_ERROR_S = 1.0
IDLE_WAIT_S = 60.0

Grown = Callable[[LogKey, int], None]


class TlogIndexer:
    """start() it once; stop() ends it. `on_grown(log, size)` runs in its thread after a tree
    grew (the checkpoint signer's hook)."""

    def __init__(self, store: RecordStore, page: int = TLOG_INDEX_PAGE) -> None:
        self.store = store
        self.trees = TlogStore(store)
        self.page = page
        self.on_grown: Grown | None = None
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
        with self._grew:
            return self._grew.wait_for(lambda: self.trees.size(key) >= size, timeout=timeout_s)

    def _run(self) -> None:
        pos = self.store.max_pos()
        caught_up = False
        while not self._stop.is_set():
            try:
                if not caught_up:
                    for key in self.trees.logs_behind():
                        self._follow(key)
                    caught_up = True
                newest = self.store.wait_for_append(pos, IDLE_WAIT_S, until=self._stop)
                while pos < newest and not self._stop.is_set():
                    keys, pos = self.trees.touched_since(pos, self.page)
                    if not keys:
                        break
                    for key in sorted(keys):
                        self._follow(key)
            except Exception:
                log.exception("the tree indexer failed; it tries again")
                self._stop.wait(RETRY_AFTER_ERROR_S)

    def _follow(self, key: LogKey) -> None:
        more = True
        while more and not self._stop.is_set():
            before, size, more = self.trees.extend(key, self.page)
            with self._grew:
                self._grew.notify_all()
            if size > before and self.on_grown is not None:
                self.on_grown(key, size)
