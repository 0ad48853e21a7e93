"""The pulling side of sync: one link per partner, each in its own thread.

A link asks the partner for what this node lacks, checks every record (signatures in a thread
pool: Ed25519 checks release the GIL), stores each batch in one transaction together with its
progress, and follows the partner's live stream. On any failure it reconnects with exponential
backoff and jitter; one partner's trouble never holds up another's link. Checkpoints and
split-view evidence in a batch go to `on_gossip` after the batch's records are stored, with a
prover that asks the partner for consistency proofs.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from queue import Queue
from typing import NamedTuple

import grpc

from evalfed.core.checks import VerifiedRecord
from evalfed.core.errors import LimitError
from evalfed.core.limits import (
    MAX_GOSSIP_CHECKPOINTS,
    MAX_GOSSIP_SPLIT_VIEWS,
    MAX_STATUS_PAGES_READ,
    SYNC_BATCH_RECORDS,
)
from evalfed.core.records import LogKey
from evalfed.core.timeutil import now_us
from evalfed.server.storage.store import Viewer
from evalfed.server.storage.sync_store import SyncStore
from evalfed.server.verifier import Checked, Verifier
from evalfed.v1.envelope_pb2 import CheckpointNote, SplitViewEvidence
from evalfed.v1.node_pb2 import (
    Cursor,
    GetProofRequest,
    GetStatusRequest,
    SeqRange,
    SyncBatch,
    SyncRequest,
)
from evalfed.v1.node_pb2_grpc import NodeStub

log = logging.getLogger(__name__)

OpenPartner = Callable[[str], tuple[grpc.Channel, NodeStub, str | None]]
"""Opens a checked channel to a partner's address: the channel, its stub, and the institute
whose node binding was verified when connecting (None when none was)."""

BACKOFF_FIRST_S = 0.2
PIPELINE_DEPTH = 40
"""Batches checked ahead of the ones being stored (enough to fill STORE_MAX_RECORDS)."""
STORE_MAX_RECORDS = 20_000
"""Batches already checked and waiting are stored together, up to this many records in one
transaction: larger transactions write each touched index page once for many records. Record
ids are hashes, so their index takes each insert on a random page; raw inserts into a table
growing from 500,000 to a million records cost 27, 21.5 and 19.7 µs a row in transactions of
10,000, 20,000 and 50,000 rows. A catch-up stores full transactions but for its last few
(its checks run ahead of its writes); the waiting records are held in memory, which is why
this stops at 20,000 (catchup_peak_rss_mb at one million records: 201 MiB)."""
BACKOFF_MAX_S = 30.0
REFUSED_RETRY_MAX_S = 5.0
"""A partner that refused us (e.g. while our admission is pending) is asked again this often."""
STATUS_TIMEOUT_S = 10.0
PROOF_TIMEOUT_S = 10.0

Prover = Callable[[LogKey, int, int], Sequence[bytes] | None]
OnGossip = Callable[[Sequence[CheckpointNote], Sequence[SplitViewEvidence], Prover, str], object]
"""Takes a partner's checkpoints and evidence: with a prover asking that partner, and its
address."""


def no_gossip(
    _notes: Sequence[CheckpointNote], _views: Sequence[SplitViewEvidence], _prove: Prover, _at: str
) -> None:
    return None


@dataclass
class LinkStats:
    """What a link has seen, for `evalfed status`."""

    state: str = "connecting"
    last_contact_us: int = 0
    received: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    last_error: str = ""
    institute: str = ""
    """The partner's institute, as its verified node binding names it."""
    heads: dict[LogKey, int] = field(default_factory=dict)
    """The partner's heads per log as it claimed them at connection, raised by what it sends
    (signed checkpoints would take their place: see SyncStore.lags)."""


class _Waiting(NamedTuple):
    """A partner's batch whose envelopes are being checked, waiting to be stored (its message
    is let go: the checks hold the envelope bytes)."""

    records: int
    embargo_through_us: int
    forks_cursor: bytes
    checks: list[Future[list[Checked]]]
    notes: list[CheckpointNote]
    views: list[SplitViewEvidence]


class PeerLink:
    """Keeps this node up to date from one partner until stopped."""

    def __init__(
        self,
        address: str,
        store: SyncStore,
        verifier: Verifier,
        open_stub: OpenPartner,
        on_stored: Callable[[list[VerifiedRecord]], None] = lambda _: None,
        on_gossip: OnGossip = no_gossip,
    ) -> None:
        self.address = address
        self.on_stored = on_stored
        self.on_gossip = on_gossip
        self._stub: NodeStub | None = None
        self._reconnect = threading.Event()
        self.store = store
        self.verifier = verifier
        self.open_stub = open_stub
        self.stats = LinkStats()
        self._storing = threading.Lock()
        """Held while a batch is stored and counted (see `settled_stats`)."""
        self._stop = threading.Event()
        self._call: grpc.Future | None = None
        self._thread = threading.Thread(target=self._run, name=f"sync {address}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def reconnect(self) -> None:
        """Ends the current stream and asks again at once (e.g. after membership changed)."""
        self._reconnect.set()
        call = self._call
        if call is not None:
            call.cancel()

    def stop(self) -> None:
        self._stop.set()
        call = self._call
        if call is not None:
            call.cancel()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._stream()
                failures = 0
            except grpc.RpcError as exc:
                if self._stop.is_set():
                    return
                code = exc.code() if isinstance(exc, grpc.Call) else None
                error = f"{code.name if code else 'error'}: " + (
                    exc.details() if isinstance(exc, grpc.Call) else str(exc)
                )
                if error != self.stats.last_error:
                    log.info("sync with %s: %s", self.address, error)
                self.stats.last_error = error
                if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
                    self.stats.state = "refused"
                failures += 1
            except Exception as exc:
                if str(exc) != self.stats.last_error:
                    log.exception("sync with %s failed", self.address)
                self.stats.last_error = str(exc)
                failures += 1
            if self._reconnect.is_set():
                self._reconnect.clear()
                failures = 0
                continue
            limit = REFUSED_RETRY_MAX_S if self.stats.state == "refused" else BACKOFF_MAX_S
            if self.stats.state != "refused":
                self.stats.state = "backoff"
            delay = min(limit, BACKOFF_FIRST_S * 2 ** min(failures, 10))
            self._stop.wait(random.uniform(delay / 2, delay))

    def _stream(self) -> None:
        channel, stub, institute = self.open_stub(self.address)
        try:
            claimed, heads = _claimed_heads(stub)
            if claimed != institute:
                log.warning(
                    "partner %s says it is %s, but its node binding names %s",
                    self.address,
                    claimed,
                    institute,
                )
            self.stats.institute = institute or ""
            self.stats.heads = heads
            self.stats.last_contact_us = now_us()
            delivered = self.store.peer_cursors(self.address)
            cursors = self.store.cursors(Viewer(institute))
            request = SyncRequest(
                have=[
                    Cursor(
                        origin=o,
                        lane=lane,
                        seq=have.seq,
                        id=have.id,
                        held=[SeqRange(low=low, high=high) for low, high in have.held],
                    )
                    for (o, lane), have in cursors.items()
                ],
                follow=True,
                embargo_through_us=delivered.embargo_through_us,
                forks_cursor=delivered.forks_cursor,
            )
            call = stub.Sync(request)
            self._call = call
            self._stub = stub
            self.stats.state = "streaming"
            self._pipeline(call)
        finally:
            self._call = None
            self._stub = None
            channel.close()

    def _pipeline(self, call: Iterator[SyncBatch]) -> None:
        """Checks each batch as it arrives while earlier ones are being stored, so the
        signature checks and the database writes overlap; batches are stored in order."""
        queue: Queue[_Waiting | None] = Queue(PIPELINE_DEPTH)
        failure: list[BaseException] = []

        def store() -> None:
            while (item := queue.get()) is not None:
                if failure:
                    continue
                try:
                    self._store_from(item, queue)
                except BaseException as exc:
                    failure.append(exc)
                    if self._call is not None:
                        self._call.cancel()

        storer = threading.Thread(target=store, name=f"store {self.address}", daemon=True)
        storer.start()
        try:
            for batch in call:
                if self._stop.is_set() or failure:
                    break
                records, embargo = len(batch.envelopes), batch.embargo_through_us
                forks = batch.forks_cursor
                notes, views = list(batch.checkpoints), list(batch.split_views)
                if len(notes) > MAX_GOSSIP_CHECKPOINTS or len(views) > MAX_GOSSIP_SPLIT_VIEWS:
                    raise LimitError(
                        f"{self.address} sent {len(notes)} checkpoints and {len(views)} split "
                        f"views in one batch, over MAX_GOSSIP_CHECKPOINTS="
                        f"{MAX_GOSSIP_CHECKPOINTS} or MAX_GOSSIP_SPLIT_VIEWS="
                        f"{MAX_GOSSIP_SPLIT_VIEWS}"
                    )
                checks = self.verifier.submit(list(batch.envelopes))
                del batch  # the message is not held while the queue is full
                queue.put(_Waiting(records, embargo, forks, checks, notes, views))
        except grpc.RpcError:
            if not failure:
                raise  # otherwise the stream was cancelled because storing failed
        finally:
            queue.put(None)
            storer.join()
        if failure:
            raise failure[0]

    def _store_from(self, first: _Waiting, queue: Queue[_Waiting | None]) -> None:
        """Waits for the checks of `first` and of the batches queued after it, and stores them
        in one transaction: up to STORE_MAX_RECORDS, or fewer once fewer records wait in
        `queue` (counting each batch as a full one) than half of those taken, so that the
        workers check the rest while this transaction is written rather than sit idle until it
        is (at the end of a catch-up, up to 20,000 records used to be written while nothing
        else ran)."""
        checked = Verifier.results(first.checks)
        records, embargo, forks = first.records, first.embargo_through_us, first.forks_cursor
        notes, views = list(first.notes), list(first.views)
        while records < STORE_MAX_RECORDS and 2 * queue.qsize() * SYNC_BATCH_RECORDS > records:
            if (more := queue.get()) is None:
                queue.put(None)  # seen again by the storing loop, which then ends
                break
            checked += Verifier.results(more.checks)
            records += more.records
            embargo = max(embargo, more.embargo_through_us)
            forks = more.forks_cursor or forks  # the newest cursor covers the earlier ones
            notes += more.notes
            views += more.views
        if checked or embargo or forks or not (notes or views):
            self.ingest(checked, embargo, forks)
        if notes or views:
            self.on_gossip(notes, views, self.prove, self.address)

    def prove(self, key: LogKey, old_size: int, size: int) -> list[bytes] | None:
        """A consistency proof of the log between the sizes, from the partner; None when it
        gives none."""
        stub = self._stub
        if stub is None:
            return None
        request = GetProofRequest(origin=key[0], lane=key[1], old_size=old_size, size=size)
        try:
            return list(stub.GetProof(request, timeout=PROOF_TIMEOUT_S).hashes)
        except grpc.RpcError:
            return None

    def settled_stats(self) -> LinkStats:
        """The link's figures once the batch being stored, if any, is counted too: a record
        that can be read from the store is always in them."""
        with self._storing:
            return self.stats

    def ingest(
        self, checked: list[Checked], embargo_through_us: int, forks_cursor: bytes = b""
    ) -> None:
        """Stores checked records (one or more partner batches) in one transaction; rejected
        records are logged and counted, never stored."""
        with self._storing:
            self.stats.last_contact_us = now_us()
            verified = [c for c in checked if isinstance(c, VerifiedRecord)]
            rejected = [c for c in checked if not isinstance(c, VerifiedRecord)]
            result = self.store.append_synced(
                verified, self.address, embargo_through_us, forks_cursor
            )
            if result.new or result.forks:
                self.on_stored(verified)
            heads = self.stats.heads
            for key, seq in result.highest.items():
                if seq > heads.get(key, 0):
                    heads[key] = seq
            rejected += result.rejected
            self.stats.received += result.new + result.forks
            for record_id, reason in rejected:
                kind = reason.split(":", 1)[0]
                self.stats.rejected[kind] += 1
                log.warning("rejected record %s from %s: %s", record_id[:16], self.address, reason)
            if result.forks:
                log.warning("fork evidence from %s: %d record(s)", self.address, result.forks)


def _claimed_heads(stub: NodeStub) -> tuple[str, dict[LogKey, int]]:
    """The institute a partner says it is, and the heads per log it claims, read page by page
    (at most MAX_STATUS_PAGES_READ pages: all lanes of every member at the lane cap)."""
    heads: dict[LogKey, int] = {}
    institute, token = "", ""
    for page in range(MAX_STATUS_PAGES_READ):
        status = stub.GetStatus(GetStatusRequest(page_token=token), timeout=STATUS_TIMEOUT_S)
        if page == 0:
            institute = status.institute
        heads.update(((h.origin, h.lane), h.seq) for h in status.heads)
        token = status.next_page_token
        if not token:
            break
    return institute, heads
