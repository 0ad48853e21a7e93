"""The origin's checkpoints: the node signs a C2SP checkpoint of each of its institute's logs
when its tree grows, at most once per CHECKPOINT_MIN_INTERVAL_S per log, and keeps the latest.
An idle log's checkpoint is signed again every CHECKPOINT_REFRESH_S (the same note, as its text
holds no time) so that its witnesses cosign it again and their times show it is fresh.

Run by the tree indexer's thread (evalfed.server.tlog_indexer), after the trees grew: a
checkpoint's size is the tree's size when it is signed, so a new one always extends the last.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from evalfed.core import tlog
from evalfed.core.checkpoints import checkpoint_signer
from evalfed.core.limits import CHECKPOINT_MIN_INTERVAL_S, CHECKPOINT_REFRESH_S
from evalfed.core.note import Checkpoint, sign_checkpoint
from evalfed.core.records import LogKey
from evalfed.keys import PrivateKey
from evalfed.server.storage.tlog_store import TlogStore


class CheckpointSigner:
    """Which of this institute's logs are due a checkpoint, and signing them."""

    def __init__(
        self,
        trees: TlogStore,
        institute: str,
        federation_id: str,
        node_key: PrivateKey,
        interval_s: float = CHECKPOINT_MIN_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        refresh_s: float = CHECKPOINT_REFRESH_S,
    ) -> None:
        self.trees = trees
        self.institute = institute
        self.federation_id = federation_id
        self.node_key = node_key
        self.interval_s = interval_s
        self.clock = clock
        self._last: dict[LogKey, float] = {}
        self._due: dict[LogKey, float] = {}
        self.refresh_s = refresh_s
        self.on_signed: Callable[[LogKey, bytes], None] = lambda _key, _note: None
        """Called after each checkpoint is signed and kept (the cosign requests)."""

    def grown(self, key: LogKey) -> None:
        """The log's tree grew: due a checkpoint now, or one interval after the last."""
        if key[0] != self.institute or key in self._due:
            return
        last = self._last.get(key)
        self._due[key] = self.clock() if last is None else last + self.interval_s

    def resume(self, keys: Iterable[LogKey]) -> None:
        """Logs signed before this node started: refreshed refresh_s from now."""
        now = self.clock()
        for key in keys:
            if key[0] == self.institute:
                self._last.setdefault(key, now)

    def wait_s(self, longest: float) -> float:
        """How long until the next checkpoint is due (at most `longest`)."""
        times = [*self._due.values(), *(at + self.refresh_s for at in self._last.values())]
        if not times:
            return longest
        return max(0.0, min(longest, min(times) - self.clock()))

    def sign_due(self) -> int:
        """Signs every checkpoint now due (grown, or idle for refresh_s); how many."""
        now = self.clock()
        for key, at in self._last.items():
            if key not in self._due and at + self.refresh_s <= now:
                self._due[key] = now
        due = [key for key, at in self._due.items() if at <= now]
        for key in due:
            self.sign(key)
            self._last[key] = now
            del self._due[key]
        return len(due)

    def sign(self, key: LogKey) -> bytes:
        size, reader = self.trees.reader(key)
        signer = checkpoint_signer(self.federation_id, key, self.node_key)
        note = sign_checkpoint(Checkpoint(signer.name, size, tlog.tree_hash(size, reader)), signer)
        stored = self.trees.checkpoint(key)
        if stored is not None and stored.size == size and _text(stored.note) == _text(note):
            note = stored.note  # a refresh keeps the cosignatures it has until new ones come
        self.trees.keep_checkpoint(key, size, note)
        self.on_signed(key, note)
        return note


def _text(note: bytes) -> bytes:
    return note.split(b"\n\n", 1)[0]
