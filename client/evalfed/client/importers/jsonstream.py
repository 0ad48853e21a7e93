"""Reading the top of a JSON object without loading what follows: samples are never built.

`read_json_head` streams a file with ijson and builds only the top-level fields it needs. At a
bulky key (`samples`, `reductions`) it stops once the header fields are in, or skips the value
event by event otherwise, so memory stays flat however large the file is.

Events come from ijson's `basic_parse`, which carries no key path: `parse` builds a path string
per event, quadratic in the nesting depth (a 100 KB file of `[` took gigabytes). Values are
built only up to MAX_JSON_DEPTH levels deep, so nothing downstream recurses without bound.

Python's `json` writes NaN and Infinity as bare words, which ijson rejects. `NonFiniteFilter`
rewrites those words, outside strings only, into sentinel strings that `restore` turns back into
floats, so a log with a NaN stderr streams like any other.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import ijson

from evalfed.core.errors import InvalidInputError

READ_BYTES = 1 << 16
BULKY_KEYS = frozenset({"samples", "reductions"})
MAX_JSON_DEPTH = 100
"""Nesting levels of a header value that is built (a bulky value skipped may nest deeper)."""

_SENTINEL = "\x00evalfed-non-finite:"
_REPLACEMENTS = {
    b"NaN": b'"\\u0000evalfed-non-finite:NaN"',
    b"Infinity": b'"\\u0000evalfed-non-finite:Infinity"',
    b"-Infinity": b'"\\u0000evalfed-non-finite:-Infinity"',
}
_FLOATS = {
    _SENTINEL + word: value
    for word, value in (("NaN", math.nan), ("Infinity", math.inf), ("-Infinity", -math.inf))
}
"""Each sentinel and its float. A string of the input that merely starts like one (a file can
hold any string) stays a string."""
# A whole string, an unterminated string (a lone quote: wait for more bytes), or a bare word.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|"|-?Infinity|NaN', re.DOTALL)
_LONGEST_WORD = len(b"-Infinity")


class NotJsonError(Exception):
    """The bytes are not a JSON document (or not one we can stream)."""


class NonFiniteFilter:
    """A binary reader that passes JSON through, with NaN/Infinity turned into sentinels."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._carry = b""
        self._out = bytearray()
        self._eof = False

    def read(self, size: int = -1) -> bytes:
        while not self._eof and (size < 0 or len(self._out) < size):
            self._fill()
        if size < 0 or size > len(self._out):
            size = len(self._out)
        data = bytes(self._out[:size])
        del self._out[:size]
        return data

    def _fill(self) -> None:
        chunk = self._raw.read(max(READ_BYTES, len(self._carry)))
        final = not chunk
        self._eof = final
        buffer = self._carry + chunk
        done = 0
        cut = len(buffer) if final else max(0, len(buffer) - (_LONGEST_WORD - 1))
        for match in _TOKEN.finditer(buffer):
            token = match.group()
            if token == b'"' and not final:
                cut = match.start()
                break
            if match.start() >= cut and not token.startswith(b'"'):
                break
            self._out += buffer[done : match.start()]
            self._out += _REPLACEMENTS.get(token, token)
            done = match.end()
        cut = max(cut, done)
        self._out += buffer[done:cut]
        self._carry = buffer[cut:]


def restore(value: Any) -> Any:
    """Decimals to floats and sentinels back to NaN/Infinity, all the way down."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        return _FLOATS.get(value, value)
    if isinstance(value, dict):
        return {key: restore(item) for key, item in value.items()}
    if isinstance(value, list):
        return [restore(item) for item in value]
    return value


Event = tuple[str, Any]


@dataclass(frozen=True)
class JsonArray:
    """A top-level array, known by its first item only (the rest is never read)."""

    first: Any


def _value(events: Iterator[Event], first: Event) -> Any:
    """Builds the value whose first event is `first` from the events that follow it."""
    event, value = first
    if event not in ("start_map", "start_array"):
        return value
    builder = ijson.ObjectBuilder()
    builder.event(event, value)
    depth = 1
    for event, value in events:
        builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise NotJsonError(f"it nests deeper than MAX_JSON_DEPTH={MAX_JSON_DEPTH}")
        elif event in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                break
    return builder.value


def _skip(events: Iterator[Event], first: Event) -> None:
    if first[0] not in ("start_map", "start_array"):
        return
    depth = 1
    for event, _ in events:
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                return


def read_json_head(
    stream: IO[bytes],
    header_complete: Callable[[dict[str, Any]], bool] = lambda head: "eval" in head,
) -> Any:
    """The top-level JSON object, with bulky fields left out (an array gives a `JsonArray`).

    At a bulky key the reading stops when `header_complete(fields so far)` holds, else the bulky
    value is skipped without being built and reading goes on.
    """
    events: Iterator[Event] = ijson.basic_parse(NonFiniteFilter(stream), use_float=False)
    try:
        first = next(events, None)
        if first is None:
            raise NotJsonError("it is empty")
        if first[0] == "start_array":
            item = next(events)
            return JsonArray(None if item[0] == "end_array" else restore(_value(events, item)))
        if first[0] != "start_map":
            return restore(first[1])
        head: dict[str, Any] = {}
        # Each value is consumed whole below, so the next event is a key or the object's end.
        for event, key in events:
            if event == "end_map":
                break
            if event != "map_key":
                raise NotJsonError(f"unexpected {event} at the top level")
            item = next(events)
            if key in BULKY_KEYS:
                if header_complete(head):
                    break
                _skip(events, item)
                continue
            head[key] = restore(_value(events, item))
        return head
    except ijson.JSONError as exc:
        raise NotJsonError(_one_line(exc)) from None
    except UnicodeDecodeError as exc:
        raise NotJsonError(f"it is not UTF-8 text ({exc.reason})") from None


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or type(exc).__name__


def read_json_file_head(path: Path) -> Any:
    """`read_json_head` on a file, with read errors as InvalidInputError."""
    try:
        with path.open("rb") as stream:
            return read_json_head(stream)
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None
