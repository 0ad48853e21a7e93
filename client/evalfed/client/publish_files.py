"""Publishing many result files in one run: files are read in a background thread while the
results read so far go through the pipelined publisher, many files per call.

A file that cannot be read is refused with its reason and the others go on. A run the node
refuses as a whole (for a record it will not take) is split until the refusal names its file,
and the other files are still published.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
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

Read = tuple[Path, list[Imported] | EvalfedError]


def read_ahead(sources: Sequence[Path], load: Callable[[Path], list[Imported]]) -> Iterator[Read]:
    """Each source with what `load` gave or the error it raised, in order; a thread reads
    ahead while the caller works on what it has."""
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
