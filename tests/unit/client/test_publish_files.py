"""Reading ahead, and finding the file a refused run is about."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from evalfed.client import publish_files
from evalfed.client.importers import Imported
from evalfed.client.publish_files import (
    PARALLEL_READ_MIN,
    Loaded,
    Tally,
    publish_split,
    read_ahead,
)
from evalfed.client.publisher import Outcome
from evalfed.core.errors import EvalfedError, InvalidInputError
from evalfed.v1.record_pb2 import Record
from tests.results import result


def load(path: Path) -> list[Imported]:
    """A file named bad-* is unreadable; a folder named runs-* holds two runs, each with its
    own path (as a HELM suite does); any other file holds one result."""
    if path.name.startswith("bad"):
        raise InvalidInputError(f"{path} could not be read")
    if path.name.startswith("runs"):
        return [Imported(path / f"run-{n}", result(task=f"{path.name}/{n}")) for n in (1, 2)]
    return [Imported(path, result(task=path.name))]


def names(i: int) -> str:
    return f"{['bad', 'ok', 'runs'][i % 3]}-{i}"


def test_read_ahead_keeps_the_order_and_each_error_with_its_file() -> None:
    sources = [Path(names(i)) for i in range(50)]
    reads = list(read_ahead(sources, load))
    assert [source for source, _ in reads] == sources
    assert [isinstance(r, EvalfedError) for _, r in reads] == [i % 3 == 0 for i in range(50)]


@pytest.mark.timeout(60)
def test_many_files_are_read_in_worker_processes_in_order() -> None:
    sources = [Path(names(i)) for i in range(PARALLEL_READ_MIN)]
    seen: list[int] = []
    reads = list(read_ahead(sources, load, lambda: seen.append(1), processes=2))
    assert [source for source, _ in reads] == sources and len(seen) == len(sources)
    for source, loaded in reads:
        if isinstance(loaded, EvalfedError):
            assert source.name.startswith("bad") and str(loaded) == f"{source} could not be read"
        else:
            expected = [(i.path, i.result.task.name) for i in load(source)]
            assert [(each.path, each.body.result.task.name) for each in loaded] == expected


def load_where(path: Path) -> list[Imported]:
    """One result whose task names the process that read it."""
    return [Imported(path, result(task=f"read-by-{os.getpid()}"))]


@pytest.mark.timeout(60)
@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux's CPU affinity")
def test_on_one_usable_core_many_files_are_read_in_one_worker_process() -> None:
    """A process held to one core (taskset, a container's cpuset) reads with one worker
    process, not a thread beside the signing one and not two processes taking turns."""
    sources = [Path(f"ok-{i}") for i in range(PARALLEL_READ_MIN)]
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(allowed)})
    try:
        reads = list(read_ahead(sources, load_where))
    finally:
        os.sched_setaffinity(0, allowed)
    readers = {
        item.body.result.task.name
        for _, loaded in reads
        if not isinstance(loaded, EvalfedError)
        for item in loaded
    }
    assert len(reads) == len(sources)
    assert len(readers) == 1 and readers != {f"read-by-{os.getpid()}"}, readers


@pytest.mark.timeout(60)
def test_the_first_files_read_are_handed_on_while_later_ones_are_still_being_read() -> None:
    """Publishing starts once the first files are read: the node need not sit idle while a
    large folder is read. The last file is held until the first read has come out."""
    sources = [Path(f"ok-{i}") for i in range(PARALLEL_READ_MIN)]
    first_out = multiprocessing.get_context("fork").Event()

    def load_last_after_first_out(path: Path) -> list[Imported]:
        if path == sources[-1] and not first_out.wait(timeout=20):
            raise InvalidInputError(f"{path} was still waiting for the first read to come out")
        return load(path)

    reads = read_ahead(sources, load_last_after_first_out, processes=2)
    assert next(reads)[0] == sources[0]
    first_out.set()
    last_source, last = list(reads)[-1]
    assert last_source == sources[-1] and not isinstance(last, EvalfedError), last


def test_a_refused_run_is_split_until_the_refusal_names_its_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs: list[int] = []

    def node_publish(_client: object, bodies: list[Record]) -> list[Outcome]:
        """A node that refuses any run holding the task `refused`."""
        runs.append(len(bodies))
        if any(b.result.task.name == "refused" for b in bodies):
            raise InvalidInputError("the node will not take task `refused`")
        return [Outcome(b.result.task.name, 1, False) for b in bodies]

    monkeypatch.setattr(publish_files, "publish_records", node_publish)
    names = [f"ok-{i}" for i in range(16)]
    names[11] = "refused"
    published: list[str] = []
    refused: list[tuple[Path, str]] = []
    tally = Tally(
        lambda _item, outcome: published.append(outcome.id),
        lambda source, exc: refused.append((source, str(exc))),
    )
    files = [(Path(n), [Loaded(Path(n), Record(result=result(task=n)))]) for n in names]

    publish_split(lambda: object(), files, tally)  # type: ignore[arg-type,return-value]

    assert refused == [(Path("refused"), "the node will not take task `refused`")]
    assert published == [n for n in names if n != "refused"]
    assert tally.published == 15 and len(runs) <= 2 * 4 + 1
