"""Confidence-interval charts, laid out here and drawn as SVG by the templates.

One chart per comparison row: per institute a dot at its value and a bar over its 95%
interval (value ± 1.96 · SE), on one shared axis, so overlapping bars are seen at a glance.
Only numbers and escaped labels reach the SVG: nothing a record says becomes markup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from evalfed.client.agreement import critical_z
from evalfed.client.pivot import PivotRow
from evalfed.client.render import number

WIDTH = 420
LABEL_WIDTH = 96
ROW_HEIGHT = 22
AXIS_HEIGHT = 24
PAD = 10


@dataclass(frozen=True)
class ChartItem:
    label: str
    y: float
    x: float
    x_low: float | None
    x_high: float | None
    counted: bool
    text: str


@dataclass(frozen=True)
class Tick:
    x: float
    text: str


@dataclass(frozen=True)
class IntervalChart:
    title: str
    width: int
    height: int
    plot_left: int
    plot_right: int
    items: list[ChartItem]
    ticks: list[Tick]
    level: str


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round numbers spanning [low, high], about `count` of them."""
    span = high - low
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def interval_chart(row: PivotRow) -> IntervalChart:
    z = critical_z()
    spans: list[tuple[str, float, float | None, float | None, bool, str]] = []
    for institute, cell in row.cells.items():
        value, se = cell.row.estimate, cell.row.se
        if value is None or not math.isfinite(value):
            continue
        has_interval = se is not None and math.isfinite(se)
        low = value - z * se if has_interval and se is not None else None
        high = value + z * se if has_interval and se is not None else None
        spans.append((institute, value, low, high, cell.counted, cell.row.value_text))
    numbers = [n for s in spans for n in (s[1], s[2], s[3]) if n is not None]
    low = min(numbers, default=0.0)
    high = max(numbers, default=1.0)
    if high - low < 1e-9:
        low, high = low - 0.05, high + 0.05
    margin = (high - low) * 0.08
    low, high = low - margin, high + margin
    left, right = LABEL_WIDTH, WIDTH - PAD

    def x_of(value: float) -> float:
        return round(left + (value - low) / (high - low) * (right - left), 2)

    items = [
        ChartItem(
            label,
            PAD + i * ROW_HEIGHT + ROW_HEIGHT / 2,
            x_of(value),
            x_of(lo) if lo is not None else None,
            x_of(hi) if hi is not None else None,
            counted,
            text,
        )
        for i, (label, value, lo, hi, counted, text) in enumerate(spans)
    ]
    ticks = [Tick(x_of(t), number(t)) for t in nice_ticks(low, high)]
    height = PAD + max(len(items), 1) * ROW_HEIGHT + AXIS_HEIGHT
    return IntervalChart(
        f"{row.model} · {row.task} · {row.metric}", WIDTH, height, left, right, items, ticks,
        "95% interval: value ± 1.96 SE",
    )  # fmt: skip
