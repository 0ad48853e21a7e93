"""Fuzzes the importers: bytes -> one temp file (reused) -> load_results.

Anything but an EvalfedError is a crash; libFuzzer's -timeout and -rss_limit_mb catch hangs and
memory blow-ups. Run through `make fuzz`, or:
    python -m tests.fuzz.fuzz_import --write-seeds build/fuzz/import
    python -m tests.fuzz.fuzz_import build/fuzz/import -max_total_time=300
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

from evalfed.client.importers import load_results
from evalfed.core.errors import EvalfedError
from tests.fuzz.common import FIXTURES

FOLDER = Path(tempfile.mkdtemp(prefix="evalfed-fuzz-import-"))
PATH = FOLDER / "input"

NATIVE = {
    "model": {"id": "openai/gpt-4o-mini", "developer": "OpenAI"},
    "task": {"name": "gpqa_diamond", "version": "1"},
    "scores": [
        {"scorer": "choice", "metrics": [{"name": "accuracy", "value": 0.412, "stderr": 0.035}]}
    ],
}


def test_one_input(data: bytes) -> None:
    PATH.write_bytes(data)
    with contextlib.suppress(EvalfedError):
        load_results(PATH)


def _eval_zip(header: bytes, entry: str = "header.json") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(entry, header)
    return buffer.getvalue()


def seeds() -> Iterator[tuple[str, bytes]]:
    yield "native.json", json.dumps(NATIVE).encode()
    yield "native.yaml", b"model: {id: m/x}\ntask: {name: t}\nscores: []\n"
    small_inspect = (FIXTURES / "inspect/popularity-mockllm-2024.json").read_bytes()
    yield "inspect.json", small_inspect
    yield "inspect.eval", _eval_zip(small_inspect)
    yield "inspect-started.eval", _eval_zip(small_inspect, "_journal/start.json")
    yield "lm-eval.json", (FIXTURES / "lm_eval/stderr-na-string.json").read_bytes()
    yield "nan.json", b'{"eval": {"task": "t", "model": "m/x"}, "results": {"x": NaN}}'


if __name__ == "__main__":
    from tests.fuzz.common import main

    main(test_one_input, seeds)
