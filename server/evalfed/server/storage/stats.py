"""Keeping PostgreSQL's statistics of the records table current as the logs grow.

PostgreSQL plans each query from table statistics, which autovacuum refreshes. Where it is
off or behind (it is off on this project's machine), a table of 900,000 records keeps the
statistics of an empty one, and looking up a publish batch's 1,000 seqs scanned all of it:
630 ms where the index takes about 2 ms. So the node analyzes the table itself, in the
background, at start and whenever it has doubled since the last time.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

ANALYZE_GROWTH = 1.0
"""Analyze again once the table has grown by this fraction... Each ANALYZE samples 30,000
rows, about 0.2 s of the server's CPU however large the table: at a tenth, it ran every
10,000 records while a table was under 100,000, 17 µs of CPU per record published. Between
analyses the planner scales its row estimate by the table's size on disk."""
ANALYZE_MIN_ROWS = 10_000
"""...and by at least this many rows."""


class TableStats:
    """Runs ANALYZE on `records` as it grows (PostgreSQL only; SQLite needs none here)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.enabled = engine.dialect.name == "postgresql"
        self.analyzed = threading.Event()
        """Set after each analysis (for tests and operators' tools to wait on)."""
        self._lock = threading.Lock()
        self._rows_at_last = 0
        self._added = 0
        self._running = False
        if self.enabled:
            self._start()

    def added(self, rows: int) -> None:
        """Call after committing `rows` new records."""
        if not self.enabled:
            return
        with self._lock:
            self._added += rows
            due = max(ANALYZE_MIN_ROWS, ANALYZE_GROWTH * self._rows_at_last)
            if self._running or self._added < due:
                return
        self._start()

    def _start(self) -> None:
        with self._lock:
            self._running, self._added = True, 0
        self.analyzed.clear()
        threading.Thread(target=self._analyze, name="analyze records", daemon=True).start()

    def _analyze(self) -> None:
        rows = self._rows_at_last
        try:
            with self.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE records")
                estimate = conn.exec_driver_sql(
                    "SELECT reltuples FROM pg_class WHERE oid = 'records'::regclass"
                ).scalar()
            rows = max(0, int(estimate or 0))
        except Exception:
            log.exception("could not analyze the records table")
        finally:
            with self._lock:
                self._running, self._rows_at_last = False, rows
            self.analyzed.set()
