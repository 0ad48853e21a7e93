"""The serving side of sync: stream what a partner lacks and may see, then follow new records.

The backlog is read per log (origin, lane) in keyset pages (seq, id) up to the newest record
at the start: past the caller's gap-free seq, less the runs it holds past a gap, so a gap a
relay left is filled by any partner holding the records. Following picks up from there by
storage position, so nothing is skipped or sent twice.
Restricted records whose embargo ends are sent when it ends. Fork evidence (the records at
one seq of one log holding several) is sent whatever the caller's cursor, once: for forks
with a record stored after the caller's fork cursor (a storage position, handed to the
caller sealed), which each stream moves on. Void records are sent by no path.
Checkpoints of the logs the caller may see, with split-view evidence of them, follow the
backlog and then each change (`Gossip`), in batches of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from evalfed.core.limits import (
    MAX_GOSSIP_CHECKPOINTS,
    MAX_GOSSIP_SPLIT_VIEWS,
    SYNC_BATCH_BYTES,
    SYNC_BATCH_RECORDS,
)
from evalfed.core.records import LogKey
from evalfed.core.timeutil import now_us
from evalfed.server.storage.store import Viewer
from evalfed.server.storage.sync_store import Have, SyncStore
from evalfed.v1.envelope_pb2 import CheckpointNote, SplitViewEvidence
from evalfed.v1.node_pb2 import SyncBatch

Gossiped = TypeVar("Gossiped", CheckpointNote, SplitViewEvidence)
Gossip = Callable[[int], tuple[list[CheckpointNote], list[SplitViewEvidence], int]]
"""The checkpoints and split-view evidence changed after a version, of logs the caller may
see, and the version they bring it to."""

FOLLOW_WAKE_S = 0.5
"""How often a following stream checks that its caller is still there."""


def _batches(envelopes: Iterable[bytes]) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    size = 0
    for data in envelopes:
        if batch and (len(batch) >= SYNC_BATCH_RECORDS or size + len(data) > SYNC_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(data)
        size += len(data)
    if batch:
        yield batch


def _backlog(
    store: SyncStore, viewer: Viewer, cursors: dict[LogKey, Have], max_pos: int
) -> Iterator[bytes]:
    nothing = Have(0, "")
    for key in store.store.logs():
        for after_seq, through_seq in cursors.get(key, nothing).wanted():
            after: tuple[int, str | None] = (after_seq, None)
            while True:
                rows = store.backlog(viewer, key, after, max_pos, SYNC_BATCH_RECORDS, through_seq)
                for row in rows:
                    yield row.envelope
                if len(rows) < SYNC_BATCH_RECORDS:
                    break
                after = (rows[-1].seq, rows[-1].id)


def _fork_evidence(
    store: SyncStore, viewer: Viewer, after_pos: int, upto_pos: int, sent: set[bytes]
) -> Iterator[list[bytes]]:
    """Batches of fork evidence involving records stored in (after_pos, upto_pos]: none is
    looked for while no log is forked (a fork is made by a record stored after it)."""
    if after_pos >= upto_pos or not store.store.forked_origins():
        return
    rows = store.fork_evidence(viewer, after_pos, upto_pos)
    yield from _batches(row.envelope for row in rows if row.envelope not in sent)


def _gossip_batches(
    notes: list[CheckpointNote], views: list[SplitViewEvidence]
) -> Iterator[SyncBatch]:
    """The checkpoints, then the evidence, in batches of at most MAX_GOSSIP_CHECKPOINTS or
    MAX_GOSSIP_SPLIT_VIEWS that close, like record batches, past SYNC_BATCH_BYTES."""
    for chunk in _chunks(notes, MAX_GOSSIP_CHECKPOINTS):
        yield SyncBatch(checkpoints=chunk)
    for views_chunk in _chunks(views, MAX_GOSSIP_SPLIT_VIEWS):
        yield SyncBatch(split_views=views_chunk)


def _chunks(items: list[Gossiped], most: int) -> Iterator[list[Gossiped]]:
    batch: list[Gossiped] = []
    size = 0
    for item in items:
        if batch and (len(batch) >= most or size + item.ByteSize() > SYNC_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += item.ByteSize()
    if batch:
        yield batch


def _no_gossip(version: int) -> tuple[list[CheckpointNote], list[SplitViewEvidence], int]:
    return [], [], version


def sync_stream(
    store: SyncStore,
    viewer: Viewer,
    cursors: dict[LogKey, Have],
    follow: bool,
    embargo_through_us: int,
    active: Callable[[], bool],
    forks_through_pos: int = 0,
    seal_forks: Callable[[int], bytes] = lambda _: b"",
    gossip: Gossip | None = None,
) -> Iterator[SyncBatch]:
    """Every record `viewer` lacks and may see; with `follow`, then each new one as stored.

    `cursors` says, per log, what the caller holds: its gap-free seq and the id it holds
    there (a partner holding another record at that seq sends it: fork evidence), and the
    runs it holds past a gap. `forks_through_pos` is where its fork cursor (opened) stands;
    `seal_forks` seals a new one for it. `gossip` gives the checkpoints and evidence to send
    (none without it)."""
    gossip = gossip or _no_gossip
    last_pos = store.store.max_pos()
    released_through = now_us()
    for envelopes in _batches(
        row.envelope for row in store.embargo_released(viewer, embargo_through_us, released_through)
    ):
        yield SyncBatch(envelopes=envelopes, embargo_through_us=0)
    for envelopes in _batches(_backlog(store, viewer, cursors, last_pos)):
        yield SyncBatch(envelopes=envelopes)
    rivals = [
        row.envelope
        for key, have in cursors.items()
        if have.id
        for row in store.others_at(viewer, key, have.seq, have.id)
    ]
    for envelopes in _batches(rivals):
        yield SyncBatch(envelopes=envelopes)
    for envelopes in _fork_evidence(store, viewer, forks_through_pos, last_pos, set(rivals)):
        yield SyncBatch(envelopes=envelopes)
    forks_through = max(forks_through_pos, last_pos)
    notes, views, gossiped = gossip(0)
    yield from _gossip_batches(notes, views)
    yield SyncBatch(
        caught_up=True,
        embargo_through_us=released_through,
        forks_cursor=seal_forks(forks_through),
    )
    if not follow:
        return
    next_release = store.next_embargo_end(released_through)
    while active():
        wait_s = FOLLOW_WAKE_S
        if next_release is not None:
            wait_s = max(0.0, min(wait_s, (next_release - now_us()) / 1e6))
        newest = store.store.wait_for_append(last_pos, wait_s)
        if newest > last_pos:
            next_release = store.next_embargo_end(released_through)
            # A fork found here may involve a record the caller was sent long ago.
            evidence = list(_fork_evidence(store, viewer, forks_through, newest, set()))
            for envelopes in evidence:
                yield SyncBatch(envelopes=envelopes)
            if evidence:
                yield SyncBatch(forks_cursor=seal_forks(newest))
            forks_through = max(forks_through, newest)
        while newest > last_pos:
            rows = store.appended_since(viewer, last_pos, SYNC_BATCH_RECORDS)
            # A short page holds every visible record up to the newest; positions of records
            # this viewer may not see are passed over with it.
            full = len(rows) == SYNC_BATCH_RECORDS
            last_pos = rows[-1].pos if full else max(newest, rows[-1].pos if rows else newest)
            for envelopes in _batches(row.envelope for row in rows):
                yield SyncBatch(envelopes=envelopes)
        notes, views, gossiped = gossip(gossiped)
        yield from _gossip_batches(notes, views)
        if next_release is not None and now_us() >= next_release:
            until = now_us()
            rows = store.embargo_released(viewer, released_through, until)
            for envelopes in _batches(row.envelope for row in rows):
                yield SyncBatch(envelopes=envelopes)
            released_through = until
            yield SyncBatch(embargo_through_us=released_through)
            next_release = store.next_embargo_end(released_through)
