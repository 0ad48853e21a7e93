"""Publishing many result files in one run: files are read in worker processes (or, for a
few, a thread) while the results read so far stream through one pipelined publisher, many
files per call.

A file that cannot be read is refused with its reason and the others go on. A batch the node
refuses as a whole (for a record it will not take) is published again in runs split until the
refusal names its file; the other files are still published, and the stream goes on.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import NamedTuple

from evalfed.client.importers import Imported
from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import (
    Outcome,
    RefusedBatchError,
    address_record,
    publish_groups,
    publish_records,
)
from evalfed.core.errors import EvalfedError, InvalidInputError, LimitError, RateLimitError
from evalfed.v1.record_pb2 import Audience, Record

READ_AHEAD_SOURCES = 4_096
"""Files read ahead of the publisher at most (their results wait in memory). Publishing starts
as soon as the first files are read, so the node works while the rest are read. With the node
on a core of its own (as on its own server), that beats reading the first 20,000 files before
publishing any: cli/library 0.84, 0.81, 0.78, 0.80, 0.70 against 0.75, 0.74, 0.70, 0.72, 0.59
(alternating pairs of 20,000 files); with the node on the same two cores, 0.70, 0.65, 0.67
against 0.71, 0.58, 0.63."""
PARALLEL_READ_MIN = 256
"""From this many files on, they are read in worker processes (one a core this process may
run on, up to MAX_READ_PROCESSES; one on a single core), forked where the system can (they
start at once, with nothing to import): a reading thread would contend for the GIL with the
one signing (4,100 to 4,300 files/s against 4,650 to 4,900 with forked workers, and 4,300 to
4,600 with workers that import evalfed anew; 20,000 files, 2 cores, node on the same
machine). With one core (the node on the other), one reader beside the signing process beat
two: cli/library 0.84, 0.79, 0.81 against 0.83, 0.74, 0.75."""
MAX_READ_PROCESSES = 4
READ_BATCH = 64
"""Files one worker reads per task."""


class Loaded(NamedTuple):
    """One result read from a source: the path it came from (a HELM run folder's own, not
    the source's) and its record, with the body set and the rest left for the run to fill."""

    path: Path
    body: Record


Read = tuple[Path, list[Loaded] | EvalfedError]
Load = Callable[[Path], list[Imported]]


def read_ahead(
    sources: Sequence[Path],
    load: Load,
    on_read: Callable[[], None] = lambda: None,
    processes: int | None = None,
) -> Iterator[Read]:
    """Each source with what `load` gave or the error it raised, in order, read ahead of the
    caller: in `processes` forked worker processes (default: one a core) when there are many
    sources and the system can fork; else in a thread. `on_read` is called in the caller's
    thread as each source's outcome reaches it."""
    workers = min(usable_cores(), MAX_READ_PROCESSES) if processes is None else processes
    forks = "fork" in multiprocessing.get_all_start_methods()
    if forks and workers > 0 and len(sources) >= PARALLEL_READ_MIN:
        reads = _read_in_processes(sources, load, workers)
    else:
        reads = _read_in_thread(sources, load)
    for read in reads:
        on_read()
        yield read


def usable_cores() -> int:
    """The cores this process may run on: a container's or `taskset`'s set can be fewer than
    the machine's."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


Packed = list[tuple[bytes, str | None]] | str
"""A source's results as a worker sends them: each one's record (body set) serialized, with its
path when it is not the source's (a HELM run folder's); or the message of the error it raised.
Bytes cost far less to send than the messages and paths themselves, which pickle field by
field, and the records are built here, beside the other reading, not in the process that signs
them."""

_worker_job: tuple[Sequence[Path], Load] | None = None
"""A forked worker's sources and reader, inherited from the parent (never pickled)."""


def _keep_job(sources: Sequence[Path], load: Load) -> None:
    global _worker_job
    _worker_job = (sources, load)


def _load_range(start: int, stop: int) -> list[Packed]:
    """A worker's task: sources[start:stop] read and packed."""
    assert _worker_job is not None, "a worker starts with its job"
    sources, load = _worker_job
    packed: list[Packed] = []
    for source in sources[start:stop]:
        try:
            imported = load(source)
        except EvalfedError as exc:
            packed.append(str(exc))
            continue
        packed.append(
            [
                (item.body.SerializeToString(), None if item.path == source else str(item.path))
                for item in _loaded(imported)
            ]
        )
    return packed


def _unpack(source: Path, packed: Packed) -> list[Loaded] | EvalfedError:
    if isinstance(packed, str):
        return InvalidInputError(packed)
    return [
        Loaded(source if path is None else Path(path), Record.FromString(data))
        for data, path in packed
    ]


def _loaded(imported: list[Imported]) -> list[Loaded]:
    """Each result's record, its body set (in a worker or the reading thread)."""
    return [Loaded(i.path, Record(result=i.result)) for i in imported]


def _read_in_processes(sources: Sequence[Path], load: Load, workers: int) -> Iterator[Read]:
    """Forked workers read ranges of `sources` (so a task is two numbers)."""
    ranges = iter(
        [(i, min(i + READ_BATCH, len(sources))) for i in range(0, len(sources), READ_BATCH)]
    )
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_keep_job,
        initargs=(sources, load),
    )
    try:
        pending = deque(
            (task, pool.submit(_load_range, *task))
            for task in islice(ranges, READ_AHEAD_SOURCES // READ_BATCH)
        )
        while pending:
            (start, stop), future = pending.popleft()
            done = future.result()
            if (task := next(ranges, None)) is not None:
                pending.append((task, pool.submit(_load_range, *task)))
            for source, packed in zip(sources[start:stop], done, strict=True):
                yield source, _unpack(source, packed)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _read_in_thread(sources: Sequence[Path], load: Load) -> Iterator[Read]:
    done = object()
    ready: queue.Queue[Read | object] = queue.Queue(maxsize=READ_AHEAD_SOURCES)
    stop = threading.Event()

    def reader() -> None:
        for source in sources:
            if stop.is_set():
                return
            try:
                ready.put((source, _loaded(load(source))))
            except EvalfedError as exc:
                ready.put((source, exc))
        ready.put(done)

    thread = threading.Thread(target=reader, name="read-results", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not done:
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():
            try:
                ready.get_nowait()
            except queue.Empty:
                thread.join(0.05)


@dataclass
class Tally:
    """What a run did so far; `on_outcome` and `on_refused` report each file as it ends."""

    on_outcome: Callable[[Loaded, Outcome], None]
    on_refused: Callable[[Path, EvalfedError], None]
    on_file_done: Callable[[], None] = lambda: None
    published: int = 0
    skipped: int = 0
    refused: list[tuple[Path, str]] = field(default_factory=list)

    def refuse(self, source: Path, error: EvalfedError) -> None:
        self.refused.append((source, str(error)))
        self.on_refused(source, error)
        self.on_file_done()

    def record(self, loaded: list[Loaded], outcomes: list[Outcome]) -> None:
        """One file's outcomes, one for each of its results."""
        for item, outcome in zip(loaded, outcomes, strict=True):
            if outcome.existed:
                self.skipped += 1
            else:
                self.published += 1
            self.on_outcome(item, outcome)
        self.on_file_done()


def publish_reads(
    client: Callable[[], NodeClient],
    reads: Iterable[Read],
    audience: Audience,
    embargo_until_us: int | None,
    tally: Tally,
    expected: int = 0,
) -> None:
    """Refuses the unreadable files and publishes the others in one pipelined stream
    (`client()` gives the node's client, asked for once a file is there to publish; about
    `expected` results in all). The files of a batch the node refuses are published again by
    `publish_split`, and the stream goes on after them."""
    files = _readable(reads, audience, embargo_until_us, tally)
    first = next(files, None)
    if first is None:
        return
    files = chain([first], files)
    while True:
        groups = (((source, loaded), [item.body for item in loaded]) for source, loaded in files)
        try:
            for (_, loaded), outcomes in publish_groups(client(), groups, expected):
                tally.record(loaded, outcomes)
            return
        except RefusedBatchError as exc:
            if not isinstance(exc.error, InvalidInputError | LimitError) or isinstance(
                exc.error, RateLimitError
            ):
                raise exc.error from None
            unfinished = [tag for tag, _ in exc.unfinished]
            publish_split(client, unfinished, tally)


def _readable(
    reads: Iterable[Read], audience: Audience, embargo_until_us: int | None, tally: Tally
) -> Iterator[tuple[Path, list[Loaded]]]:
    """The files read, their records now for `audience` (and the embargo); the unreadable
    ones are refused."""
    for source, loaded in reads:
        if isinstance(loaded, EvalfedError):
            tally.refuse(source, loaded)
            continue
        for item in loaded:
            address_record(item.body, audience, embargo_until_us)
        yield source, loaded


def publish_split(
    client: Callable[[], NodeClient],
    files: list[tuple[Path, list[Loaded]]],
    tally: Tally,
) -> None:
    """Publishes `files` (their records' audience and embargo set) as one run; a run the node
    refuses is split in halves until the refusal names its file (results stored before the
    refusal come back as existing)."""

    def publish(run: list[tuple[Path, list[Loaded]]]) -> None:
        bodies = [item.body for _, loaded in run for item in loaded]
        try:
            outcomes = publish_records(client(), bodies)
        except RateLimitError:
            raise
        except (InvalidInputError, LimitError) as exc:
            if len(run) == 1:
                tally.refuse(run[0][0], exc)
                return
            publish(run[: len(run) // 2])
            publish(run[len(run) // 2 :])
            return
        position = 0
        for _, loaded in run:
            tally.record(loaded, outcomes[position : position + len(loaded)])
            position += len(loaded)

    if files:
        publish(files)
