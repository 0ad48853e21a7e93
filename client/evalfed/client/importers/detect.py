"""Telling formats apart by content, never by file name, and choosing the reader for each.

A folder is a HELM run folder or nothing. A file starting with a zip signature is an Inspect
`.eval` log. Anything else is streamed as JSON (stopping before any `samples`) and judged by
its keys; text that is not JSON may still be a native result in YAML.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import yaml

from evalfed.client.importers.common import Imported, not_recognized
from evalfed.client.importers.helm import (
    RUN_SPEC,
    STATS,
    is_run_folder,
    is_run_spec,
    is_stats_entry,
    load_helm,
)
from evalfed.client.importers.inspect_log import (
    is_inspect_header,
    load_inspect_eval,
    load_inspect_json,
)
from evalfed.client.importers.jsonstream import JsonArray, NotJsonError, read_json_file_head
from evalfed.client.importers.lm_eval import is_lm_eval_results, load_lm_eval
from evalfed.client.importers.native import is_native, load_native, native_from_object
from evalfed.core.codec import load_yaml
from evalfed.core.errors import InvalidInputError

ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
MAX_YAML_BYTES = 16 << 20
"""A YAML result file larger than this is not tried (YAML is parsed whole)."""


WHOLE_READ_BYTES = 1 << 20
"""A file up to this size is read once and parsed whole by the C parser: when it is an evalfed
result file, that parse is used. Anything else is streamed as larger files are."""


def read_any(path: Path) -> list[Imported]:
    """Every result in `path`, by what the content is."""
    is_folder, start = _read_start(path)
    if is_folder:
        if is_run_folder(path):
            return load_helm(path)
        raise not_recognized(
            path, f"it is a folder without {RUN_SPEC} and {STATS}, so not a HELM run folder"
        )
    if start[:4] in ZIP_SIGNATURES:
        return load_inspect_eval(path)
    if len(start) <= WHOLE_READ_BYTES and (native := _native_object(start)) is not None:
        return native_from_object(path, native, start)
    try:
        head = read_json_file_head(path)
    except NotJsonError as exc:
        if _is_yaml_native(path):
            return load_native(path)
        raise not_recognized(path, f"it is not valid JSON ({exc}) nor a YAML result") from None
    return _read_json(path, head)


def _read_start(path: Path) -> tuple[bool, bytes]:
    """Whether `path` is a folder, else the file's first WHOLE_READ_BYTES + 1 bytes (all of a
    small file). One open, fstat, read and close: pathlib's stat and open took twice as long
    (7.5 against 15 µs), and reading into a buffer of WHOLE_READ_BYTES, 20 µs more."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise InvalidInputError(f"{path} does not exist") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None
    try:
        status = os.fstat(fd)
        if stat.S_ISDIR(status.st_mode):
            return True, b""
        wanted = min(status.st_size, WHOLE_READ_BYTES) + 1
        parts = [os.read(fd, wanted)]
        while parts[-1] and (got := sum(map(len, parts))) < wanted:
            parts.append(os.read(fd, wanted - got))  # a short read: a file still growing
        return False, b"".join(parts)
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(fd)


def _native_object(data: bytes) -> dict[str, Any] | None:
    """The JSON object of a whole file when it reads as an evalfed result and as no other
    format (the same order of tests as `_read_json`), else None."""
    try:
        head = json.loads(data)
    except (ValueError, RecursionError):  # not JSON (UnicodeDecodeError is a ValueError)
        return None
    if not isinstance(head, dict) or is_inspect_header(head) or is_lm_eval_results(head):
        return None
    return head if not is_run_spec(head) and is_native(head) else None


def _read_json(path: Path, head: object) -> list[Imported]:
    if isinstance(head, dict):
        if is_inspect_header(head):
            return load_inspect_json(path, head)
        if is_lm_eval_results(head):
            return load_lm_eval(path, head)
        if is_run_spec(head) and is_run_folder(path.parent):
            return load_helm(path.parent)
        if is_native(head):
            return load_native(path)
        keys = ", ".join(sorted(map(str, head))[:8])
        raise not_recognized(path, f"it is a JSON object with keys {keys or '(none)'}")
    if isinstance(head, JsonArray) and is_stats_entry(head.first) and is_run_folder(path.parent):
        return load_helm(path.parent)
    kind = "an array" if isinstance(head, JsonArray) else f"a lone {type(head).__name__} value"
    raise not_recognized(path, f"it is JSON but {kind}, not an object")


def _is_yaml_native(path: Path) -> bool:
    try:
        if path.stat().st_size > MAX_YAML_BYTES:
            return False
        return is_native(load_yaml(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):  # deep nesting
        return False
