"""Reading result files into evaluation results, whatever tool wrote them.

`load_results(path)` recognizes a file (or run folder) by its content and returns one
`Imported` per result it holds: an Inspect log (`.eval` or `.json`), an lm-evaluation-harness
results file (one per task), a HELM run folder, or a native result file. Samples are never
loaded, and local paths, secrets and environment dumps are stripped (see `redact`).
"""

from __future__ import annotations

from pathlib import Path

from evalfed.client.importers.common import ACCEPTED, Imported, sha256_file
from evalfed.client.importers.detect import read_any
from evalfed.client.importers.native import load_native
from evalfed.core.errors import InvalidInputError
from evalfed.core.validate import check_result

__all__ = ["ACCEPTED", "Imported", "load_native", "load_results", "sha256_file"]


def load_results(path: Path) -> list[Imported]:
    """Every result in `path`, recognized by content and checked like any result to publish."""
    imported = read_any(path)
    for item in imported:
        if not item.result.model.id.strip():
            raise InvalidInputError(
                f"{_where(path, item)} names no model, and a result cannot be published without one"
            )
        try:
            check_result(item.result)
        except InvalidInputError as exc:
            raise InvalidInputError(f"{_where(path, item)}: {exc}") from None
    return imported


def _where(path: Path, item: Imported) -> str:
    where = f"{path} ({item.result.source.format}"
    return where + (f", task {item.result.task.name})" if item.result.task.name else ")")
