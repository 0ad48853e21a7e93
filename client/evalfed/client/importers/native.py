"""evalfed's own result file: an EvaluationResult in protobuf's JSON mapping, as JSON or YAML."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evalfed.client.importers.common import Imported, sha256_file
from evalfed.core.codec import result_from_dict, result_from_text
from evalfed.core.errors import InvalidInputError
from evalfed.v1.record_pb2 import EvaluationResult

FIELD_NAMES = frozenset(
    name for field in EvaluationResult.DESCRIPTOR.fields for name in (field.name, field.json_name)
)


def is_native(head: Any) -> bool:
    """A mapping of EvaluationResult fields (snake_case or lowerCamelCase).

    One naming both `model` and `task` counts too, so a misspelt field is reported by the
    schema check rather than as an unknown format.
    """
    if not isinstance(head, dict) or not head:
        return False
    return set(head) <= FIELD_NAMES or {"model", "task"} <= set(head)


def load_native(path: Path) -> list[Imported]:
    """A native result file: the result in protobuf's JSON mapping, as JSON or YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path} is not UTF-8 text") from None
    return _imported(path, result_from_text(text, str(path)), lambda: sha256_file(path))


def native_from_object(path: Path, data: dict[str, Any], content: bytes) -> list[Imported]:
    """A native JSON result file already read whole (`content`) and parsed (`data`)."""
    result = result_from_dict(data, str(path))
    return _imported(path, result, lambda: hashlib.sha256(content).hexdigest())


def _imported(path: Path, result: EvaluationResult, sha256: Callable[[], str]) -> list[Imported]:
    """The result, checked by `load_results` as every importer's are."""
    if not result.source.format:
        result.source.format = "native"
    if not result.source.sha256:
        result.source.sha256 = sha256()
    return [Imported(path, result, list(result.source.stripped))]
