"""Publishing many result files in one run: files are read in worker processes (or, for a
few, a thread) while the results read so far go through the pipelined publisher, many files
per call.

A file that cannot be read is refused with its reason and the others go on. A run the node
refuses as a whole (for a record it will not take) is split until the refusal names its file,
and the other files are still published.
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
from itertools import islice
from pathlib import Path

from evalfed.client.importers import Imported
from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import Outcome, new_result_record, publish_records
from evalfed.core.errors import EvalfedError, InvalidInputError, LimitError, RateLimitError
from evalfed.v1.record_pb2 import Audience

CHUNK_RECORDS = 5_000
"""Results handed to the publisher at once: as many as one publish call may carry, so that
20,000 files take a few dozen calls, well within the node's per-caller rate."""
READ_AHEAD_SOURCES = 20_000
"""Files read ahead of the publisher at most (their results wait in memory)."""
PARALLEL_READ_MIN = 256
"""From this many files on, they are read in worker processes (one a core, up to
MAX_READ_PROCESSES): reading and checking a small result file takes about 150 µs of Python,
as much as signing and publishing it, and threads would share one core."""
MAX_READ_PROCESSES = 4
READ_BATCH = 64
"""Files one worker reads per task."""

Read = tuple[Path, list[Imported] | EvalfedError]
Load = Callable[[Path], list[Imported]]


def read_ahead(
    sources: Sequence[Path],
    load: Load,
    on_read: Callable[[], None] = lambda: None,
    processes: int | None = None,
) -> Iterator[Read]:
    """Each source with what `load` gave or the error it raised, in order, read ahead of the
    caller: in `processes` worker processes (default: one a core) when there are many
    sources, then `load` must be a module-level function; else in a thread. `on_read` is
    called in the caller's thread as each source's outcome reaches it."""
    workers = min(os.cpu_count() or 1, MAX_READ_PROCESSES) if processes is None else processes
    if workers > 1 and len(sources) >= PARALLEL_READ_MIN:
        reads = _read_in_processes(sources, load, workers)
    else:
        reads = _read_in_thread(sources, load)
    for read in reads:
        on_read()
        yield read


def _load_batch(load: Load, sources: Sequence[Path]) -> list[tuple[Path, list[Imported] | str]]:
    """A worker's task: each source's results, or the message of the error it raised."""
    loaded: list[tuple[Path, list[Imported] | str]] = []
    for source in sources:
        try:
            loaded.append((source, load(source)))
        except EvalfedError as exc:
            loaded.append((source, str(exc)))
    return loaded


def _read_in_processes(sources: Sequence[Path], load: Load, workers: int) -> Iterator[Read]:
    batches = iter([sources[i : i + READ_BATCH] for i in range(0, len(sources), READ_BATCH)])
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        pending = deque(
            pool.submit(_load_batch, load, batch)
            for batch in islice(batches, READ_AHEAD_SOURCES // READ_BATCH)
        )
        while pending:
            done = pending.popleft().result()
            if (batch := next(batches, None)) is not None:
                pending.append(pool.submit(_load_batch, load, batch))
            for source, loaded in done:
                yield source, InvalidInputError(loaded) if isinstance(loaded, str) else loaded
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
                ready.put((source, load(source)))
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


def in_chunks(reads: Iterable[Read], max_records: int = CHUNK_RECORDS) -> Iterator[list[Read]]:
    """The reads in runs of about `max_records` results (a file's results stay together)."""
    chunk: list[Read] = []
    records = 0
    for read in reads:
        chunk.append(read)
        if not isinstance(read[1], EvalfedError):
            records += len(read[1])
        if records >= max_records:
            yield chunk
            chunk, records = [], 0
    if chunk:
        yield chunk


@dataclass
class Tally:
    """What a run did so far; `on_outcome` and `on_refused` report each file as it ends."""

    on_outcome: Callable[[Imported, Outcome], None]
    on_refused: Callable[[Path, EvalfedError], None]
    on_file_done: Callable[[], None] = lambda: None
    published: int = 0
    skipped: int = 0
    refused: list[tuple[Path, str]] = field(default_factory=list)

    def refuse(self, source: Path, error: EvalfedError) -> None:
        self.refused.append((source, str(error)))
        self.on_refused(source, error)
        self.on_file_done()

    def record(self, files: list[tuple[Path, list[Imported]]], outcomes: list[Outcome]) -> None:
        position = 0
        for _, imported in files:
            for item in imported:
                outcome = outcomes[position]
                position += 1
                if outcome.existed:
                    self.skipped += 1
                else:
                    self.published += 1
                self.on_outcome(item, outcome)
            self.on_file_done()


def publish_chunk(
    client: Callable[[], NodeClient],
    chunk: list[Read],
    audience: Audience,
    embargo_until_us: int | None,
    tally: Tally,
) -> None:
    """Refuses the chunk's unreadable files and publishes the others in one pipelined run
    (`client()` gives the node's client); a run the node refuses is split in halves until
    the refusal names its file."""
    files: list[tuple[Path, list[Imported]]] = []
    for source, loaded in chunk:
        if isinstance(loaded, EvalfedError):
            tally.refuse(source, loaded)
        else:
            files.append((source, loaded))

    def publish(run: list[tuple[Path, list[Imported]]]) -> None:
        bodies = [
            new_result_record(item.result, audience, embargo_until_us)
            for _, imported in run
            for item in imported
        ]
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
        tally.record(run, outcomes)

    if files:
        publish(files)
