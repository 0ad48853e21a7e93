"""How records, charters and status look on a terminal and as JSON lines."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evalfed.client.agreement import agreement_rule
from evalfed.core.charter import VerifiedCharter
from evalfed.core.codec import to_dict
from evalfed.core.records import audience_text, kind_of, parse_record, result_of
from evalfed.core.timeutil import iso_of_us, timestamp_us
from evalfed.keys import PublicKey
from evalfed.v1.node_pb2 import GetStatusResponse, ListMembersResponse, OriginHead, StoredRecord
from evalfed.v1.record_pb2 import EvaluationResult, Metric

if TYPE_CHECKING:
    from evalfed.client.pivot import Pivot


def number(value: float | None, text: str = "") -> str:
    """A metric number as people read it; NaN, infinities and absent values say so."""
    if text:
        return text
    if value is None:
        return "-"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.4g}"


def metric_text(metric: Metric) -> str:
    value = number(metric.value if metric.HasField("value") else None, metric.value_text)
    if metric.HasField("stderr") or metric.stderr_text:
        stderr = number(metric.stderr if metric.HasField("stderr") else None, metric.stderr_text)
        return f"{metric.name}={value} ± {stderr}"
    return f"{metric.name}={value}"


def headline(result: EvaluationResult) -> str:
    """The first metric of the first score, the one a table row shows."""
    for score in result.scores:
        for metric in score.metrics:
            return metric_text(metric)
    return "-"


def record_json(stored: StoredRecord) -> dict[str, Any]:
    """One record as a JSON object: header facts, flags, and the body in protobuf's mapping."""
    record = parse_record(stored.envelope)
    kind = kind_of(record)
    data: dict[str, Any] = {
        "id": stored.id,
        "origin": record.origin,
        "seq": record.seq,
        "prev": record.prev,
        "kind": kind,
        "issued_at": iso_of_us(timestamp_us(record.issued_at)),
        "key_id": record.key_id,
        "audience": audience_text(record.audience),
        "origin_forked": stored.origin_forked,
        "log_split_view": stored.log_split_view,
        "retracted": stored.retracted,
        "corrected_by": stored.corrected_by,
        "void_reason": stored.void_reason,
    }
    if record.HasField("embargo_until"):
        data["embargo_until"] = iso_of_us(timestamp_us(record.embargo_until))
    data[kind] = to_dict(getattr(record, kind)) if kind else None
    return data


def records_table(console: Console, records: list[StoredRecord]) -> None:
    table = Table(show_lines=False)
    for column in ("id", "origin", "seq", "model", "task", "result", "issued", "flags"):
        table.add_column(column)
    for stored in records:
        record = parse_record(stored.envelope)
        result = result_of(record)
        flags = [
            flag
            for flag, on in (
                ("FORKED", stored.origin_forked),
                ("SPLIT-VIEW", stored.log_split_view),
                ("retracted", stored.retracted),
                ("VOID", bool(stored.void_reason)),
                ("corrected", bool(stored.corrected_by)),
            )
            if on
        ]
        table.add_row(
            stored.id[:12],
            record.origin,
            str(record.seq),
            result.model.id if result else "",
            result.task.name if result else kind_of(record),
            headline(result) if result else "",
            iso_of_us(timestamp_us(record.issued_at)),
            " ".join(flags),
        )
    console.print(table)
    console.print(f"{len(records)} record(s)")


def charter(console: Console, verified: VerifiedCharter) -> None:
    c = verified.charter
    console.print(f"federation {c.name!r}, id {verified.federation_id}")
    console.print(f"admission threshold: {c.threshold} distinct members")
    for founder in c.founders:
        console.print(f"  founder {founder.institute}: key {PublicKey(founder.public_key).key_id}")


def status(console: Console, status: GetStatusResponse) -> None:
    """The node, its partners' links and lag, and the heads of each log (origin and lane)
    with the seqs missing below them (a gap: withheld, or not received yet)."""
    console.print(f"node of {status.institute}, federation {status.federation_id[:16]}")
    console.print(f"{status.records} record(s) held")
    if status.forked_origins:
        console.print(f"[bold red]FORKED origins: {', '.join(status.forked_origins)}[/]")
    gapped = [h for h in status.heads if h.missing]
    if gapped:
        missing = sum(h.missing for h in gapped)
        console.print(
            f"[bold yellow]GAPS: {missing} record(s) missing in {len(gapped)} log(s); "
            "partners that hold them fill them[/]"
        )
    for view in status.split_views:
        console.print(
            f"[bold red]SPLIT VIEW: {view.origin} lane {view.lane or 'members'} signed two "
            f"checkpoints that cannot both hold (sizes {view.first_size} and "
            f"{view.second_size}: {view.reason}); both are kept as evidence[/]"
        )
    for checkpoint in status.checkpoints:
        if checkpoint.size > checkpoint.held:
            console.print(
                f"[bold yellow]CHECKPOINT LAG: {checkpoint.origin} lane "
                f"{checkpoint.lane or 'members'}: checkpoint says {checkpoint.size}, held "
                f"{checkpoint.held}; records exist that no partner has handed this node[/]"
            )
    ours = {(h.origin, h.lane): h.seq for h in status.heads}
    if status.checkpoints:
        checkpoints = Table(title="checkpoints")
        for column in ("origin", "lane", "size", "held", "cosigned by", "newest cosignature"):
            checkpoints.add_column(column)
        for c in status.checkpoints:
            newest = iso_of_us(c.newest_cosigned_at * 1_000_000) if c.newest_cosigned_at else ""
            checkpoints.add_row(
                c.origin, c.lane or "members", str(c.size), str(c.held), ", ".join(c.cosigners),
                newest,
            )  # fmt: skip
        console.print(checkpoints)
    partners = Table(title="partners")
    for column in ("partner", "institute", "state", "last contact", "received", "rejected", "lag"):
        partners.add_column(column)
    for peer in status.peers:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(peer.rejected_by_reason.items()))
        contact = (
            iso_of_us(timestamp_us(peer.last_contact)) if peer.HasField("last_contact") else "never"
        )
        partners.add_row(
            peer.address,
            peer.institute or "?",
            peer.state
            + (f" ({peer.last_error})" if peer.last_error and peer.state != "streaming" else ""),
            contact,
            str(peer.received),
            f"{peer.rejected}" + (f" ({reasons})" if reasons else ""),
            str(peer.lag),
        )
    console.print(partners)
    heads = Table(title="heads")
    columns = [
        "origin", "lane", "here", *[p.institute or p.address for p in status.peers], "missing",
        "forked",
    ]  # fmt: skip
    for column in columns:
        heads.add_column(column)
    forked = {(h.origin, h.lane) for h in status.heads if h.forked}
    gaps = {(h.origin, h.lane): _missing(h) for h in gapped}
    logs = sorted(set(ours) | {(h.origin, h.lane) for p in status.peers for h in p.heads})
    for key in logs:
        at_peers = [
            str({(h.origin, h.lane): h.seq for h in p.heads}.get(key, 0)) for p in status.peers
        ]
        lane = key[1] or "members"
        mark = "FORKED" if key in forked else ""
        heads.add_row(key[0], lane, str(ours.get(key, 0)), *at_peers, gaps.get(key, ""), mark)
    console.print(heads)


def _missing(head: OriginHead) -> str:
    """A log's missing seqs: how many, and which (the first ranges the node names)."""
    ranges = ", ".join(str(r.low) if r.low == r.high else f"{r.low}-{r.high}"
                       for r in head.missing_ranges)  # fmt: skip
    more = ", ..." if sum(r.high - r.low + 1 for r in head.missing_ranges) < head.missing else ""
    return f"{head.missing} ({ranges}{more})"


def verdict_text(z: float | None, verdict: str) -> str:
    return verdict if z is None else f"{verdict} (z={number(z)})"


def compare_table(console: Console, pivot: Pivot) -> None:
    """One row per model, task and metric; per institute value ± stderr and its marks; the
    difference, z and verdict; then the rule the verdicts follow."""
    table = Table(show_lines=False)
    for column in ("model", "task", "metric", *pivot.institutes, "difference", "verdict"):
        table.add_column(column)
    for row in pivot.rows:
        cells = []
        for institute in pivot.institutes:
            cell = row.cells.get(institute)
            if cell is None:
                cells.append(Text("-"))
                continue
            text = Text(cell.row.value_text)
            if cell.marks:
                text.append(" " + ", ".join(cell.marks), style="bold red")
            cells.append(text)
        decisive = row.agreement.decisive
        difference = "-"
        if decisive is not None and decisive.difference is not None:
            difference = f"{number(decisive.difference)} ± {number(decisive.se)}"
            if len(row.cells) > 2:
                difference += f" ({decisive.second} - {decisive.first})"
        verdict = verdict_text(decisive.z if decisive else None, row.agreement.verdict)
        style = "bold red" if row.agreement.verdict == "differ" else ""
        table.add_row(
            Text(row.model), Text(row.task), Text(row.metric), *cells, Text(difference),
            Text(verdict, style=style),
        )  # fmt: skip
    console.print(table)
    records = len({c.row.id for row in pivot.rows for c in row.cells.values()})
    console.print(
        f"{len(pivot.rows)} row(s) from {records} record(s) of {len(pivot.institutes)} "
        "institute(s); signatures checked here"
    )
    console.print("verdict: " + agreement_rule(), markup=False)


def members(console: Console, response: ListMembersResponse) -> None:
    """Members with status, keys and validity, then pending requests with their endorsements."""
    table = Table(title="members")
    for column in ("institute", "status", "name", "country", "node", "keys", "endorsed by"):
        table.add_column(column)
    for member in response.members:
        keys = []
        for key in member.keys:
            span = f"seq {key.from_seq}-" + (str(key.until_seq) if key.until_seq else "")
            flags = " revoked" if key.revoked else ""
            if key.HasField("compromised_since"):
                flags += f" compromised since {iso_of_us(timestamp_us(key.compromised_since))}"
            keys.append(f"{key.key_id[:16]} {span}{flags}")
        table.add_row(
            member.institute,
            member.status,
            member.name,
            member.country,
            member.address,
            "\n".join(keys),
            ", ".join(member.endorsed_by),
        )
    console.print(table)
    if response.pending:
        pending = Table(title="pending join requests")
        for column in ("id", "institute", "name", "country", "node", "endorsements"):
            pending.add_column(column)
        for request in response.pending:
            count = f"{len(request.endorsed_by)} of {request.threshold}"
            if request.endorsed_by:
                count += f" ({', '.join(request.endorsed_by)})"
            pending.add_row(
                request.id[:16], request.institute, request.name, request.country,
                request.address, count,
            )  # fmt: skip
        console.print(pending)
