"""Records: building, signing, parsing, and the facts the store indexes them by."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import NamedTuple

from google.protobuf.message import DecodeError

from evalfed.core.errors import InvalidInputError
from evalfed.core.limits import MAX_PAYLOAD_BYTES
from evalfed.core.names import check_institute_id
from evalfed.core.timeutil import timestamp_us
from evalfed.keys import PrivateKey
from evalfed.keys.dsse import sign_envelope
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.record_pb2 import Audience, EvaluationResult, Record

RECORD_PAYLOAD_TYPE = "application/vnd.evalfed.record.v1+protobuf"

PUBLIC = Audience.SCOPE_PUBLIC
MEMBERS = Audience.SCOPE_MEMBERS
INSTITUTES = Audience.SCOPE_INSTITUTES


def record_id(payload: bytes) -> str:
    """A record's id: lowercase hex SHA-256 of its payload bytes."""
    return hashlib.sha256(payload).hexdigest()


def audience_from_text(text: str | None) -> Audience:
    """`public`, `members` (or empty), or a comma-separated list of institute ids."""
    text = (text or "").strip()
    if text in ("", "members"):
        return Audience(scope=MEMBERS)
    if text == "public":
        return Audience(scope=PUBLIC)
    names = [check_institute_id(n.strip()) for n in text.split(",") if n.strip()]
    return Audience(scope=INSTITUTES, institutes=sorted(set(names)))


def audience_text(audience: Audience) -> str:
    if audience.scope == PUBLIC:
        return "public"
    if audience.scope == INSTITUTES:
        return ",".join(audience.institutes)
    return "members"


LogKey = tuple[str, str]
"""A log: (origin, lane)."""

MEMBERS_LANE = ""
"""The lane of records every member may see, membership events among them."""
PUBLIC_LANE = "public"
LANE_DIGEST_HEX = 32
_LANE_DIGEST = re.compile(f"to:[0-9a-f]{{{LANE_DIGEST_HEX}}}")


def lane_of(
    origin: str, scope: int, institutes: Iterable[str], embargo_until_us: int | None
) -> str:
    """The lane a record is chained in: its origin keeps one log per audience, so a record's
    seq and prev say nothing of records its readers may not see. A named audience's lane is
    `to:` and a digest of the institutes besides the origin and of the embargo, if any (a
    fixed length, however many are named)."""
    if scope == PUBLIC:
        return PUBLIC_LANE
    if scope != INSTITUTES:
        return MEMBERS_LANE
    audience = ",".join(sorted(set(institutes) - {origin}))
    if embargo_until_us is not None:
        audience += f"@{embargo_until_us}"
    return "to:" + hashlib.sha256(audience.encode()).hexdigest()[:LANE_DIGEST_HEX]


LANE_SALT_BYTES = 16
"""The length of a restricted lane's salt (`Record.lane_salt`)."""
LANE_TAG_CONTEXT = b"evalfed.lane-tag.v1\n"


def is_restricted(lane: str) -> bool:
    """Whether `lane` is a named audience's lane (`to:...`), seen by that audience only."""
    return lane not in (MEMBERS_LANE, PUBLIC_LANE)


def lane_tag(lane: str, salt: bytes) -> str:
    """How lane heads name restricted lane `lane` whose salt is `salt`: only its audience, who
    see its records and so its salt, can tell which lane (and audience) a tag stands for."""
    return hashlib.sha256(LANE_TAG_CONTEXT + lane.encode() + b"\n" + salt).hexdigest()


def head_key(lane: str, salt: bytes) -> str | None:
    """What lane heads name `lane` by: the members and public lanes by name, a restricted lane
    by its tag; None for a restricted lane without a salt (begun before lane salts)."""
    if not is_restricted(lane):
        return lane
    return lane_tag(lane, salt) if salt else None


def check_lane(lane: str) -> str:
    """`lane` itself, when it is one that `lane_of` gives."""
    if lane in (MEMBERS_LANE, PUBLIC_LANE) or _LANE_DIGEST.fullmatch(lane):
        return lane
    raise InvalidInputError(
        f"lane {lane[:48]!r} is not a lane: empty (all members), 'public', or 'to:' and "
        f"{LANE_DIGEST_HEX} lowercase hex characters"
    )


def record_lane(record: Record) -> str:
    embargo = timestamp_us(record.embargo_until) if record.HasField("embargo_until") else None
    return lane_of(record.origin, record.audience.scope, record.audience.institutes, embargo)


def kind_of(record: Record) -> str:
    """The body kind: `result`, `correction`, `retraction` (empty when there is no body)."""
    return record.WhichOneof("body") or ""


def result_of(record: Record) -> EvaluationResult | None:
    """The evaluation result a record states, directly or as a correction."""
    kind = kind_of(record)
    if kind == "result":
        return record.result
    if kind == "correction":
        return record.correction.result
    return None


def body_digest(record: Record) -> str:
    """A digest of the body alone, for spotting the same result published twice.

    Only for de-duplication inside one node, never for signatures: it re-serializes.
    """
    kind = kind_of(record)
    body = getattr(record, kind) if kind else None
    data = body.SerializeToString(deterministic=True) if body is not None else b""
    return hashlib.sha256(kind.encode() + b"\0" + data).hexdigest()


def sign_record(record: Record, key: PrivateKey) -> Envelope:
    """Serializes `record` once and signs those bytes; the key id in the record must match."""
    if record.key_id != key.key_id:
        raise InvalidInputError("record.key_id must be the id of the key that signs it")
    return sign_envelope(RECORD_PAYLOAD_TYPE, record.SerializeToString(), [key])


def parse_record(envelope: Envelope) -> Record:
    """The record inside an envelope, after checking its type and size (not its signature)."""
    if envelope.payload_type != RECORD_PAYLOAD_TYPE:
        raise InvalidInputError(
            f"payload type {envelope.payload_type!r} is not an evalfed record "
            f"({RECORD_PAYLOAD_TYPE!r})"
        )
    if len(envelope.payload) > MAX_PAYLOAD_BYTES:
        raise InvalidInputError(
            f"record payload is {len(envelope.payload)} bytes, over the limit "
            f"MAX_PAYLOAD_BYTES={MAX_PAYLOAD_BYTES}"
        )
    record = Record()
    try:
        record.ParseFromString(envelope.payload)
    except DecodeError:
        raise InvalidInputError("record payload is not a valid evalfed.v1.Record message") from None
    return record


INDEXED_TEXT = 256
"""Model and task names are indexed by their first INDEXED_TEXT characters."""


class RecordFacts(NamedTuple):
    """The columns a node indexes a record by (from `validate.check_record`), with the values
    the columns hold (names cut to INDEXED_TEXT; named audiences as ",a,b," for LIKE)."""

    origin: str
    seq: int
    prev: str
    kind: str
    model: str
    task: str
    issued_at_us: int
    audience_scope: int
    audience: str
    embargo_until_us: int | None
    target: str
    source_sha256: str
    key_id: str
    lane: str
