import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Charter(_message.Message):
    __slots__ = ("name", "threshold", "founders", "created_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    FOUNDERS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    threshold: int
    founders: _containers.RepeatedCompositeFieldContainer[Founder]
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., threshold: _Optional[int] = ..., founders: _Optional[_Iterable[_Union[Founder, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Founder(_message.Message):
    __slots__ = ("institute", "public_key", "name", "country")
    INSTITUTE_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    institute: str
    public_key: bytes
    name: str
    country: str
    def __init__(self, institute: _Optional[str] = ..., public_key: _Optional[bytes] = ..., name: _Optional[str] = ..., country: _Optional[str] = ...) -> None: ...

class NodeBinding(_message.Message):
    __slots__ = ("federation_id", "institute", "node_public_key", "tls_cert_sha256", "address", "issued_at")
    FEDERATION_ID_FIELD_NUMBER: _ClassVar[int]
    INSTITUTE_FIELD_NUMBER: _ClassVar[int]
    NODE_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    TLS_CERT_SHA256_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    federation_id: str
    institute: str
    node_public_key: bytes
    tls_cert_sha256: str
    address: str
    issued_at: _timestamp_pb2.Timestamp
    def __init__(self, federation_id: _Optional[str] = ..., institute: _Optional[str] = ..., node_public_key: _Optional[bytes] = ..., tls_cert_sha256: _Optional[str] = ..., address: _Optional[str] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class JoinRequest(_message.Message):
    __slots__ = ("federation_id", "institute", "country", "name", "address", "public_key", "issued_at")
    FEDERATION_ID_FIELD_NUMBER: _ClassVar[int]
    INSTITUTE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    federation_id: str
    institute: str
    country: str
    name: str
    address: str
    public_key: bytes
    issued_at: _timestamp_pb2.Timestamp
    def __init__(self, federation_id: _Optional[str] = ..., institute: _Optional[str] = ..., country: _Optional[str] = ..., name: _Optional[str] = ..., address: _Optional[str] = ..., public_key: _Optional[bytes] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
