from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Envelope(_message.Message):
    __slots__ = ("payload", "payload_type", "signatures")
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    payload_type: str
    signatures: _containers.RepeatedCompositeFieldContainer[Signature]
    def __init__(self, payload: _Optional[bytes] = ..., payload_type: _Optional[str] = ..., signatures: _Optional[_Iterable[_Union[Signature, _Mapping]]] = ...) -> None: ...

class Signature(_message.Message):
    __slots__ = ("keyid", "sig")
    KEYID_FIELD_NUMBER: _ClassVar[int]
    SIG_FIELD_NUMBER: _ClassVar[int]
    keyid: str
    sig: bytes
    def __init__(self, keyid: _Optional[str] = ..., sig: _Optional[bytes] = ...) -> None: ...

class Bundle(_message.Message):
    __slots__ = ("format", "federation_id", "record_id", "record", "membership", "tlog_proof", "origin_binding", "split_views")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    FEDERATION_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    MEMBERSHIP_FIELD_NUMBER: _ClassVar[int]
    TLOG_PROOF_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_BINDING_FIELD_NUMBER: _ClassVar[int]
    SPLIT_VIEWS_FIELD_NUMBER: _ClassVar[int]
    format: str
    federation_id: str
    record_id: str
    record: Envelope
    membership: _containers.RepeatedCompositeFieldContainer[Envelope]
    tlog_proof: str
    origin_binding: Envelope
    split_views: _containers.RepeatedCompositeFieldContainer[SplitViewEvidence]
    def __init__(self, format: _Optional[str] = ..., federation_id: _Optional[str] = ..., record_id: _Optional[str] = ..., record: _Optional[_Union[Envelope, _Mapping]] = ..., membership: _Optional[_Iterable[_Union[Envelope, _Mapping]]] = ..., tlog_proof: _Optional[str] = ..., origin_binding: _Optional[_Union[Envelope, _Mapping]] = ..., split_views: _Optional[_Iterable[_Union[SplitViewEvidence, _Mapping]]] = ...) -> None: ...

class CheckpointNote(_message.Message):
    __slots__ = ("note", "bindings")
    NOTE_FIELD_NUMBER: _ClassVar[int]
    BINDINGS_FIELD_NUMBER: _ClassVar[int]
    note: bytes
    bindings: _containers.RepeatedCompositeFieldContainer[Envelope]
    def __init__(self, note: _Optional[bytes] = ..., bindings: _Optional[_Iterable[_Union[Envelope, _Mapping]]] = ...) -> None: ...

class SplitViewEvidence(_message.Message):
    __slots__ = ("origin", "lane", "first", "second", "reason")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    LANE_FIELD_NUMBER: _ClassVar[int]
    FIRST_FIELD_NUMBER: _ClassVar[int]
    SECOND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    origin: str
    lane: str
    first: CheckpointNote
    second: CheckpointNote
    reason: str
    def __init__(self, origin: _Optional[str] = ..., lane: _Optional[str] = ..., first: _Optional[_Union[CheckpointNote, _Mapping]] = ..., second: _Optional[_Union[CheckpointNote, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...
