import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Record(_message.Message):
    __slots__ = ("federation_id", "origin", "seq", "prev", "issued_at", "key_id", "audience", "embargo_until", "result", "correction", "retraction", "endorsement", "rotation", "revocation", "expulsion", "lane_salt")
    FEDERATION_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    PREV_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    EMBARGO_UNTIL_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_FIELD_NUMBER: _ClassVar[int]
    RETRACTION_FIELD_NUMBER: _ClassVar[int]
    ENDORSEMENT_FIELD_NUMBER: _ClassVar[int]
    ROTATION_FIELD_NUMBER: _ClassVar[int]
    REVOCATION_FIELD_NUMBER: _ClassVar[int]
    EXPULSION_FIELD_NUMBER: _ClassVar[int]
    LANE_SALT_FIELD_NUMBER: _ClassVar[int]
    federation_id: str
    origin: str
    seq: int
    prev: str
    issued_at: _timestamp_pb2.Timestamp
    key_id: str
    audience: Audience
    embargo_until: _timestamp_pb2.Timestamp
    result: EvaluationResult
    correction: Correction
    retraction: Retraction
    endorsement: Endorsement
    rotation: KeyRotation
    revocation: KeyRevocation
    expulsion: Expulsion
    lane_salt: bytes
    def __init__(self, federation_id: _Optional[str] = ..., origin: _Optional[str] = ..., seq: _Optional[int] = ..., prev: _Optional[str] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., key_id: _Optional[str] = ..., audience: _Optional[_Union[Audience, _Mapping]] = ..., embargo_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., result: _Optional[_Union[EvaluationResult, _Mapping]] = ..., correction: _Optional[_Union[Correction, _Mapping]] = ..., retraction: _Optional[_Union[Retraction, _Mapping]] = ..., endorsement: _Optional[_Union[Endorsement, _Mapping]] = ..., rotation: _Optional[_Union[KeyRotation, _Mapping]] = ..., revocation: _Optional[_Union[KeyRevocation, _Mapping]] = ..., expulsion: _Optional[_Union[Expulsion, _Mapping]] = ..., lane_salt: _Optional[bytes] = ...) -> None: ...

class Endorsement(_message.Message):
    __slots__ = ("join_request",)
    JOIN_REQUEST_FIELD_NUMBER: _ClassVar[int]
    join_request: bytes
    def __init__(self, join_request: _Optional[bytes] = ...) -> None: ...

class KeyRotation(_message.Message):
    __slots__ = ("new_public_key", "possession", "signed_up_to")
    NEW_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    POSSESSION_FIELD_NUMBER: _ClassVar[int]
    SIGNED_UP_TO_FIELD_NUMBER: _ClassVar[int]
    new_public_key: bytes
    possession: bytes
    signed_up_to: LaneHeads
    def __init__(self, new_public_key: _Optional[bytes] = ..., possession: _Optional[bytes] = ..., signed_up_to: _Optional[_Union[LaneHeads, _Mapping]] = ...) -> None: ...

class KeyRevocation(_message.Message):
    __slots__ = ("key_id", "compromised_since", "reason", "signed_up_to")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    COMPROMISED_SINCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SIGNED_UP_TO_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    compromised_since: _timestamp_pb2.Timestamp
    reason: str
    signed_up_to: LaneHeads
    def __init__(self, key_id: _Optional[str] = ..., compromised_since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., signed_up_to: _Optional[_Union[LaneHeads, _Mapping]] = ...) -> None: ...

class Expulsion(_message.Message):
    __slots__ = ("institute", "reason", "signed_up_to")
    INSTITUTE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SIGNED_UP_TO_FIELD_NUMBER: _ClassVar[int]
    institute: str
    reason: str
    signed_up_to: LaneHeads
    def __init__(self, institute: _Optional[str] = ..., reason: _Optional[str] = ..., signed_up_to: _Optional[_Union[LaneHeads, _Mapping]] = ...) -> None: ...

class LaneHeads(_message.Message):
    __slots__ = ("heads", "legacy_lanes")
    HEADS_FIELD_NUMBER: _ClassVar[int]
    LEGACY_LANES_FIELD_NUMBER: _ClassVar[int]
    heads: _containers.RepeatedCompositeFieldContainer[LaneHead]
    legacy_lanes: bool
    def __init__(self, heads: _Optional[_Iterable[_Union[LaneHead, _Mapping]]] = ..., legacy_lanes: _Optional[bool] = ...) -> None: ...

class LaneHead(_message.Message):
    __slots__ = ("lane", "seq", "tag")
    LANE_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    lane: str
    seq: int
    tag: str
    def __init__(self, lane: _Optional[str] = ..., seq: _Optional[int] = ..., tag: _Optional[str] = ...) -> None: ...

class Audience(_message.Message):
    __slots__ = ("scope", "institutes")
    class Scope(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        SCOPE_MEMBERS: _ClassVar[Audience.Scope]
        SCOPE_INSTITUTES: _ClassVar[Audience.Scope]
        SCOPE_PUBLIC: _ClassVar[Audience.Scope]
    SCOPE_MEMBERS: Audience.Scope
    SCOPE_INSTITUTES: Audience.Scope
    SCOPE_PUBLIC: Audience.Scope
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    INSTITUTES_FIELD_NUMBER: _ClassVar[int]
    scope: Audience.Scope
    institutes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, scope: _Optional[_Union[Audience.Scope, str]] = ..., institutes: _Optional[_Iterable[str]] = ...) -> None: ...

class Correction(_message.Message):
    __slots__ = ("target", "reason", "result")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    target: str
    reason: str
    result: EvaluationResult
    def __init__(self, target: _Optional[str] = ..., reason: _Optional[str] = ..., result: _Optional[_Union[EvaluationResult, _Mapping]] = ...) -> None: ...

class Retraction(_message.Message):
    __slots__ = ("target", "reason")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    target: str
    reason: str
    def __init__(self, target: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class EvaluationResult(_message.Message):
    __slots__ = ("model", "task", "dataset", "run", "scores", "usage", "artifacts", "source", "grader_models", "notes")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    GRADER_MODELS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    model: Model
    task: Task
    dataset: Dataset
    run: Run
    scores: _containers.RepeatedCompositeFieldContainer[Score]
    usage: _containers.RepeatedCompositeFieldContainer[Usage]
    artifacts: _containers.RepeatedCompositeFieldContainer[Artifact]
    source: Source
    grader_models: _containers.RepeatedCompositeFieldContainer[Model]
    notes: str
    def __init__(self, model: _Optional[_Union[Model, _Mapping]] = ..., task: _Optional[_Union[Task, _Mapping]] = ..., dataset: _Optional[_Union[Dataset, _Mapping]] = ..., run: _Optional[_Union[Run, _Mapping]] = ..., scores: _Optional[_Iterable[_Union[Score, _Mapping]]] = ..., usage: _Optional[_Iterable[_Union[Usage, _Mapping]]] = ..., artifacts: _Optional[_Iterable[_Union[Artifact, _Mapping]]] = ..., source: _Optional[_Union[Source, _Mapping]] = ..., grader_models: _Optional[_Iterable[_Union[Model, _Mapping]]] = ..., notes: _Optional[str] = ...) -> None: ...

class Model(_message.Message):
    __slots__ = ("id", "version", "developer", "args")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DEVELOPER_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: str
    developer: str
    args: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., version: _Optional[str] = ..., developer: _Optional[str] = ..., args: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("name", "version", "suite", "suite_commit", "args", "num_fewshot")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SUITE_FIELD_NUMBER: _ClassVar[int]
    SUITE_COMMIT_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    NUM_FEWSHOT_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    suite: str
    suite_commit: str
    args: _struct_pb2.Struct
    num_fewshot: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., suite: _Optional[str] = ..., suite_commit: _Optional[str] = ..., args: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., num_fewshot: _Optional[int] = ...) -> None: ...

class Dataset(_message.Message):
    __slots__ = ("name", "revision", "total_samples", "samples_used", "sample_ids_sha256", "subset", "split")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_USED_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_IDS_SHA256_FIELD_NUMBER: _ClassVar[int]
    SUBSET_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    name: str
    revision: str
    total_samples: int
    samples_used: int
    sample_ids_sha256: str
    subset: bool
    split: str
    def __init__(self, name: _Optional[str] = ..., revision: _Optional[str] = ..., total_samples: _Optional[int] = ..., samples_used: _Optional[int] = ..., sample_ids_sha256: _Optional[str] = ..., subset: _Optional[bool] = ..., split: _Optional[str] = ...) -> None: ...

class Run(_message.Message):
    __slots__ = ("framework", "framework_version", "status", "started_at", "completed_at", "epochs", "generation_config", "limit", "run_id", "error")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_UNSPECIFIED: _ClassVar[Run.Status]
        STATUS_SUCCESS: _ClassVar[Run.Status]
        STATUS_CANCELLED: _ClassVar[Run.Status]
        STATUS_ERROR: _ClassVar[Run.Status]
        STATUS_STARTED: _ClassVar[Run.Status]
    STATUS_UNSPECIFIED: Run.Status
    STATUS_SUCCESS: Run.Status
    STATUS_CANCELLED: Run.Status
    STATUS_ERROR: Run.Status
    STATUS_STARTED: Run.Status
    FRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORK_VERSION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    GENERATION_CONFIG_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    framework: str
    framework_version: str
    status: Run.Status
    started_at: _timestamp_pb2.Timestamp
    completed_at: _timestamp_pb2.Timestamp
    epochs: int
    generation_config: _struct_pb2.Struct
    limit: int
    run_id: str
    error: str
    def __init__(self, framework: _Optional[str] = ..., framework_version: _Optional[str] = ..., status: _Optional[_Union[Run.Status, str]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., epochs: _Optional[int] = ..., generation_config: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., limit: _Optional[int] = ..., run_id: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class Score(_message.Message):
    __slots__ = ("scorer", "metrics", "reducer", "grader_model")
    SCORER_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    REDUCER_FIELD_NUMBER: _ClassVar[int]
    GRADER_MODEL_FIELD_NUMBER: _ClassVar[int]
    scorer: str
    metrics: _containers.RepeatedCompositeFieldContainer[Metric]
    reducer: str
    grader_model: str
    def __init__(self, scorer: _Optional[str] = ..., metrics: _Optional[_Iterable[_Union[Metric, _Mapping]]] = ..., reducer: _Optional[str] = ..., grader_model: _Optional[str] = ...) -> None: ...

class Metric(_message.Message):
    __slots__ = ("name", "value", "stderr", "ci", "n", "higher_is_better", "value_text", "stderr_text", "filter", "split")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    CI_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    HIGHER_IS_BETTER_FIELD_NUMBER: _ClassVar[int]
    VALUE_TEXT_FIELD_NUMBER: _ClassVar[int]
    STDERR_TEXT_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: float
    stderr: float
    ci: ConfidenceInterval
    n: int
    higher_is_better: bool
    value_text: str
    stderr_text: str
    filter: str
    split: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ..., stderr: _Optional[float] = ..., ci: _Optional[_Union[ConfidenceInterval, _Mapping]] = ..., n: _Optional[int] = ..., higher_is_better: _Optional[bool] = ..., value_text: _Optional[str] = ..., stderr_text: _Optional[str] = ..., filter: _Optional[str] = ..., split: _Optional[str] = ...) -> None: ...

class ConfidenceInterval(_message.Message):
    __slots__ = ("lower", "upper", "level")
    LOWER_FIELD_NUMBER: _ClassVar[int]
    UPPER_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    lower: float
    upper: float
    level: float
    def __init__(self, lower: _Optional[float] = ..., upper: _Optional[float] = ..., level: _Optional[float] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("model", "input_tokens", "output_tokens", "total_tokens", "reasoning_tokens", "cache_read_tokens", "cache_write_tokens")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    REASONING_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHE_READ_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHE_WRITE_TOKENS_FIELD_NUMBER: _ClassVar[int]
    model: str
    input_tokens: int
    output_tokens: int
    total_tokens: int
    reasoning_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    def __init__(self, model: _Optional[str] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., total_tokens: _Optional[int] = ..., reasoning_tokens: _Optional[int] = ..., cache_read_tokens: _Optional[int] = ..., cache_write_tokens: _Optional[int] = ...) -> None: ...

class Artifact(_message.Message):
    __slots__ = ("uri", "sha256", "media_type")
    URI_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    uri: str
    sha256: str
    media_type: str
    def __init__(self, uri: _Optional[str] = ..., sha256: _Optional[str] = ..., media_type: _Optional[str] = ...) -> None: ...

class Source(_message.Message):
    __slots__ = ("format", "format_version", "sha256", "stripped")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_VERSION_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    STRIPPED_FIELD_NUMBER: _ClassVar[int]
    format: str
    format_version: str
    sha256: str
    stripped: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, format: _Optional[str] = ..., format_version: _Optional[str] = ..., sha256: _Optional[str] = ..., stripped: _Optional[_Iterable[str]] = ...) -> None: ...
