"""A log of ~150 MB imports in memory that does not grow with its size: samples are never built.

Peak memory is measured twice: Python allocations with tracemalloc in this process, and the
peak resident set of a fresh interpreter (ru_maxrss) above what it held before the import.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evalfed.client.importers import load_results

FIXTURE = Path(__file__).parents[2] / "fixtures" / "inspect" / "no-samples-cancelled.json"
LOG_BYTES = 150 << 20
PEAK_LIMIT = 50 << 20
BLOCK_SAMPLES = 256


def header() -> dict[str, Any]:
    log: dict[str, Any] = json.loads(FIXTURE.read_text())
    return {key: value for key, value in log.items() if key not in ("samples", "reductions")}


def sample_block() -> bytes:
    """BLOCK_SAMPLES samples, about 1 MiB, with a NaN score as Inspect can write."""
    sample = {
        "id": 1,
        "epoch": 1,
        "input": "What is the capital of France? " * 40,
        "target": "Paris",
        "messages": [{"role": "assistant", "content": "Paris. " * 200}],
        "scores": {"match": {"value": float("nan"), "answer": "Paris"}},
    }
    one = json.dumps(sample).encode()
    return b",".join([one] * BLOCK_SAMPLES)


def write_log(path: Path, size: int = LOG_BYTES, samples_first: bool = False) -> Path:
    block = sample_block()
    head = json.dumps(header()).encode()
    with path.open("wb") as out:
        if samples_first:
            out.write(b'{"samples": [')
        else:
            out.write(head[:-1] + b', "samples": [')
        written = 0
        while written < size:
            out.write(block if written == 0 else b"," + block)
            written += len(block) + 1
        if samples_first:
            out.write(b"], " + head[1:])
        else:
            out.write(b'], "reductions": []}')
    return path


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = write_log(tmp_path_factory.mktemp("large") / "big.json")
    yield path
    path.unlink()


def import_peak(path: Path) -> tuple[int, float]:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        imported = load_results(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert imported[0].result.scores[0].metrics[0].value == pytest.approx(2 / 3)
    return peak, time.perf_counter() - started


def test_large_json_log_imports_in_flat_memory(big_log: Path) -> None:
    assert big_log.stat().st_size >= LOG_BYTES
    peak, seconds = import_peak(big_log)
    print(
        f"\n{big_log.stat().st_size / 2**20:.0f} MiB log: tracemalloc peak {peak / 2**20:.2f} MiB"
    )
    assert peak < PEAK_LIMIT
    assert seconds < 10


def test_samples_before_the_header_are_skipped_not_built(tmp_path: Path) -> None:
    """Inspect writes samples last; a log that does not is parsed through, still unbuilt.

    Smaller, since every sample event is then read (about 20 MB/s under tracemalloc).
    """
    path = write_log(tmp_path / "samples-first.json", size=16 << 20, samples_first=True)
    peak, _ = import_peak(path)
    path.unlink()
    assert peak < 4 << 20


def test_large_eval_zip_reads_only_its_header(tmp_path: Path) -> None:
    path = tmp_path / "big.eval"
    block = sample_block()
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open("samples/1_epoch_1.json", "w", force_zip64=True) as entry:
            for _ in range(LOG_BYTES // len(block)):
                entry.write(block)
        archive.writestr("header.json", json.dumps(header()))
    peak, _ = import_peak(path)
    path.unlink()
    assert peak < PEAK_LIMIT


PROBE = """
import resource, sys
from collections.abc import Iterator
from pathlib import Path
from evalfed.client.importers import load_results
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
load_results(Path(sys.argv[1]))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before, after)
"""


def test_resident_memory_of_a_fresh_process(big_log: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(big_log)], capture_output=True, text=True, check=True
    )
    before_kib, after_kib = map(int, out.stdout.split())
    grown = (after_kib - before_kib) * 1024
    print(f"\nru_maxrss {before_kib / 1024:.0f} -> {after_kib / 1024:.0f} MiB")
    assert grown < PEAK_LIMIT
