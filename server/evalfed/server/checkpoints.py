"""The origin's checkpoints: the node signs a C2SP checkpoint of each of its institute's logs
when its tree grows, at most once per CHECKPOINT_MIN_INTERVAL_S per log, and keeps the latest.

Run by the tree indexer's thread (evalfed.server.tlog_indexer), after the trees grew: a
checkpoint's size is the tree's size when it is signed, so a new one always extends the last.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from evalfed.core import tlog
from evalfed.core.checkpoints import checkpoint_signer
from evalfed.core.limits import CHECKPOINT_MIN_INTERVAL_S
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
    ) -> None:
        self.trees = trees
        self.institute = institute
        self.federation_id = federation_id
        self.node_key = node_key
        self.interval_s = interval_s
        self.clock = clock
        self._last: dict[LogKey, float] = {}
        self._due: dict[LogKey, float] = {}

    def grown(self, key: LogKey) -> None:
        """The log's tree grew: due a checkpoint now, or one interval after the last."""
        if key[0] != self.institute or key in self._due:
            return
        last = self._last.get(key)
        self._due[key] = self.clock() if last is None else last + self.interval_s

    def wait_s(self, longest: float) -> float:
        """How long until the next checkpoint is due (at most `longest`)."""
        if not self._due:
            return longest
        return max(0.0, min(longest, min(self._due.values()) - self.clock()))

    def sign_due(self) -> int:
        """Signs every checkpoint now due; how many."""
        now = self.clock()
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
        self.trees.keep_checkpoint(key, size, note)
        return note
