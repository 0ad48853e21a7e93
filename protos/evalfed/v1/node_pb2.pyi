import datetime

from evalfed.v1 import envelope_pb2 as _envelope_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CosignRequest(_message.Message):
    __slots__ = ("checkpoint", "old_size", "consistency")
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    OLD_SIZE_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_FIELD_NUMBER: _ClassVar[int]
    checkpoint: _envelope_pb2.CheckpointNote
    old_size: int
    consistency: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, checkpoint: _Optional[_Union[_envelope_pb2.CheckpointNote, _Mapping]] = ..., old_size: _Optional[int] = ..., consistency: _Optional[_Iterable[bytes]] = ...) -> None: ...

class CosignResponse(_message.Message):
    __slots__ = ("cosignature", "witness_binding")
    COSIGNATURE_FIELD_NUMBER: _ClassVar[int]
    WITNESS_BINDING_FIELD_NUMBER: _ClassVar[int]
    cosignature: str
    witness_binding: _envelope_pb2.Envelope
    def __init__(self, cosignature: _Optional[str] = ..., witness_binding: _Optional[_Union[_envelope_pb2.Envelope, _Mapping]] = ...) -> None: ...

class LogCheckpoint(_message.Message):
    __slots__ = ("origin", "lane", "size", "held", "cosigners", "newest_cosigned_at")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    LANE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    COSIGNERS_FIELD_NUMBER: _ClassVar[int]
    NEWEST_COSIGNED_AT_FIELD_NUMBER: _ClassVar[int]
    origin: str
    lane: str
    size: int
    held: int
    cosigners: _containers.RepeatedScalarFieldContainer[str]
    newest_cosigned_at: int
    def __init__(self, origin: _Optional[str] = ..., lane: _Optional[str] = ..., size: _Optional[int] = ..., held: _Optional[int] = ..., cosigners: _Optional[_Iterable[str]] = ..., newest_cosigned_at: _Optional[int] = ...) -> None: ...

class SplitView(_message.Message):
    __slots__ = ("origin", "lane", "first_size", "second_size", "reason")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    LANE_FIELD_NUMBER: _ClassVar[int]
    FIRST_SIZE_FIELD_NUMBER: _ClassVar[int]
    SECOND_SIZE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    origin: str
    lane: str
    first_size: int
    second_size: int
    reason: str
    def __init__(self, origin: _Optional[str] = ..., lane: _Optional[str] = ..., first_size: _Optional[int] = ..., second_size: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class GetCheckpointRequest(_message.Message):
    __slots__ = ("origin", "lane")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    LANE_FIELD_NUMBER: _ClassVar[int]
    origin: str
    lane: str
    def __init__(self, origin: _Optional[str] = ..., lane: _Optional[str] = ...) -> None: ...

class GetCheckpointResponse(_message.Message):
    __slots__ = ("note", "size")
    NOTE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    note: bytes
    size: int
    def __init__(self, note: _Optional[bytes] = ..., size: _Optional[int] = ...) -> None: ...

class GetProofRequest(_message.Message):
    __slots__ = ("origin", "lane", "record_id", "old_size", "size")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    LANE_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    OLD_SIZE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    origin: str
    lane: str
    record_id: str
    old_size: int
    size: int
    def __init__(self, origin: _Optional[str] = ..., lane: _Optional[str] = ..., record_id: _Optional[str] = ..., old_size: _Optional[int] = ..., size: _Optional[int] = ...) -> None: ...

class GetProofResponse(_message.Message):
    __slots__ = ("index", "size", "hashes", "checkpoint")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    index: int
    size: int
    hashes: _containers.RepeatedScalarFieldContainer[bytes]
    checkpoint: bytes
    def __init__(self, index: _Optional[int] = ..., size: _Optional[int] = ..., hashes: _Optional[_Iterable[bytes]] = ..., checkpoint: _Optional[bytes] = ...) -> None: ...

class UpdateBindingRequest(_message.Message):
    __slots__ = ("binding",)
    BINDING_FIELD_NUMBER: _ClassVar[int]
    binding: _envelope_pb2.Envelope
    def __init__(self, binding: _Optional[_Union[_envelope_pb2.Envelope, _Mapping]] = ...) -> None: ...

class UpdateBindingResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SubmitJoinRequestRequest(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: _envelope_pb2.Envelope
    def __init__(self, request: _Optional[_Union[_envelope_pb2.Envelope, _Mapping]] = ...) -> None: ...

class SubmitJoinRequestResponse(_message.Message):
    __slots__ = ("id", "endorsements")
    ID_FIELD_NUMBER: _ClassVar[int]
    ENDORSEMENTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    endorsements: int
    def __init__(self, id: _Optional[str] = ..., endorsements: _Optional[int] = ...) -> None: ...

class ListMembersRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMembersResponse(_message.Message):
    __slots__ = ("members", "pending", "next_page_token")
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[MemberInfo]
    pending: _containers.RepeatedCompositeFieldContainer[PendingRequest]
    next_page_token: str
    def __init__(self, members: _Optional[_Iterable[_Union[MemberInfo, _Mapping]]] = ..., pending: _Optional[_Iterable[_Union[PendingRequest, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class MemberInfo(_message.Message):
    __slots__ = ("institute", "status", "name", "country", "address", "keys", "endorsed_by")
    INSTITUTE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    ENDORSED_BY_FIELD_NUMBER: _ClassVar[int]
    institute: str
    status: str
    name: str
    country: str
    address: str
    keys: _containers.RepeatedCompositeFieldContainer[KeyInfo]
    endorsed_by: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, institute: _Optional[str] = ..., status: _Optional[str] = ..., name: _Optional[str] = ..., country: _Optional[str] = ..., address: _Optional[str] = ..., keys: _Optional[_Iterable[_Union[KeyInfo, _Mapping]]] = ..., endorsed_by: _Optional[_Iterable[str]] = ...) -> None: ...

class KeyInfo(_message.Message):
    __slots__ = ("key_id", "from_seq", "until_seq", "compromised_since", "revoked")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_SEQ_FIELD_NUMBER: _ClassVar[int]
    UNTIL_SEQ_FIELD_NUMBER: _ClassVar[int]
    COMPROMISED_SINCE_FIELD_NUMBER: _ClassVar[int]
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    from_seq: int
    until_seq: int
    compromised_since: _timestamp_pb2.Timestamp
    revoked: bool
    def __init__(self, key_id: _Optional[str] = ..., from_seq: _Optional[int] = ..., until_seq: _Optional[int] = ..., compromised_since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked: _Optional[bool] = ...) -> None: ...

class PendingRequest(_message.Message):
    __slots__ = ("id", "institute", "name", "country", "address", "endorsed_by", "threshold", "request")
    ID_FIELD_NUMBER: _ClassVar[int]
    INSTITUTE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ENDORSED_BY_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    id: str
    institute: str
    name: str
    country: str
    address: str
    endorsed_by: _containers.RepeatedScalarFieldContainer[str]
    threshold: int
    request: _envelope_pb2.Envelope
    def __init__(self, id: _Optional[str] = ..., institute: _Optional[str] = ..., name: _Optional[str] = ..., country: _Optional[str] = ..., address: _Optional[str] = ..., endorsed_by: _Optional[_Iterable[str]] = ..., threshold: _Optional[int] = ..., request: _Optional[_Union[_envelope_pb2.Envelope, _Mapping]] = ...) -> None: ...

class UpdatePeersRequest(_message.Message):
    __slots__ = ("add", "remove")
    ADD_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    add: _containers.RepeatedScalarFieldContainer[str]
    remove: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, add: _Optional[_Iterable[str]] = ..., remove: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdatePeersResponse(_message.Message):
    __slots__ = ("peers",)
    PEERS_FIELD_NUMBER: _ClassVar[int]
    peers: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, peers: _Optional[_Iterable[str]] = ...) -> None: ...

class PublishRequest(_message.Message):
    __slots__ = ("envelopes",)
    ENVELOPES_FIELD_NUMBER: _ClassVar[int]
    envelopes: _containers.RepeatedCompositeFieldContainer[_envelope_pb2.Envelope]
    def __init__(self, envelopes: _Optional[_Iterable[_Union[_envelope_pb2.Envelope, _Mapping]]] = ...) -> None: ...

class PublishResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[Published]
    def __init__(self, results: _Optional[_Iterable[_Union[Published, _Mapping]]] = ...) -> None: ...

class Published(_message.Message):
    __slots__ = ("id", "seq", "existed")
    ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    EXISTED_FIELD_NUMBER: _ClassVar[int]
    id: str
    seq: int
    existed: bool
    def __init__(self, id: _Optional[str] = ..., seq: _Optional[int] = ..., existed: _Optional[bool] = ...) -> None: ...

class GetRecordRequest(_message.Message):
    __slots__ = ("id", "bundle")
    ID_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    id: str
    bundle: bool
    def __init__(self, id: _Optional[str] = ..., bundle: _Optional[bool] = ...) -> None: ...

class GetRecordResponse(_message.Message):
    __slots__ = ("record", "bundle")
    RECORD_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    record: StoredRecord
    bundle: _envelope_pb2.Bundle
    def __init__(self, record: _Optional[_Union[StoredRecord, _Mapping]] = ..., bundle: _Optional[_Union[_envelope_pb2.Bundle, _Mapping]] = ...) -> None: ...

class StoredRecord(_message.Message):
    __slots__ = ("id", "envelope", "received_at", "origin_forked", "retracted", "corrected_by", "void_reason", "log_split_view")
    ID_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FORKED_FIELD_NUMBER: _ClassVar[int]
    RETRACTED_FIELD_NUMBER: _ClassVar[int]
    CORRECTED_BY_FIELD_NUMBER: _ClassVar[int]
    VOID_REASON_FIELD_NUMBER: _ClassVar[int]
    LOG_SPLIT_VIEW_FIELD_NUMBER: _ClassVar[int]
    id: str
    envelope: _envelope_pb2.Envelope
    received_at: _timestamp_pb2.Timestamp
    origin_forked: bool
    retracted: bool
    corrected_by: str
    void_reason: str
    log_split_view: bool
    def __init__(self, id: _Optional[str] = ..., envelope: _Optional[_Union[_envelope_pb2.Envelope, _Mapping]] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., origin_forked: _Optional[bool] = ..., retracted: _Optional[bool] = ..., corrected_by: _Optional[str] = ..., void_reason: _Optional[str] = ..., log_split_view: _Optional[bool] = ...) -> None: ...

class QueryRequest(_message.Message):
    __slots__ = ("model", "task", "origin", "kind", "page_size", "page_token")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    model: str
    task: str
    origin: str
    kind: str
    page_size: int
    page_token: str
    def __init__(self, model: _Optional[str] = ..., task: _Optional[str] = ..., origin: _Optional[str] = ..., kind: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class QueryResponse(_message.Message):
    __slots__ = ("records", "next_page_token")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[StoredRecord]
    next_page_token: str
    def __init__(self, records: _Optional[_Iterable[_Union[StoredRecord, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetHeadRequest(_message.Message):
    __slots__ = ("origin", "lane")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    LANE_FIELD_NUMBER: _ClassVar[int]
    origin: str
    lane: str
    def __init__(self, origin: _Optional[str] = ..., lane: _Optional[str] = ...) -> None: ...

class GetHeadResponse(_message.Message):
    __slots__ = ("origin", "seq", "id", "lane")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LANE_FIELD_NUMBER: _ClassVar[int]
    origin: str
    seq: int
    id: str
    lane: str
    def __init__(self, origin: _Optional[str] = ..., seq: _Optional[int] = ..., id: _Optional[str] = ..., lane: _Optional[str] = ...) -> None: ...

class FindExistingRequest(_message.Message):
    __slots__ = ("body_digests",)
    BODY_DIGESTS_FIELD_NUMBER: _ClassVar[int]
    body_digests: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, body_digests: _Optional[_Iterable[str]] = ...) -> None: ...

class FindExistingResponse(_message.Message):
    __slots__ = ("ids",)
    class IdsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    IDS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.ScalarMap[str, str]
    def __init__(self, ids: _Optional[_Mapping[str, str]] = ...) -> None: ...

class GetInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetInfoResponse(_message.Message):
    __slots__ = ("institute", "federation_id", "charter", "version", "insecure", "node_binding", "membership")
    INSTITUTE_FIELD_NUMBER: _ClassVar[int]
    FEDERATION_ID_FIELD_NUMBER: _ClassVar[int]
    CHARTER_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    INSECURE_FIELD_NUMBER: _ClassVar[int]
    NODE_BINDING_FIELD_NUMBER: _ClassVar[int]
    MEMBERSHIP_FIELD_NUMBER: _ClassVar[int]
    institute: str
    federation_id: str
    charter: _envelope_pb2.Envelope
    version: str
    insecure: bool
    node_binding: _envelope_pb2.Envelope
    membership: _containers.RepeatedCompositeFieldContainer[_envelope_pb2.Envelope]
    def __init__(self, institute: _Optional[str] = ..., federation_id: _Optional[str] = ..., charter: _Optional[_Union[_envelope_pb2.Envelope, _Mapping]] = ..., version: _Optional[str] = ..., insecure: _Optional[bool] = ..., node_binding: _Optional[_Union[_envelope_pb2.Envelope, _Mapping]] = ..., membership: _Optional[_Iterable[_Union[_envelope_pb2.Envelope, _Mapping]]] = ...) -> None: ...

class Cursor(_message.Message):
    __slots__ = ("origin", "seq", "id", "lane", "held")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LANE_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    origin: str
    seq: int
    id: str
    lane: str
    held: _containers.RepeatedCompositeFieldContainer[SeqRange]
    def __init__(self, origin: _Optional[str] = ..., seq: _Optional[int] = ..., id: _Optional[str] = ..., lane: _Optional[str] = ..., held: _Optional[_Iterable[_Union[SeqRange, _Mapping]]] = ...) -> None: ...

class SeqRange(_message.Message):
    __slots__ = ("low", "high")
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    low: int
    high: int
    def __init__(self, low: _Optional[int] = ..., high: _Optional[int] = ...) -> None: ...

class SyncRequest(_message.Message):
    __slots__ = ("have", "follow", "embargo_through_us", "forks_cursor")
    HAVE_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    EMBARGO_THROUGH_US_FIELD_NUMBER: _ClassVar[int]
    FORKS_CURSOR_FIELD_NUMBER: _ClassVar[int]
    have: _containers.RepeatedCompositeFieldContainer[Cursor]
    follow: bool
    embargo_through_us: int
    forks_cursor: bytes
    def __init__(self, have: _Optional[_Iterable[_Union[Cursor, _Mapping]]] = ..., follow: _Optional[bool] = ..., embargo_through_us: _Optional[int] = ..., forks_cursor: _Optional[bytes] = ...) -> None: ...

class SyncBatch(_message.Message):
    __slots__ = ("envelopes", "caught_up", "embargo_through_us", "forks_cursor", "checkpoints", "split_views")
    ENVELOPES_FIELD_NUMBER: _ClassVar[int]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    EMBARGO_THROUGH_US_FIELD_NUMBER: _ClassVar[int]
    FORKS_CURSOR_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    SPLIT_VIEWS_FIELD_NUMBER: _ClassVar[int]
    envelopes: _containers.RepeatedScalarFieldContainer[bytes]
    caught_up: bool
    embargo_through_us: int
    forks_cursor: bytes
    checkpoints: _containers.RepeatedCompositeFieldContainer[_envelope_pb2.CheckpointNote]
    split_views: _containers.RepeatedCompositeFieldContainer[_envelope_pb2.SplitViewEvidence]
    def __init__(self, envelopes: _Optional[_Iterable[bytes]] = ..., caught_up: _Optional[bool] = ..., embargo_through_us: _Optional[int] = ..., forks_cursor: _Optional[bytes] = ..., checkpoints: _Optional[_Iterable[_Union[_envelope_pb2.CheckpointNote, _Mapping]]] = ..., split_views: _Optional[_Iterable[_Union[_envelope_pb2.SplitViewEvidence, _Mapping]]] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ("institute", "federation_id", "heads", "peers", "forked_origins", "records", "next_page_token", "checkpoints", "split_views")
    INSTITUTE_FIELD_NUMBER: _ClassVar[int]
    FEDERATION_ID_FIELD_NUMBER: _ClassVar[int]
    HEADS_FIELD_NUMBER: _ClassVar[int]
    PEERS_FIELD_NUMBER: _ClassVar[int]
    FORKED_ORIGINS_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    SPLIT_VIEWS_FIELD_NUMBER: _ClassVar[int]
    institute: str
    federation_id: str
    heads: _containers.RepeatedCompositeFieldContainer[OriginHead]
    peers: _containers.RepeatedCompositeFieldContainer[PeerStatus]
    forked_origins: _containers.RepeatedScalarFieldContainer[str]
    records: int
    next_page_token: str
    checkpoints: _containers.RepeatedCompositeFieldContainer[LogCheckpoint]
    split_views: _containers.RepeatedCompositeFieldContainer[SplitView]
    def __init__(self, institute: _Optional[str] = ..., federation_id: _Optional[str] = ..., heads: _Optional[_Iterable[_Union[OriginHead, _Mapping]]] = ..., peers: _Optional[_Iterable[_Union[PeerStatus, _Mapping]]] = ..., forked_origins: _Optional[_Iterable[str]] = ..., records: _Optional[int] = ..., next_page_token: _Optional[str] = ..., checkpoints: _Optional[_Iterable[_Union[LogCheckpoint, _Mapping]]] = ..., split_views: _Optional[_Iterable[_Union[SplitView, _Mapping]]] = ...) -> None: ...

class OriginHead(_message.Message):
    __slots__ = ("origin", "seq", "id", "forked", "lane", "complete_seq", "missing", "missing_ranges")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    FORKED_FIELD_NUMBER: _ClassVar[int]
    LANE_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_SEQ_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    MISSING_RANGES_FIELD_NUMBER: _ClassVar[int]
    origin: str
    seq: int
    id: str
    forked: bool
    lane: str
    complete_seq: int
    missing: int
    missing_ranges: _containers.RepeatedCompositeFieldContainer[SeqRange]
    def __init__(self, origin: _Optional[str] = ..., seq: _Optional[int] = ..., id: _Optional[str] = ..., forked: _Optional[bool] = ..., lane: _Optional[str] = ..., complete_seq: _Optional[int] = ..., missing: _Optional[int] = ..., missing_ranges: _Optional[_Iterable[_Union[SeqRange, _Mapping]]] = ...) -> None: ...

class PeerStatus(_message.Message):
    __slots__ = ("address", "institute", "state", "last_contact", "received", "rejected", "rejected_by_reason", "last_error", "heads", "lag")
    class RejectedByReasonEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    INSTITUTE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LAST_CONTACT_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_BY_REASON_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    HEADS_FIELD_NUMBER: _ClassVar[int]
    LAG_FIELD_NUMBER: _ClassVar[int]
    address: str
    institute: str
    state: str
    last_contact: _timestamp_pb2.Timestamp
    received: int
    rejected: int
    rejected_by_reason: _containers.ScalarMap[str, int]
    last_error: str
    heads: _containers.RepeatedCompositeFieldContainer[OriginHead]
    lag: int
    def __init__(self, address: _Optional[str] = ..., institute: _Optional[str] = ..., state: _Optional[str] = ..., last_contact: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., received: _Optional[int] = ..., rejected: _Optional[int] = ..., rejected_by_reason: _Optional[_Mapping[str, int]] = ..., last_error: _Optional[str] = ..., heads: _Optional[_Iterable[_Union[OriginHead, _Mapping]]] = ..., lag: _Optional[int] = ...) -> None: ...
