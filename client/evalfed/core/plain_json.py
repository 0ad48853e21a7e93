"""A protobuf message from plain JSON values, about twenty times faster than json_format.

`json_format.ParseDict` is pure Python and costs about 65 µs for a small result file, as much as
reading and checking it. Most result files use only the part of protobuf's JSON mapping where
the mapping and the message constructor agree: strings, numbers, booleans, lists, nested
objects, string-keyed maps, and 64-bit integers written as decimal strings. `plain_kwargs`
turns such a value into constructor arguments and gives None for anything else (timestamps,
Structs, bytes, enum names, nulls, other numbers in strings, bare NaN and Infinity, a oneof
set twice), which the caller then hands to ParseDict: the result and the errors are
ParseDict's in every case (tests/unit/core/test_plain_json.py checks both ways).
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

_INTEGERS = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED32,
        FieldDescriptor.TYPE_SFIXED64,
    }
)
_PLAIN_TYPES: dict[int, tuple[type, ...]] = {
    **{kind: (int,) for kind in _INTEGERS},
    FieldDescriptor.TYPE_DOUBLE: (int, float),
    FieldDescriptor.TYPE_STRING: (str,),
    FieldDescriptor.TYPE_BOOL: (bool,),
}
"""Scalar field types whose JSON values the constructor takes as they are (exact types: a
bool is not taken as a number, as ParseDict does not). Not `float`, whose range the
constructor does not check as ParseDict does."""
_WELL_KNOWN_PREFIX = "google.protobuf."
_DECIMAL = re.compile(r"-?[0-9]{1,20}")
"""An integer in a string as ParseDict reads it (int() would also take "1_000" or " 1")."""


def plain_kwargs(data: Any, kind: type[Message]) -> dict[str, Any] | None:
    """Constructor arguments for a `kind` message from JSON object `data`, or None when any
    part of it is outside the plain subset."""
    descriptor: Descriptor = kind.DESCRIPTOR  # type: ignore[assignment]  # upb's or Python's
    return _plain_message(data, descriptor)


def _plain_message(data: Any, descriptor: Descriptor) -> dict[str, Any] | None:
    if not isinstance(data, dict):
        return None
    by_name = descriptor.fields_by_name
    by_json = _json_names(descriptor)
    kwargs: dict[str, Any] = {}
    oneofs: set[str] = set()
    for key, value in data.items():
        field = by_name.get(key) or by_json.get(key)
        if field is None or field.name in kwargs:
            return None
        if field.containing_oneof is not None:
            if field.containing_oneof.name in oneofs:
                return None
            oneofs.add(field.containing_oneof.name)
        plain = _plain_field(value, field)
        if plain is None:
            return None
        kwargs[field.name] = plain
    return kwargs


@functools.cache
def _json_names(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    return {field.json_name: field for field in descriptor.fields}


def _plain_field(value: Any, field: FieldDescriptor) -> Any:
    message = field.message_type
    if message is not None and message.GetOptions().map_entry:
        return _plain_map(value, message)
    if field.is_repeated:
        if not isinstance(value, list):
            return None
        items = [_plain_value(item, field) for item in value]
        return None if any(item is None for item in items) else items
    return _plain_value(value, field)


def _plain_value(value: Any, field: FieldDescriptor) -> Any:
    message = field.message_type
    if message is not None:
        if message.full_name.startswith(_WELL_KNOWN_PREFIX):
            return None
        return _plain_message(value, message)
    kinds = _PLAIN_TYPES.get(field.type)
    if kinds is None:
        return None
    if type(value) is str and field.type in _INTEGERS and _DECIMAL.fullmatch(value):
        return int(value)  # the mapping writes 64-bit integers as strings
    if type(value) not in kinds:
        return None
    return None if type(value) is float and not math.isfinite(value) else value


def _plain_map(value: Any, entry: Descriptor) -> dict[str, Any] | None:
    key_field, value_field = entry.fields_by_name["key"], entry.fields_by_name["value"]
    if not isinstance(value, dict) or key_field.type != FieldDescriptor.TYPE_STRING:
        return None
    plain = {key: _plain_value(item, value_field) for key, item in value.items()}
    return None if any(item is None for item in plain.values()) else plain
