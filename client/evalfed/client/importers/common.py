"""What every importer returns, and the words it uses when a file is not what it should be."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from evalfed.core.errors import InvalidInputError
from evalfed.v1.record_pb2 import EvaluationResult

ACCEPTED = (
    "an Inspect log (.eval or .json), an lm-evaluation-harness results file (JSON), "
    "a HELM run folder (with run_spec.json and stats.json), "
    "or an evalfed result file (JSON or YAML)"
)


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


def not_recognized(path: Path, what: str) -> InvalidInputError:
    """The error for a file that is none of the accepted formats; `what` says what it is."""
    return InvalidInputError(
        f"{path} is not a result file evalfed can read: {what}. Accepted: {ACCEPTED}"
    )


def finish(path: Path, result: EvaluationResult, stripped: list[str]) -> Imported:
    """Records the stripped paths in the result's source too."""
    result.source.stripped[:] = stripped
    return Imported(path, result, list(stripped))
