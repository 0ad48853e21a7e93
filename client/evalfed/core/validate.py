"""Field rules for records and results: what must be present and how large things may be."""

from __future__ import annotations

from evalfed.core.errors import InvalidInputError
from evalfed.core.limits import EMBARGO_GRANULARITY_S, MAX_METRICS, MAX_TEXT
from evalfed.core.membership import MEMBERSHIP_KINDS
from evalfed.core.names import check_institute_id, check_record_id, is_hex64
from evalfed.core.records import (
    INDEXED_TEXT,
    LANE_SALT_BYTES,
    RecordFacts,
    check_lane,
    is_restricted,
    kind_of,
    lane_of,
)
from evalfed.core.timeutil import iso_of_us, timestamp_us
from evalfed.v1.record_pb2 import Audience, EvaluationResult, LaneHead, Record


def check_result(result: EvaluationResult) -> tuple[str, str, str]:
    """The fields every result needs, and the size limits; raises InvalidInputError. Returns
    what a record's facts take from it: the model id, the task name and the source's sha256.

    On the sync hot path: each field is read once, and the scores are walked once (walking a
    repeated field costs more than reading a field).
    """
    model, task = result.model, result.task
    model_id, developer, task_name, version = model.id, model.developer, task.name, task.version
    if not (model_id.strip() and task_name.strip()):
        required = (("model.id", model_id), ("task.name", task_name))
        missing = [label for label, text in required if not text.strip()]
        raise InvalidInputError(f"the result lacks required field(s): {', '.join(missing)}")
    if max(len(model_id), len(developer), len(task_name), len(version)) > MAX_TEXT:
        named = {
            "model.id": model_id,
            "model.developer": developer,
            "task.name": task_name,
            "task.version": version,
        }
        label = max(named, key=lambda name: len(named[name]))
        raise InvalidInputError(
            f"{label} is {len(named[label])} characters, over MAX_TEXT={MAX_TEXT}"
        )
    metrics = 0
    for score in result.scores:
        scorer, score_metrics = score.scorer, score.metrics
        metrics += len(score_metrics)
        if metrics > MAX_METRICS:
            total = sum(len(s.metrics) for s in result.scores)
            raise InvalidInputError(
                f"the result has {total} metrics, over the limit MAX_METRICS={MAX_METRICS}"
            )
        if not scorer.strip():
            raise InvalidInputError("every score needs a `scorer` name")
        if len(scorer) > MAX_TEXT:
            raise InvalidInputError(f"a scorer name is over MAX_TEXT={MAX_TEXT} characters")
        for metric in score_metrics:
            name = metric.name
            if not name.strip():
                raise InvalidInputError(f"a metric of scorer {scorer!r} has no `name`")
            if len(name) > MAX_TEXT:
                raise InvalidInputError(f"a metric name is over MAX_TEXT={MAX_TEXT} characters")
    sha256 = result.source.sha256
    if sha256 and not is_hex64(sha256):
        raise InvalidInputError("source.sha256 must be 64 lowercase hex characters")
    return model_id, task_name, sha256


def check_record(record: Record, federation_id: str) -> RecordFacts:
    """Header and body rules (signatures are checked elsewhere); returns the columns a node
    indexes the record by. On the sync hot path: each field is read once, for both."""
    if record.federation_id != federation_id:
        raise InvalidInputError(
            f"the record belongs to federation {record.federation_id[:16] or '(none)'}, "
            f"not this one ({federation_id[:16]})"
        )
    origin, seq, prev, key_id = record.origin, record.seq, record.prev, record.key_id
    check_institute_id(origin)
    if seq < 1:
        raise InvalidInputError("record seq starts at 1")
    if seq == 1 and prev:
        raise InvalidInputError("the first record of a log (seq 1) has no prev")
    if seq > 1 and not is_hex64(prev):
        raise InvalidInputError(
            f"record seq {seq} needs prev: the 64-hex id of its origin's previous record"
        )
    if not is_hex64(key_id):
        raise InvalidInputError("record key_id must be the 64-hex id of the signing key")
    if not record.HasField("issued_at"):
        raise InvalidInputError("record issued_at is required")
    audience = record.audience
    scope, institutes = audience.scope, audience.institutes
    if scope == Audience.SCOPE_INSTITUTES:
        if not institutes:
            raise InvalidInputError("an audience of named institutes must name at least one")
        for name in institutes:
            check_institute_id(name)
    kind = kind_of(record)
    model = task = sha256 = target = ""
    if kind == "result":
        model, task, sha256 = check_result(record.result)
    elif not kind:
        raise InvalidInputError("the record has no body (result, correction or retraction)")
    else:
        if kind in MEMBERSHIP_KINDS:
            _check_membership_event(record)
        if kind in ("correction", "retraction"):
            target = check_record_id(getattr(record, kind).target)
        if kind == "correction":
            model, task, sha256 = check_result(record.correction.result)
    embargo = timestamp_us(record.embargo_until) if record.HasField("embargo_until") else None
    if embargo is not None and kind not in MEMBERSHIP_KINDS:
        check_embargo(scope, embargo)
    lane = lane_of(origin, scope, institutes, embargo)
    _check_lane_salt(lane, record.lane_salt)
    return RecordFacts(
        origin,
        seq,
        prev,
        kind,
        model[:INDEXED_TEXT],
        task[:INDEXED_TEXT],
        timestamp_us(record.issued_at),
        scope,
        f",{','.join(institutes)}," if institutes else "",
        embargo,
        target,
        sha256,
        key_id,
        lane,
    )


def _check_lane_salt(lane: str, salt: bytes) -> None:
    if is_restricted(lane):
        if salt and len(salt) != LANE_SALT_BYTES:
            raise InvalidInputError(
                f"a lane salt is {LANE_SALT_BYTES} random bytes, not {len(salt)}; copy it from "
                "the lane's head record, or choose one at the lane's seq 1"
            )
    elif salt:
        raise InvalidInputError(
            "only a restricted audience's records carry a lane salt; leave it empty for the "
            "members and public lanes"
        )


def _check_lane_head(head: LaneHead) -> None:
    """A lane head names the members or public lane by name, a restricted lane by its tag:
    membership records are seen by every member, who could match a restricted lane's name
    against those of every small audience."""
    if head.tag:
        if head.lane or not is_hex64(head.tag):
            raise InvalidInputError(
                "a lane head with a tag names a restricted lane by the tag alone: 64 lowercase "
                "hex characters, and no lane name"
            )
    elif is_restricted(check_lane(head.lane)):
        raise InvalidInputError(
            f"lane heads name restricted lane {head.lane[:16]}... by its name, which every "
            "member would see; name it by its tag (evalfed.core.records.lane_tag)"
        )


def check_embargo(scope: int, embargo_until_us: int) -> None:
    """An embargo widens a named audience to all members when it ends, on a whole hour."""
    if scope != Audience.SCOPE_INSTITUTES:
        seen = "the public" if scope == Audience.SCOPE_PUBLIC else "all members"
        raise InvalidInputError(
            f"an embargo only applies to an audience of named institutes: this record is seen "
            f"by {seen} at once; drop the embargo, or name the institutes that see it first"
        )
    if embargo_until_us % (EMBARGO_GRANULARITY_S * 1_000_000):
        raise InvalidInputError(
            f"the embargo ends at {iso_of_us(embargo_until_us)}, not on a whole hour (UTC): "
            f"embargoes end on a multiple of EMBARGO_GRANULARITY_S={EMBARGO_GRANULARITY_S} s "
            "(`evalfed publish --embargo-until` rounds up to the next hour)"
        )


def embargo_end_us(requested_us: int) -> int:
    """The first whole hour (UTC) at or after `requested_us`: where an embargo may end."""
    step = EMBARGO_GRANULARITY_S * 1_000_000
    return -(-requested_us // step) * step


def _check_membership_event(record: Record) -> None:
    """Membership events are for every member to see, and carry what they name."""
    if record.audience.scope != Audience.SCOPE_MEMBERS or record.HasField("embargo_until"):
        raise InvalidInputError(
            "membership records are seen by all members: the members audience, no embargo"
        )
    kind = kind_of(record)
    if kind == "endorsement" and not record.endorsement.join_request:
        raise InvalidInputError("an endorsement carries the join request it endorses")
    if kind == "rotation" and len(record.rotation.new_public_key) != 32:
        raise InvalidInputError("a rotation names a raw 32-byte Ed25519 public key")
    if kind == "revocation" and not is_hex64(record.revocation.key_id):
        raise InvalidInputError("a revocation names the 64-hex id of the key it revokes")
    if kind == "expulsion":
        check_institute_id(record.expulsion.institute)
        if record.expulsion.institute == record.origin:
            raise InvalidInputError("an institute cannot vote to expel itself; revoke its keys")
    if kind in ("rotation", "revocation", "expulsion"):
        for head in getattr(record, kind).signed_up_to.heads:
            _check_lane_head(head)
