"""What each dashboard page shows, read from the node through one signed client.

No web framework here: each function takes the client (and the page's arguments) and returns
plain data for a template. Every record is checked here against the federation the client
connected to, whichever node relayed it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from evalfed.client.agreement import agreement_rule
from evalfed.client.compare import compare_rows
from evalfed.client.node_client import NodeClient
from evalfed.client.pivot import Pivot, pivot
from evalfed.client.render import metric_text, number
from evalfed.core.checks import check_envelope
from evalfed.core.codec import to_json
from evalfed.core.errors import EvalfedError, LimitError, NotFoundError
from evalfed.core.limits import DASHBOARD_MAX_RECORDS
from evalfed.core.names import is_hex64
from evalfed.core.records import (
    MEMBERS_LANE,
    PUBLIC_LANE,
    audience_text,
    kind_of,
    parse_record,
    record_id,
    record_lane,
    result_of,
)
from evalfed.core.timeutil import iso_of_us, now_us, timestamp_us
from evalfed.dashboard.charts import IntervalChart, interval_chart
from evalfed.v1.node_pb2 import QueryRequest, StoredRecord


@dataclass(frozen=True)
class Matrix:
    """The comparison pivot of the records matching a filter, with a chart per row."""

    pivot: Pivot
    charts: list[IntervalChart]
    records: int
    rule: str = field(default_factory=agreement_rule)

    @property
    def models(self) -> list[str]:
        return sorted({row.model for row in self.pivot.rows})

    @property
    def tasks(self) -> list[str]:
        return sorted({row.task for row in self.pivot.rows})


def result_records(client: NodeClient, model: str = "", task: str = "") -> list[StoredRecord]:
    """The result and correction records the key may see, at most DASHBOARD_MAX_RECORDS."""
    records: list[StoredRecord] = []
    for kind in ("result", "correction"):
        request = QueryRequest(model=model, task=task, kind=kind)
        records.extend(client.query(request, limit=DASHBOARD_MAX_RECORDS + 1))
        if len(records) > DASHBOARD_MAX_RECORDS:
            raise LimitError(
                f"more than {DASHBOARD_MAX_RECORDS} records match; pick a model or a task "
                "(the filter above) to see fewer at once"
            )
    return records


def matrix(client: NodeClient, model: str = "", task: str = "") -> Matrix:
    records = result_records(client, model, task)
    table = pivot(compare_rows(records, client.membership))
    return Matrix(table, [interval_chart(row) for row in table.rows], len(records))


@dataclass(frozen=True)
class MetricLine:
    text: str
    label: str


@dataclass(frozen=True)
class RecordPage:
    """One record: who signed it with which key, where it sits, who may see it, whether its
    signature checks here, and what it says."""

    id: str
    origin: str
    key_id: str
    seq: int
    prev: str
    lane: str
    kind: str
    issued_at: str
    received_at: str
    audience: str
    embargo: str
    restricted: bool
    relayed_via: str
    signature: str
    signature_ok: bool
    flags: list[str]
    corrected_by: str
    model: str = ""
    task: str = ""
    metrics: list[MetricLine] = field(default_factory=list)
    target: str = ""
    reason: str = ""


def lane_text(lane: str) -> str:
    if lane == MEMBERS_LANE:
        return "members"
    if lane == PUBLIC_LANE:
        return "public"
    return f"{lane} (restricted)"


def embargo_text(embargo_us: int, at_us: int) -> str:
    if not embargo_us:
        return ""
    when = iso_of_us(embargo_us)
    if embargo_us > at_us:
        return f"embargoed until {when}, then seen by all members"
    return f"embargo ended {when}: all members see it"


def record_page(client: NodeClient, wanted: str) -> RecordPage:
    """The record `wanted` as the key may see it; NotFoundError when it may not (or there is
    no such record), exactly as the node answers."""
    if not is_hex64(wanted):
        raise NotFoundError("a record id is 64 lowercase hex characters")
    stored = client.get(wanted).record
    if stored.id != wanted or record_id(stored.envelope.payload) != wanted:
        raise NotFoundError(f"the node answered for {wanted} with another record; not shown")
    record = parse_record(stored.envelope)
    try:
        check_envelope(stored.envelope, client.membership)
        signature, ok = f"valid: signed by {record.origin}'s key {record.key_id[:16]}", True
    except EvalfedError as exc:
        signature, ok = f"FAILED: {exc}", False
    here = client.info.institute
    if record.origin == here:
        relayed = f"none: {here} published it at this node ({client.address})"
    else:
        relayed = (
            f"{here}'s node ({client.address}), which received it by sync (the node keeps no "
            f"note of which partner sent it); the signature is {record.origin}'s, checked here"
        )
    embargo = timestamp_us(record.embargo_until) if record.HasField("embargo_until") else 0
    flags = [
        flag
        for flag, on in (
            ("FORKED origin", stored.origin_forked),
            ("RETRACTED", stored.retracted),
            (f"VOID: {stored.void_reason}", bool(stored.void_reason)),
            ("corrected", bool(stored.corrected_by)),
        )
        if on
    ]
    kind = kind_of(record)
    page = RecordPage(
        id=stored.id,
        origin=record.origin,
        key_id=record.key_id,
        seq=record.seq,
        prev=record.prev,
        lane=lane_text(record_lane(record)),
        kind=kind,
        issued_at=iso_of_us(timestamp_us(record.issued_at)),
        received_at=iso_of_us(timestamp_us(stored.received_at)),
        audience=audience_text(record.audience),
        embargo=embargo_text(embargo, now_us()),
        restricted=audience_text(record.audience) not in ("members", "public"),
        relayed_via=relayed,
        signature=signature,
        signature_ok=ok,
        flags=flags,
        corrected_by=stored.corrected_by,
    )
    result = result_of(record)
    if result is not None:
        page.metrics.extend(
            MetricLine(metric_text(metric), f"{score.scorer}/{metric.name}")
            for score in result.scores
            for metric in score.metrics
        )
        return replace(page, model=result.model.id, task=result.task.name,
                     target=record.correction.target if kind == "correction" else "")  # fmt: skip
    if kind == "retraction":
        return replace(page, target=record.retraction.target, reason=record.retraction.reason)
    return page


def bundle_json(client: NodeClient, wanted: str) -> str:
    """The record's self-contained bundle, as `evalfed get --bundle` writes it."""
    if not is_hex64(wanted):
        raise NotFoundError("a record id is 64 lowercase hex characters")
    return to_json(client.get(wanted, bundle=True).bundle)


def fmt(value: float | None) -> str:
    return "-" if value is None else number(value)
