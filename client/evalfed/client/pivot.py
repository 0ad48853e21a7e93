"""The comparison pivot: one row per (model, task, metric), one column per institute, and
whether the institutes' numbers agree (see evalfed.client.agreement).

Each cell shows the institute's current record for the row: signed as checked here, not
retracted, not void, not replaced by a correction, the newest of those. Where an institute has
no current record the cell shows its newest one, marked, and it does not count in the verdict.
A forked origin's record counts but is marked FORKED; restricted and embargoed records are
marked as such.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from evalfed.client.agreement import Agreement, Estimate, Pair, agreement
from evalfed.client.compare import Row, json_number
from evalfed.core.timeutil import iso_of_us, now_us

RowKey = tuple[str, str, str]
"""(model, task, metric label)."""


def cell_marks(row: Row, at_us: int) -> list[str]:
    """What a reader must know about a cell's record: forks, retraction, VOID, correction,
    a signature that failed here, a restricted audience, an embargo."""
    marks = row.marks.split()
    if not row.signature_ok:
        marks.append("SIGNATURE-FAILED")
    if row.restricted:
        marks.append(f"restricted to {row.audience}")
    if row.embargo_until_us:
        when = iso_of_us(row.embargo_until_us)
        marks.append(f"embargoed until {when}" if row.embargo_until_us > at_us else
                     f"embargo ended {when}")  # fmt: skip
    return marks


def is_current(row: Row) -> bool:
    """Whether a record's numbers stand: checked here, not retracted, void or corrected."""
    return row.signature_ok and not (row.retracted or row.void or row.corrected_by)


@dataclass(frozen=True)
class Cell:
    """One institute's record for a row, the number of its other records there, and whether
    it counts in the verdict."""

    row: Row
    counted: bool
    others: int
    marks: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        row = self.row
        return {
            "id": row.id,
            "value": row.value,
            "stderr": row.stderr,
            "se": json_number(row.se),
            "se_from": row.se_from,
            "samples": row.samples,
            "date": row.date,
            "signature": "ok" if row.signature_ok else "NO",
            "audience": row.audience,
            "embargo_until": iso_of_us(row.embargo_until_us) if row.embargo_until_us else "",
            "counted": self.counted,
            "other_records": self.others,
            "marks": list(self.marks),
        }


@dataclass(frozen=True)
class PivotRow:
    model: str
    task: str
    metric: str
    """The metric's label: scorer/metric [filter] [split] (see compare.Row.label)."""
    cells: dict[str, Cell]
    agreement: Agreement

    @property
    def first(self) -> Row:
        return next(iter(self.cells.values())).row

    @property
    def marks(self) -> list[str]:
        """Every mark of the row's cells, once each, in order."""
        return list(dict.fromkeys(m for cell in self.cells.values() for m in cell.marks))

    def to_json(self) -> dict[str, Any]:
        verdict = self.agreement
        data: dict[str, Any] = {
            "model": self.model,
            "task": self.task,
            "scorer": self.first.scorer,
            "metric": self.first.metric,
            "filter": self.first.filter,
            "split": self.first.split,
            "label": self.metric,
            "institutes": {name: cell.to_json() for name, cell in self.cells.items()},
            "verdict": verdict.verdict,
            "level": verdict.level,
            "critical_z": round(verdict.critical, 4),
        }
        data.update(pair_json(verdict.decisive))
        data["pairs"] = [pair_json(pair) for pair in verdict.pairs]
        data["marks"] = self.marks
        return data


def pair_json(pair: Pair | None) -> dict[str, Any]:
    if pair is None:
        return {"pair": [], "difference": None, "se": None, "z": None, "p": None}
    return {
        "pair": [pair.first, pair.second],
        "difference": json_number(pair.difference),
        "se": json_number(pair.se),
        "z": json_number(pair.z),
        "p": json_number(pair.p),
        "verdict": pair.verdict,
    }


@dataclass(frozen=True)
class Pivot:
    institutes: list[str]
    rows: list[PivotRow]


def choose(rows: Sequence[Row]) -> tuple[Row, bool]:
    """The record a cell shows, and whether it is current: the newest current one, else the
    newest of all."""
    newest = sorted(rows, key=lambda r: (r.date, r.seq), reverse=True)
    current = [r for r in newest if is_current(r)]
    return (current[0], True) if current else (newest[0], False)


def estimate_of(institute: str, cell: Cell) -> Estimate:
    row = cell.row
    value = row.estimate if row.estimate is not None and math.isfinite(row.estimate) else None
    return Estimate(institute, value, row.se)


def pivot(rows: Iterable[Row], at_us: int | None = None) -> Pivot:
    """The rows of `compare_rows`, pivoted; marks of embargoes are as of `at_us` (now)."""
    at = now_us() if at_us is None else at_us
    grouped: dict[RowKey, dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
    institutes: set[str] = set()
    for row in rows:
        grouped[(row.model, row.task, row.label)][row.institute].append(row)
        institutes.add(row.institute)
    out = []
    for (model, task, metric), by_institute in sorted(grouped.items()):
        cells = {}
        for institute in sorted(by_institute):
            found = by_institute[institute]
            shown, current = choose(found)
            cells[institute] = Cell(shown, current, len(found) - 1, tuple(cell_marks(shown, at)))
        counted = [estimate_of(name, cell) for name, cell in cells.items() if cell.counted]
        out.append(PivotRow(model, task, metric, cells, agreement(counted)))
    return Pivot(sorted(institutes), out)
