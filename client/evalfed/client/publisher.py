"""Publishing results: build each record, sign it locally, append it at its lane's head.

The node never sees the private key. Each audience has its own lane of the institute's log
(see evalfed.core.records.lane_of). A head that moved under us (another publisher) gives a
conflict; we re-read the heads, re-sign and retry. A result the node already holds (the same
body from the same institute) is reported as existing and not published again.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from evalfed.client.node_client import NodeClient, PublishCall, require_key
from evalfed.core.errors import ConflictError, EvalfedError
from evalfed.core.limits import MAX_PUBLISH_BATCH
from evalfed.core.records import (
    LANE_SALT_BYTES,
    body_digest,
    is_restricted,
    kind_of,
    parse_record,
    record_id,
    record_lane,
    sign_record,
)
from evalfed.core.timeutil import now_us, timestamp_of_us
from evalfed.core.validate import check_result
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.record_pb2 import Audience, EvaluationResult, Record

T = TypeVar("T")
X = TypeVar("X")

MAX_CONFLICT_RETRIES = 8
PUBLISH_IN_FLIGHT = 3
"""Publish batches sent before the first one's answer is awaited. With 2 the node sat idle
between batches: 3 kept 1.93 of 2 cores busy against 1.85 (two A/B runs of 50,000 records)."""
BATCH_PAYLOAD_BYTES = 8 << 20
"""A publish batch closes at MAX_PUBLISH_BATCH records or this many payload bytes."""
FIRST_BATCH_RECORDS = 250
"""The first batch's size; each next one is twice as large, up to MAX_PUBLISH_BATCH, and the
last ones shrink back (see `publish_batches`)."""
LaneHeadState = tuple[int, str, bytes]
"""A lane's head as the publisher moves it on: seq, id, and the lane's salt."""


@dataclass(frozen=True)
class Outcome:
    """What became of one result: its record id, seq, and whether it was already there."""

    id: str
    seq: int
    existed: bool


def new_result_record(
    result: EvaluationResult, audience: Audience, embargo_until_us: int | None = None
) -> Record:
    """A record with the body set and the header left for `publish_records` to fill."""
    return address_record(Record(result=result), audience, embargo_until_us)


def address_record(
    record: Record, audience: Audience, embargo_until_us: int | None = None
) -> Record:
    """`record`, now for `audience` (and embargoed until `embargo_until_us`, if given)."""
    record.audience.CopyFrom(audience)
    if embargo_until_us is not None:
        record.embargo_until.CopyFrom(timestamp_of_us(embargo_until_us))
    return record


def publish_records(client: NodeClient, bodies: Sequence[Record]) -> list[Outcome]:
    """Signs and publishes each record (body, audience, embargo set) in order. Every result
    is checked before any is sent."""
    require_key(client)
    for body in bodies:
        if kind_of(body) == "result":
            check_result(body.result)
    try:
        return [o for _, group in publish_groups(client, [(0, bodies)], len(bodies)) for o in group]
    except RefusedBatchError as exc:
        raise exc.error from None


def _same(item: Item | None, other: Item) -> bool:
    """Whether `item` is `other` (or None: no body carries that result yet in this run)."""
    return item is None or (item[0] is other[0] and item[1] == other[1])


class RefusedBatchError(EvalfedError):
    """The node refused a batch for good (not a moved head): `error` says why. `unfinished`:
    every group taken from the input whose outcomes were not all given yet, in order."""

    def __init__(self, error: EvalfedError, unfinished: list[tuple[Any, Sequence[Record]]]) -> None:
        super().__init__(str(error))
        self.error = error
        self.unfinished = unfinished


def publish_groups(
    client: NodeClient, groups: Iterable[tuple[T, Sequence[Record]]], expected: int = 0
) -> Iterator[tuple[T, list[Outcome]]]:
    """Signs and publishes the records of each group (tag, bodies) in one pipelined stream,
    and gives each group's outcomes as soon as they and those of every group before it are in.
    The input is read as the pipeline needs it, so a caller may still be producing it.
    `expected`: about how many records there will be, so that the last batches shrink.

    Batches hold records of several groups, and a group may span batches. A moved head is
    dealt with here (re-read, re-signed, at most MAX_CONFLICT_RETRIES times in a row); any
    other refusal ends the stream with RefusedBatchError, and the groups not taken yet are
    left in `groups`."""
    require_key(client)
    return _Pipeline[T](client, iter(groups), expected).run()


class _Group(Generic[T]):
    """One group of the input, with the outcomes of its bodies so far."""

    def __init__(self, tag: T, bodies: Sequence[Record]) -> None:
        self.tag = tag
        self.bodies = bodies
        self.outcomes: list[Outcome | None] = [None] * len(bodies)
        self.digests: list[str | None] = [None] * len(bodies)
        """Each result body's digest, once batched."""
        self.repeats: dict[int, tuple[_Group[Any], int]] = {}
        """Bodies whose result an earlier body of this run carries: (its group, its index)."""
        self.left = len(bodies)
        """Bodies with no outcome yet."""

    def settle(self, index: int, outcome: Outcome) -> None:
        if self.outcomes[index] is None:
            self.left -= 1
        self.outcomes[index] = outcome

    def repeat(self, index: int, first: tuple[_Group[Any], int]) -> None:
        self.repeats[index] = first
        self.left -= 1

    def final(self) -> list[Outcome]:
        """Each body's outcome, once `left` is 0 (a repeat's is its first's, as existing)."""
        outcomes: list[Outcome] = []
        for index, outcome in enumerate(self.outcomes):
            if index in self.repeats:
                group, first = self.repeats[index]
                held = group.outcomes[first]
                assert held is not None, "a body's first comes before it"
                outcome = Outcome(held.id, held.seq, True)
            assert outcome is not None
            outcomes.append(outcome)
        return outcomes


Item = tuple[_Group[Any], int]
"""One body: its group and its index there."""


class _Pipeline(Generic[T]):
    """One publishing stream (see `publish_groups`)."""

    def __init__(
        self, client: NodeClient, groups: Iterator[tuple[T, Sequence[Record]]], expected: int
    ) -> None:
        self.client = client
        self.groups = groups
        self.expected = expected
        self.taken = 0
        self.open: deque[_Group[T]] = deque()
        """Groups taken from the input whose outcomes were not given yet."""
        self.cursor: tuple[_Group[T], int] | None = None
        """The group being cut into batches and its next index."""
        self.redo: deque[Item] = deque()
        """Bodies to send again (after a moved head), before any new one."""
        self.in_flight: deque[tuple[list[Item], PublishCall]] = deque()
        self.heads: dict[str, LaneHeadState] = {}
        self.first_with: dict[str, Item] = {}
        """Result digest: the body that carries it in this run, until the node holds it (then
        FindExisting finds it, and the body and its group can be let go)."""
        self.growing = _growing_limits()
        self.conflicts = 0

    def run(self) -> Iterator[tuple[T, list[Outcome]]]:
        while True:
            if batch := self._next_batch():
                self._send(batch)
                while len(self.in_flight) >= PUBLISH_IN_FLIGHT:
                    self._collect()
            elif self.in_flight:
                self._collect()  # after a moved head, what it refused is batched again
            else:
                yield from self._finished()
                return
            yield from self._finished()

    def _next_batch(self) -> list[Item]:
        """Up to the next batch limit of bodies, sent again ones first."""
        return _cut_batch(
            lambda: self.redo.popleft() if self.redo else self._next_new(),
            self.redo.appendleft,
            lambda item: item[0].bodies[item[1]].ByteSize(),
            _batch_limit(self.growing, self.expected - self.taken),
        )

    def _next_new(self) -> Item | None:
        while self.cursor is None or self.cursor[1] >= len(self.cursor[0].bodies):
            taken = next(self.groups, None)
            if taken is None:
                return None
            tag, bodies = taken
            group = _Group(tag, bodies)
            self.open.append(group)
            self.cursor = (group, 0)
        group, index = self.cursor
        self.cursor = (group, index + 1)
        self.taken += 1
        return group, index

    def _send(self, batch: list[Item]) -> None:
        """Skips what the node holds or this run sends already; signs and sends the rest."""
        digests: dict[int, str] = {}
        for n, (group, index) in enumerate(batch):
            body = group.bodies[index]
            if kind_of(body) == "result":
                digests[n] = group.digests[index] = body_digest(body)
        asked = [d for n, d in digests.items() if _same(self.first_with.get(d), batch[n])]
        existing = self.client.find_existing(asked)
        to_send: list[Item] = []
        for n, (group, index) in enumerate(batch):
            digest = digests.get(n)
            if digest in existing:
                group.settle(index, Outcome(existing[digest], 0, True))
            elif digest is not None and not _same(self.first_with.get(digest), batch[n]):
                group.repeat(index, self.first_with[digest])
            else:
                if digest is not None:
                    self.first_with[digest] = (group, index)
                to_send.append((group, index))
        if to_send:
            bodies = [group.bodies[index] for group, index in to_send]
            envelopes = _sign_chain(self.client, bodies, self.heads)
            self.in_flight.append((to_send, self.client.publish_async(envelopes)))

    def _collect(self) -> None:
        """The oldest batch's outcomes; after a moved head, the later batches' too, and every
        body of the ones refused goes back to be signed again."""
        batch, call = self.in_flight.popleft()
        try:
            self._record(batch, call)
            self.conflicts = 0
        except ConflictError:
            self.conflicts += 1
            if self.conflicts >= MAX_CONFLICT_RETRIES:
                raise
            again = list(batch)
            while self.in_flight:
                later, later_call = self.in_flight.popleft()
                try:
                    self._record(later, later_call)
                except EvalfedError:  # chained on the refused batch: sent again with it
                    again += later
            self.redo.extendleft(reversed(again))
            self.heads.clear()
            time.sleep(random.uniform(0, 0.05 * 2**self.conflicts))
        except EvalfedError as exc:
            while self.in_flight:  # their records chain on the refused ones': let them end
                with contextlib.suppress(EvalfedError):
                    self._record(*self.in_flight.popleft())
            raise RefusedBatchError(exc, [(g.tag, g.bodies) for g in self.open]) from None

    def _record(self, batch: list[Item], call: PublishCall) -> None:
        for (group, index), published in zip(batch, call.result(), strict=True):
            group.settle(index, Outcome(published.id, published.seq, published.existed))
            digest = group.digests[index]
            if digest is None:
                continue
            first = self.first_with.get(digest)
            if first is not None and first[0] is group and first[1] == index:
                del self.first_with[digest]

    def _finished(self) -> Iterator[tuple[T, list[Outcome]]]:
        """The groups at the front whose outcomes are all in."""
        while self.open and self.open[0].left == 0 and self._past(self.open[0]):
            group = self.open.popleft()
            yield group.tag, group.final()

    def _past(self, group: _Group[T]) -> bool:
        """Whether every body of `group` has been taken from the input."""
        return (
            self.cursor is None
            or self.cursor[0] is not group
            or self.cursor[1] >= len(group.bodies)
        )


def publish_batches(indexes: list[int], bodies: Sequence[Record]) -> Iterator[list[int]]:
    """The `indexes` in batches of at most MAX_PUBLISH_BATCH records and BATCH_PAYLOAD_BYTES,
    as `publish_records` cuts them (a stream of one group).
    The first batches are small and grow, so that the node starts checking while the client
    signs the rest; the last ones shrink, so that little is left to check and store once the
    client has signed everything."""
    growing = _growing_limits()
    left = deque(indexes)
    while batch := _cut_batch(
        lambda: left.popleft() if left else None,
        left.appendleft,
        lambda i: bodies[i].ByteSize(),
        _batch_limit(growing, len(left)),
    ):
        yield batch


def _cut_batch(
    take: Callable[[], X | None],
    put_back: Callable[[X], None],
    size_of: Callable[[X], int],
    limit: int,
) -> list[X]:
    """Up to `limit` items from `take()` (None: no more) and at most BATCH_PAYLOAD_BYTES by
    `size_of`; an item that would pass the bytes goes back for the next batch."""
    batch: list[X] = []
    size = 0
    while len(batch) < limit and (item := take()) is not None:
        item_size = size_of(item)
        if batch and size + item_size > BATCH_PAYLOAD_BYTES:
            put_back(item)
            break
        batch.append(item)
        size += item_size
    return batch


def _batch_limit(growing: Iterator[int], left: int) -> int:
    """The next batch's size limit: the next of `growing`, or half the `left` (expected
    records not batched yet) when that is smaller, but never under FIRST_BATCH_RECORDS."""
    return min(next(growing), max(FIRST_BATCH_RECORDS, left // 2))


def _growing_limits() -> Iterator[int]:
    """FIRST_BATCH_RECORDS, then twice as many each time, up to MAX_PUBLISH_BATCH."""
    limit = FIRST_BATCH_RECORDS
    while True:
        yield limit
        limit = min(2 * limit, MAX_PUBLISH_BATCH)


def _read_head(client: NodeClient, lane: str) -> LaneHeadState:
    """The node's head of `lane` (seq, id) and the lane's salt: for a restricted lane, the head
    record's (its lanes begun before lane salts keep none), or a new one when the lane is new."""
    head = client.head(lane=lane)
    salt = b""
    if is_restricted(lane):
        if head.seq == 0:
            salt = os.urandom(LANE_SALT_BYTES)
        else:
            salt = parse_record(client.get(head.id).record.envelope).lane_salt
    return head.seq, head.id, salt


def _sign_chain(
    client: NodeClient, bodies: Sequence[Record], heads: dict[str, LaneHeadState]
) -> list[Envelope]:
    """Signs each body at the head of its lane; `heads` (lane: seq, id, salt) is read from the
    node for a lane not in it yet, and moves on with each record signed."""
    signing_key = require_key(client)
    envelopes = []
    issued = timestamp_of_us(now_us())
    for body in bodies:
        record = Record()
        record.CopyFrom(body)
        record.federation_id = client.federation_id
        record.origin = client.institute
        lane = record_lane(record)
        if lane not in heads:
            heads[lane] = _read_head(client, lane)
        seq, prev, salt = heads[lane]
        record.seq = seq + 1
        record.prev = prev
        record.lane_salt = salt
        record.key_id = signing_key.key_id
        record.issued_at.CopyFrom(issued)
        envelope = sign_record(record, signing_key)
        envelopes.append(envelope)
        heads[lane] = (record.seq, record_id(envelope.payload), salt)
    return envelopes
