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
from collections.abc import Callable
from typing import Any, NamedTuple

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
_WELL_KNOWN_PREFIX = "google.protobuf."
_DECIMAL = re.compile(r"-?[0-9]{1,20}")
"""An integer in a string as ParseDict reads it (int() would also take "1_000" or " 1")."""


def plain_kwargs(data: Any, kind: type[Message]) -> dict[str, Any] | None:
    """Constructor arguments for a `kind` message from JSON object `data`, or None when any
    part of it is outside the plain subset."""
    descriptor: Descriptor = kind.DESCRIPTOR  # type: ignore[assignment]  # upb's or Python's
    return _plain_message(data, descriptor)


Convert = Callable[[Any], Any]
"""A JSON value to its constructor argument, or None when it is not plain."""


class _Field(NamedTuple):
    name: str
    oneof: str | None
    convert: Convert


def _plain_message(data: Any, descriptor: Descriptor) -> dict[str, Any] | None:
    if not isinstance(data, dict):
        return None
    fields = _fields_of(descriptor)
    kwargs: dict[str, Any] = {}
    oneofs: set[str] = set()
    for key, value in data.items():
        field = fields.get(key)
        if field is None or field.name in kwargs:
            return None
        if field.oneof is not None:
            if field.oneof in oneofs:
                return None
            oneofs.add(field.oneof)
        plain = field.convert(value)
        if plain is None:
            return None
        kwargs[field.name] = plain
    return kwargs


@functools.cache
def _fields_of(descriptor: Descriptor) -> dict[str, _Field]:
    """Each field by its JSON name and by its name (the name wins), with its converter: built
    once a message type, so that reading a file looks nothing up in the descriptors."""
    fields: dict[str, _Field] = {}
    for field in descriptor.fields:
        oneof = field.containing_oneof
        planned = _Field(field.name, oneof.name if oneof else None, _field_converter(field))
        fields[field.json_name] = planned
    for field in descriptor.fields:
        fields[field.name] = fields[field.json_name]
    return fields


def _field_converter(field: FieldDescriptor) -> Convert:
    message = field.message_type
    if message is not None and message.GetOptions().map_entry:
        return _map_converter(message)
    item = _value_converter(field)
    if not field.is_repeated:
        return item

    def repeated(value: Any) -> list[Any] | None:
        if not isinstance(value, list):
            return None
        items = [item(each) for each in value]
        return None if any(each is None for each in items) else items

    return repeated


def _value_converter(field: FieldDescriptor) -> Convert:
    message = field.message_type
    if message is not None:
        if message.full_name.startswith(_WELL_KNOWN_PREFIX):
            return _not_plain
        return functools.partial(_plain_message, descriptor=message)
    if field.type in _INTEGERS:
        return _integer
    return _SCALARS.get(field.type, _not_plain)


def _map_converter(entry: Descriptor) -> Convert:
    key_field, value_field = entry.fields_by_name["key"], entry.fields_by_name["value"]
    if key_field.type != FieldDescriptor.TYPE_STRING:
        return _not_plain
    item = _value_converter(value_field)

    def plain_map(value: Any) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            return None
        plain = {key: item(each) for key, each in value.items()}
        return None if any(each is None for each in plain.values()) else plain

    return plain_map


def _not_plain(value: Any) -> None:
    return None


def _integer(value: Any) -> int | None:
    if type(value) is int:
        return value
    if type(value) is str and _DECIMAL.fullmatch(value):
        return int(value)  # the mapping writes 64-bit integers as strings
    return None


def _double(value: Any) -> float | int | None:
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return value
    return None


def _string(value: Any) -> str | None:
    return value if type(value) is str else None


def _bool(value: Any) -> bool | None:
    return value if type(value) is bool else None


_SCALARS: dict[int, Convert] = {
    FieldDescriptor.TYPE_DOUBLE: _double,
    FieldDescriptor.TYPE_STRING: _string,
    FieldDescriptor.TYPE_BOOL: _bool,
}
"""Scalar field types whose JSON values the constructor takes as they are (exact types: a
bool is not taken as a number, as ParseDict does not; no bare NaN or infinity, which ParseDict
refuses). Not `float`, whose range the constructor does not check as ParseDict does."""
