"""The witness's tables: per log the largest checkpoint held, the last one cosigned, and
split-view evidence, with one version sequence that orders changes for gossip."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Table, bindparam, func, select, update
from sqlalchemy.engine import Connection

from evalfed.core.limits import MAX_SPLIT_VIEWS_PER_LOG
from evalfed.core.records import LogKey
from evalfed.core.timeutil import now_us
from evalfed.server.storage.schema import (
    witness_checkpoints,
    witness_cosigned,
    witness_split_views,
)
from evalfed.server.storage.store import RecordStore, log_params
from evalfed.v1.envelope_pb2 import CheckpointNote, SplitViewEvidence


@dataclass(frozen=True)
class HeldCheckpoint:
    key: LogKey
    size: int
    root: bytes
    message: CheckpointNote
    version: int


@dataclass(frozen=True)
class Cosigned:
    size: int
    root: bytes
    message: CheckpointNote


@dataclass(frozen=True)
class HeldSplitView:
    key: LogKey
    evidence: SplitViewEvidence
    version: int


def _log(table: Table) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return (table.c.origin == bindparam("log_origin"), table.c.lane == bindparam("log_lane"))


def pair_digest(first: bytes, second: bytes) -> str:
    """Names an evidence pair, whichever note came first."""
    a, b = sorted((hashlib.sha256(first).digest(), hashlib.sha256(second).digest()))
    return hashlib.sha256(a + b).hexdigest()


class WitnessStore:
    """Reads and writes the witness tables of a RecordStore's database."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store
        self.engine = store.engine
        self._changed = threading.Condition()
        self._known_version = -1

    def wait_until(self, done: Callable[[], bool], timeout_s: float) -> bool:
        """Blocks until `done()` holds, checked after each change kept here (or the
        timeout)."""
        with self._changed:
            return self._changed.wait_for(done, timeout=timeout_s)

    def _notify(self, version: int) -> None:
        with self._changed:
            self._known_version = max(self._known_version, version)
            self._changed.notify_all()

    def _next_version(self, conn: Connection) -> int:
        held = conn.execute(select(func.max(witness_checkpoints.c.version))).scalar() or 0
        views = conn.execute(select(func.max(witness_split_views.c.version))).scalar() or 0
        return max(int(held), int(views)) + 1

    def version(self) -> int:
        """The newest change's version (0: none yet)."""
        with self.engine.connect() as conn:
            version = self._next_version(conn) - 1
        with self._changed:
            self._known_version = max(self._known_version, version)
        return version

    def unchanged_since(self, version: int) -> bool:
        """Whether nothing was kept through this store since `version`, which `version()`
        returned (read from memory: a following sync stream asks at every wake). Changes
        kept by another replica on the same database are seen at this replica's next one."""
        return version == self._known_version

    def held(self, key: LogKey) -> HeldCheckpoint | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(witness_checkpoints).where(*_log(witness_checkpoints)), log_params(key)
            ).first()
        return None if row is None else _held(row)

    def held_since(self, version: int) -> list[HeldCheckpoint]:
        """Every held checkpoint changed after `version`, oldest change first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(witness_checkpoints)
                .where(witness_checkpoints.c.version > version)
                .order_by(witness_checkpoints.c.version)
            ).all()
        return [_held(row) for row in rows]

    def hold(self, key: LogKey, size: int, root: bytes, message: CheckpointNote) -> None:
        """Keeps `message` as the log's latest checkpoint (replacing the one held)."""
        values = {
            "size": size,
            "root": root,
            "message": message.SerializeToString(),
            "received_at_us": now_us(),
        }
        with self.store.write_lock, self.engine.begin() as conn:
            values["version"] = version = self._next_version(conn)
            _upsert(conn, witness_checkpoints, key, values)
        self._notify(version)

    def cosigned(self, key: LogKey) -> Cosigned | None:
        """The last checkpoint of the log this node cosigned."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(witness_cosigned).where(*_log(witness_cosigned)), log_params(key)
            ).first()
        if row is None:
            return None
        return Cosigned(int(row.size), bytes(row.root), _note(row.message))

    def keep_cosigned(self, key: LogKey, size: int, root: bytes, message: CheckpointNote) -> None:
        values = {
            "size": size,
            "root": root,
            "message": message.SerializeToString(),
            "cosigned_at_us": now_us(),
        }
        with self.store.write_lock, self.engine.begin() as conn:
            _upsert(conn, witness_cosigned, key, values)

    def add_split_view(self, evidence: SplitViewEvidence) -> bool:
        """Keeps the evidence (once per pair of notes, at most MAX_SPLIT_VIEWS_PER_LOG per
        log); whether it was new and kept."""
        key = (evidence.origin, evidence.lane)
        pair = pair_digest(evidence.first.note, evidence.second.note)
        with self.store.write_lock, self.engine.begin() as conn:
            known = conn.execute(
                select(witness_split_views.c.id).where(witness_split_views.c.pair == pair)
            ).first()
            kept = conn.execute(
                select(func.count()).where(*_log(witness_split_views)), log_params(key)
            ).scalar()
            if known is not None or int(kept or 0) >= MAX_SPLIT_VIEWS_PER_LOG:
                return False
            conn.execute(
                witness_split_views.insert().values(
                    origin=key[0],
                    lane=key[1],
                    pair=pair,
                    evidence=evidence.SerializeToString(),
                    reason=evidence.reason,
                    version=(version := self._next_version(conn)),
                    found_at_us=now_us(),
                )
            )
        self._notify(version)
        return True

    def split_views_since(self, version: int) -> list[HeldSplitView]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(witness_split_views)
                .where(witness_split_views.c.version > version)
                .order_by(witness_split_views.c.version)
            ).all()
        return [_split_view(row) for row in rows]

    def split_views_of(self, key: LogKey) -> list[SplitViewEvidence]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(witness_split_views)
                .where(*_log(witness_split_views))
                .order_by(witness_split_views.c.id),
                log_params(key),
            ).all()
        return [_split_view(row).evidence for row in rows]

    def split_logs(self) -> set[LogKey]:
        """The logs this node holds split-view evidence of."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(witness_split_views.c.origin, witness_split_views.c.lane).distinct()
            ).all()
        return {(row.origin, row.lane) for row in rows}

    def split_view_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count(witness_split_views.c.id))).scalar() or 0)


def _upsert(conn: Connection, table: Table, key: LogKey, values: dict[str, object]) -> None:
    """Sets the log's row of `table` to `values`, inserting it when there is none."""
    done = conn.execute(update(table).where(*_log(table)).values(values), log_params(key))
    if done.rowcount == 0:
        conn.execute(table.insert().values(origin=key[0], lane=key[1], **values))


def _note(data: bytes) -> CheckpointNote:
    message = CheckpointNote()
    message.ParseFromString(bytes(data))
    return message


def _held(row) -> HeldCheckpoint:  # type: ignore[no-untyped-def]
    return HeldCheckpoint(
        (row.origin, row.lane), int(row.size), bytes(row.root), _note(row.message), int(row.version)
    )


def _split_view(row) -> HeldSplitView:  # type: ignore[no-untyped-def]
    evidence = SplitViewEvidence()
    evidence.ParseFromString(bytes(row.evidence))
    return HeldSplitView((row.origin, row.lane), evidence, int(row.version))
