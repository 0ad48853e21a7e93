"""Checkpoints and proofs of the logs' Merkle trees, for callers who may see the log: the
same audience rule as the log's records, and the same NOT_FOUND for a log the caller may not
see as for one that does not exist."""

from __future__ import annotations

from dataclasses import dataclass

from evalfed.core import tlog
from evalfed.core.errors import InvalidInputError, NotFoundError
from evalfed.core.names import check_institute_id, check_record_id
from evalfed.core.note import TlogProof
from evalfed.core.records import LogKey, check_lane
from evalfed.server.storage.store import RecordStore, Viewer, log_name
from evalfed.server.storage.tlog_store import StoredCheckpoint, TlogStore


@dataclass(frozen=True)
class Proof:
    index: int
    size: int
    hashes: list[bytes]
    checkpoint: bytes = b""


class TransparencyService:
    def __init__(self, institute: str, store: RecordStore, trees: TlogStore) -> None:
        self.institute = institute
        self.store = store
        self.trees = trees

    def checkpoint(self, origin: str, lane: str, viewer: Viewer) -> StoredCheckpoint:
        key = self._visible_log(origin, lane, viewer)
        return self._checkpoint(key)

    def inclusion(self, record_id: str, size: int, viewer: Viewer) -> Proof:
        """The record's inclusion proof in its log's tree of `size` leaves (0: the latest
        checkpoint's size, the checkpoint with it)."""
        row = self.store.get(check_record_id(record_id), viewer)
        if row is None:
            raise NotFoundError(f"no record {record_id} that you may see is held here")
        key, index = (row.origin, row.lane), row.seq - 1
        note = b""
        if size == 0:
            checkpoint = self._checkpoint(key)
            size, note = checkpoint.size, checkpoint.note
        _, reader = self._tree(key, size)
        if index >= size:
            raise NotFoundError(
                f"record {record_id[:16]} is at seq {row.seq}, beyond the tree of {size} "
                f"leaves of {log_name(key)}: ask for a larger size"
            )
        if reader.read_hashes([tlog.stored_hash_index(0, index)]) != [
            tlog.record_leaf_hash(record_id)
        ]:
            raise NotFoundError(
                f"record {record_id[:16]} is not in the tree of {log_name(key)}: the log is "
                f"forked, and the tree holds the record first stored at seq {row.seq}"
            )
        return Proof(index, size, tlog.inclusion_proof(index, size, reader), note)

    def consistency(
        self, origin: str, lane: str, old_size: int, size: int, viewer: Viewer
    ) -> Proof:
        key = self._visible_log(origin, lane, viewer)
        if not 0 < old_size <= size:
            raise InvalidInputError(
                f"a consistency proof goes from a size above 0 to one at least as large, not "
                f"from {old_size} to {size}"
            )
        _, reader = self._tree(key, size)
        return Proof(0, size, tlog.consistency_proof(old_size, size, reader))

    def _visible_log(self, origin: str, lane: str, viewer: Viewer) -> LogKey:
        key = (check_institute_id(origin) if origin else self.institute, check_lane(lane))
        if not self.store.may_see_log(viewer, key):
            raise NotFoundError(f"no log {log_name(key)} that you may see is held here")
        return key

    def _checkpoint(self, key: LogKey) -> StoredCheckpoint:
        checkpoint = self.trees.checkpoint(key)
        if checkpoint is None:
            raise NotFoundError(
                f"no checkpoint of {log_name(key)} here: a node signs checkpoints of its own "
                "institute's logs only, and does so shortly after they grow"
            )
        return checkpoint

    def _tree(self, key: LogKey, size: int) -> tuple[int, tlog.HashReader]:
        held, reader = self.trees.reader(key)
        if size > held:
            raise NotFoundError(
                f"the tree of {log_name(key)} has {held} leaves here, not {size}: ask for a "
                "smaller size, or a node that holds more of the log"
            )
        return held, reader

    def tlog_proof(self, record_id: str, viewer: Viewer) -> bytes:
        """The record's C2SP tlog-proof to the latest checkpoint, or b"" when there is none."""
        try:
            proof = self.inclusion(record_id, 0, viewer)
        except NotFoundError:
            return b""
        return TlogProof(proof.index, tuple(proof.hashes), proof.checkpoint).to_bytes()
