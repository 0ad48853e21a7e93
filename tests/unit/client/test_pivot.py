"""The comparison pivot: which record a cell shows, what counts in the verdict, the marks."""

from __future__ import annotations

import dataclasses

from evalfed.client.compare import Row
from evalfed.client.pivot import pivot
from evalfed.core.timeutil import parse_iso_us

NOW = parse_iso_us("2026-12-04T12:00:00Z")


def row(institute: str, value: float, se: float | None = 0.01, **changes: object) -> Row:
    base = Row(
        id=f"{institute}-{value}",
        institute=institute,
        model="m",
        task="gpqa",
        scorer="choice",
        metric="accuracy",
        filter="",
        split="",
        value=value,
        stderr=se,
        value_text=f"{value} ± {se}",
        samples=100,
        date="2026-12-01T00:00:00+00:00",
        signature_ok=True,
        forked=False,
        retracted=False,
        corrected_by="",
        seq=1,
        estimate=value,
        se=se,
        se_from="stderr" if se is not None else "",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_one_row_per_model_task_metric_with_a_column_per_institute() -> None:
    table = pivot([row("us-aisi", 0.50), row("uk-aisi", 0.51), row("uk-aisi", 0.7, task="mmlu")])
    assert table.institutes == ["uk-aisi", "us-aisi"]
    assert [(r.task, r.metric, sorted(r.cells)) for r in table.rows] == [
        ("gpqa", "choice/accuracy", ["uk-aisi", "us-aisi"]),
        ("mmlu", "choice/accuracy", ["uk-aisi"]),
    ]
    gpqa, mmlu = table.rows
    assert gpqa.agreement.verdict == "agree" and mmlu.agreement.verdict == "single"
    data = gpqa.to_json()
    assert data["institutes"]["us-aisi"]["value"] == 0.50
    assert data["pair"] == ["uk-aisi", "us-aisi"] and data["verdict"] == "agree"
    assert abs(data["difference"] + 0.01) < 1e-12 and data["critical_z"] == 1.96


def test_a_retracted_or_void_record_is_shown_marked_and_not_counted() -> None:
    table = pivot([row("us-aisi", 0.50), row("uk-aisi", 0.90, retracted=True)], NOW)
    (only,) = table.rows
    assert only.cells["uk-aisi"].counted is False and "RETRACTED" in only.cells["uk-aisi"].marks
    assert only.agreement.verdict == "single"
    void = pivot([row("us-aisi", 0.50), row("uk-aisi", 0.90, void=True)], NOW).rows[0]
    assert "VOID" in void.marks and void.agreement.verdict == "single"


def test_the_newest_current_record_is_taken_over_a_newer_corrected_one() -> None:
    rows = [
        row("us-aisi", 0.50),
        row("uk-aisi", 0.40, date="2026-12-01T00:00:00+00:00"),
        row("uk-aisi", 0.90, date="2026-12-02T00:00:00+00:00", corrected_by="c" * 64),
        row("uk-aisi", 0.52, date="2026-11-01T00:00:00+00:00"),
    ]
    cell = pivot(rows, NOW).rows[0].cells["uk-aisi"]
    assert cell.row.value == 0.40 and cell.counted and cell.others == 2


def test_forks_signatures_restricted_and_embargoed_records_are_marked() -> None:
    rows = [
        row("us-aisi", 0.50, forked=True),
        row("uk-aisi", 0.51, audience="uk-aisi,us-aisi",
            embargo_until_us=parse_iso_us("2027-01-01T00:00:00Z")),
        row("ca-aisi", 0.52, signature_ok=False),
    ]  # fmt: skip
    table = pivot(rows, NOW).rows[0]
    assert "FORKED" in table.cells["us-aisi"].marks and table.cells["us-aisi"].counted
    assert table.cells["uk-aisi"].marks == (
        "restricted to uk-aisi,us-aisi",
        "embargoed until 2027-01-01T00:00:00+00:00",
    )
    assert "SIGNATURE-FAILED" in table.cells["ca-aisi"].marks
    assert not table.cells["ca-aisi"].counted
    assert [p.first + ">" + p.second for p in table.agreement.pairs] == ["uk-aisi>us-aisi"]
    ended = pivot([row("uk-aisi", 0.5, embargo_until_us=NOW - 3600_000_000)], NOW).rows[0]
    assert ended.marks == ["embargo ended 2026-12-04T11:00:00+00:00"]


def test_missing_stderr_gives_n_a() -> None:
    table = pivot([row("us-aisi", 0.50, se=None), row("uk-aisi", 0.51)], NOW)
    assert table.rows[0].agreement.verdict == "n/a"
    assert table.rows[0].to_json()["z"] is None
