"""Checkpoint gossip goes in batches a receiver takes: at most MAX_GOSSIP_CHECKPOINTS (or
MAX_GOSSIP_SPLIT_VIEWS) items, closing past SYNC_BATCH_BYTES like record batches."""

from __future__ import annotations

from evalfed.core.limits import MAX_GOSSIP_CHECKPOINTS, MAX_GOSSIP_SPLIT_VIEWS, SYNC_BATCH_BYTES
from evalfed.server.sync.sender import _gossip_batches
from evalfed.v1.envelope_pb2 import CheckpointNote, SplitViewEvidence


def test_many_small_checkpoints_split_by_count_and_large_ones_by_bytes() -> None:
    small = [CheckpointNote(note=b"n" * 10) for _ in range(MAX_GOSSIP_CHECKPOINTS + 1)]
    views = [SplitViewEvidence(origin="us-aisi") for _ in range(MAX_GOSSIP_SPLIT_VIEWS + 1)]
    batches = list(_gossip_batches(small, views))
    assert [len(b.checkpoints) for b in batches] == [MAX_GOSSIP_CHECKPOINTS, 1, 0, 0]
    assert [len(b.split_views) for b in batches] == [0, 0, MAX_GOSSIP_SPLIT_VIEWS, 1]

    large = [CheckpointNote(note=b"n" * (SYNC_BATCH_BYTES // 3)) for _ in range(4)]
    batches = list(_gossip_batches(large, []))
    assert [len(b.checkpoints) for b in batches] == [2, 2]
    assert all(b.ByteSize() < SYNC_BATCH_BYTES + 64 for b in batches)
