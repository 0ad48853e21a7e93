"""One row per institute and result metric, each record's signature re-checked here.

The node already checked every record it serves; `compare` checks each one again against the
federation the client connected to, so a row says whether its numbers are signed by the institute
named in it, whichever node relayed them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from evalfed.client.agreement import se_from_interval
from evalfed.client.export_eee import RecordHeader
from evalfed.client.render import number
from evalfed.core.checks import check_envelope
from evalfed.core.errors import EvalfedError
from evalfed.core.membership import Membership
from evalfed.core.records import audience_text, parse_record, result_of
from evalfed.core.timeutil import iso_of_us, timestamp_us
from evalfed.v1.node_pb2 import StoredRecord
from evalfed.v1.record_pb2 import EvaluationResult, Metric


def signature_checks(stored: StoredRecord, membership: Membership) -> bool:
    """Whether the record's signature and fields check out against the federation, locally."""
    try:
        check_envelope(stored.envelope, membership)
    except EvalfedError:
        return False
    return True


def header_of(stored: StoredRecord, signature_checked: bool | None = None) -> RecordHeader:
    record = parse_record(stored.envelope)
    return RecordHeader(
        record_id=stored.id,
        origin=record.origin,
        seq=record.seq,
        issued_at_us=timestamp_us(record.issued_at),
        federation_id=record.federation_id,
        key_id=record.key_id,
        signature_checked=signature_checked,
        origin_forked=stored.origin_forked,
        retracted=stored.retracted,
        corrected_by=stored.corrected_by,
    )


def json_number(value: float | None, text: str = "") -> float | str | None:
    """A number for JSON: finite numbers as such, NaN, infinities and texts as strings."""
    if text:
        return text
    if value is None or math.isfinite(value):
        return value
    return number(value)


@dataclass(frozen=True)
class Row:
    """One metric of one result record, as the pivot reads it: its numbers, and its flags."""

    id: str
    institute: str
    model: str
    task: str
    scorer: str
    metric: str
    filter: str
    split: str
    value: float | str | None
    stderr: float | str | None
    value_text: str
    samples: int | None
    date: str
    signature_ok: bool
    forked: bool
    retracted: bool
    corrected_by: str
    void: bool = False
    seq: int = 0
    audience: str = "members"
    embargo_until_us: int = 0
    estimate: float | None = None
    se: float | None = None
    se_from: str = ""
    """Where `se` comes from: "stderr", "ci" (a confidence interval's width), or "" (none)."""

    @property
    def restricted(self) -> bool:
        """Whether only named institutes may see the record (until its embargo ends)."""
        return self.audience not in ("members", "public")

    @property
    def label(self) -> str:
        """scorer/metric [filter] [split], as a table shows it."""
        label = f"{self.scorer}/{self.metric}" if self.scorer else self.metric
        for part in (self.filter, self.split):
            if part:
                label += f" [{part}]"
        return label

    @property
    def marks(self) -> str:
        flags = (
            ("FORKED", self.forked),
            ("RETRACTED", self.retracted),
            ("VOID", self.void),
            ("corrected", bool(self.corrected_by)),
        )
        return " ".join(flag for flag, on in flags if on)


def value_text(metric: Metric) -> str:
    """value ± stderr as people read it; an absent or non-number value says so."""
    value = number(metric.value if metric.HasField("value") else None, metric.value_text)
    if metric.HasField("stderr") or metric.stderr_text:
        stderr = number(metric.stderr if metric.HasField("stderr") else None, metric.stderr_text)
        return f"{value} ± {stderr}"
    return value


def standard_error(metric: Metric) -> tuple[float | None, str]:
    """The metric's standard error and where it comes from: its stderr, else the width of its
    confidence interval (taken as symmetric and normal), else none."""
    if metric.HasField("stderr") and math.isfinite(metric.stderr):
        return metric.stderr, "stderr"
    if metric.HasField("ci"):
        se = se_from_interval(metric.ci.lower, metric.ci.upper, metric.ci.level)
        if se is not None:
            return se, "ci"
    return None, ""


def _samples(result: EvaluationResult, metric: Metric) -> int | None:
    samples = result.dataset.samples_used or result.dataset.total_samples
    if not samples and metric.HasField("n"):
        samples = metric.n
    return int(samples) or None


def compare_rows(records: Iterable[StoredRecord], membership: Membership) -> list[Row]:
    """One row per result metric of every record that holds a result (corrections included)."""
    rows = []
    for stored in records:
        record = parse_record(stored.envelope)
        result = result_of(record)
        if result is None:
            continue
        signature_ok = signature_checks(stored, membership)
        date = iso_of_us(timestamp_us(record.issued_at))
        audience = audience_text(record.audience)
        embargo = timestamp_us(record.embargo_until) if record.HasField("embargo_until") else 0
        for score in result.scores:
            for metric in score.metrics:
                se, se_from = standard_error(metric)
                rows.append(
                    Row(
                        id=stored.id,
                        institute=record.origin,
                        model=result.model.id,
                        task=result.task.name,
                        scorer=score.scorer,
                        metric=metric.name,
                        filter=metric.filter,
                        split=metric.split,
                        value=json_number(
                            metric.value if metric.HasField("value") else None,
                            metric.value_text,
                        ),
                        stderr=json_number(
                            metric.stderr if metric.HasField("stderr") else None,
                            metric.stderr_text,
                        ),
                        value_text=value_text(metric),
                        samples=_samples(result, metric),
                        date=date,
                        signature_ok=signature_ok,
                        forked=stored.origin_forked,
                        retracted=stored.retracted,
                        corrected_by=stored.corrected_by,
                        void=bool(stored.void_reason),
                        seq=record.seq,
                        audience=audience,
                        embargo_until_us=embargo,
                        estimate=metric.value if metric.HasField("value") else None,
                        se=se,
                        se_from=se_from,
                    )
                )
    rows.sort(key=lambda r: (r.model, r.task, r.label, r.institute, r.date))
    return rows
