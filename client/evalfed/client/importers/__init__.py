"""Reading result files into evaluation results, whatever tool wrote them.

`load_results(path)` recognizes a file (or run folder) by its content and returns one
`Imported` per result it holds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from evalfed.core.codec import result_from_text
from evalfed.core.errors import InvalidInputError
from evalfed.core.validate import check_result
from evalfed.v1.record_pb2 import EvaluationResult


@dataclass
class Imported:
    """One result read from a source, with what was stripped from it before signing."""

    path: Path
    result: EvaluationResult
    stripped: list[str] = field(default_factory=list)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_native(path: Path) -> list[Imported]:
    """A native result file: the result in protobuf's JSON mapping, as JSON or YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path} is not UTF-8 text") from None
    result = result_from_text(text, str(path))
    check_result(result)
    if not result.source.format:
        result.source.format = "native"
    if not result.source.sha256:
        result.source.sha256 = sha256_file(path)
    return [Imported(path, result)]


def load_results(path: Path) -> list[Imported]:
    """Every result in `path`, recognized by content."""
    if not path.exists():
        raise InvalidInputError(f"{path} does not exist")
    if path.is_dir():
        raise InvalidInputError(f"{path} is a folder, not a result file")
    return load_native(path)
