"""Whether institutes' numbers for one metric agree: a z-test on their difference.

Each institute reports an estimate and its standard error. Two estimates a and b differ by
d = b - a, with standard error SE = sqrt(se_a² + se_b²) when the runs are independent; z = d / SE.
They "agree" when |z| stays under the two-sided critical value at AGREEMENT_LEVEL (1.96 at 95%),
else they "differ". Without a standard error on either side there is no test: "n/a".

With more than two institutes every pair is tested and the row's verdict is that of the pair
with the largest |z|, against a Bonferroni-corrected critical value (the level split over the
pairs), so that a row of institutes that all agree is called "differ" at most 1 - level of the
time. Pure arithmetic: no IO.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from statistics import NormalDist

AGREEMENT_LEVEL = 0.95
"""The confidence level of the test: two estimates differ when a difference as large would
happen by chance less than 5% of the time were they measuring the same thing."""

AGREE = "agree"
DIFFER = "differ"
NOT_TESTED = "n/a"
SINGLE = "single"
"""Verdicts: the estimates agree, they differ, no test (a standard error is missing, or no
number counts), or only one institute's number counts."""


@dataclass(frozen=True)
class Estimate:
    """One institute's number for a metric: its value and standard error (None: unknown)."""

    institute: str
    value: float | None
    se: float | None

    @property
    def testable(self) -> bool:
        return (
            self.value is not None
            and math.isfinite(self.value)
            and self.se is not None
            and math.isfinite(self.se)
            and self.se >= 0
        )


@dataclass(frozen=True)
class Pair:
    """The test of `second` against `first`: difference second - first, its SE, z, p."""

    first: str
    second: str
    difference: float | None
    se: float | None
    z: float | None
    p: float | None
    verdict: str


@dataclass(frozen=True)
class Agreement:
    """A row's verdict: from its decisive pair (largest |z|), at `level`, with `critical` the
    |z| past which estimates differ (Bonferroni over `pairs` when there are several)."""

    verdict: str
    level: float
    critical: float
    decisive: Pair | None
    pairs: tuple[Pair, ...]


def critical_z(level: float = AGREEMENT_LEVEL, comparisons: int = 1) -> float:
    """The two-sided |z| past which a difference is significant at `level`, Bonferroni-split
    over `comparisons` tests."""
    alpha = (1.0 - level) / max(comparisons, 1)
    return NormalDist().inv_cdf(1.0 - alpha / 2)


def se_from_interval(lower: float, upper: float, level: float) -> float | None:
    """The standard error a symmetric normal confidence interval implies; None when the
    interval cannot give one (no width, or a level outside (0, 1))."""
    if not (0.0 < level < 1.0) or not (math.isfinite(lower) and math.isfinite(upper)):
        return None
    if upper <= lower:
        return None
    return (upper - lower) / (2 * NormalDist().inv_cdf(0.5 + level / 2))


def pair_test(first: Estimate, second: Estimate, critical: float) -> Pair:
    """The z-test of two independent estimates; "n/a" when either lacks a usable SE."""
    if not (first.testable and second.testable):
        return Pair(first.institute, second.institute, _difference(first, second), None,
                    None, None, NOT_TESTED)  # fmt: skip
    assert first.value is not None and second.value is not None
    assert first.se is not None and second.se is not None
    difference = second.value - first.value
    se = math.hypot(first.se, second.se)
    if se == 0:
        z = 0.0 if difference == 0 else math.copysign(math.inf, difference)
    else:
        z = difference / se
    p = 2 * (1 - NormalDist().cdf(abs(z))) if math.isfinite(z) else 0.0
    verdict = AGREE if abs(z) < critical else DIFFER
    return Pair(first.institute, second.institute, difference, se, z, p, verdict)


def _difference(first: Estimate, second: Estimate) -> float | None:
    if first.value is None or second.value is None:
        return None
    difference = second.value - first.value
    return difference if math.isfinite(difference) else None


def agreement(estimates: list[Estimate], level: float = AGREEMENT_LEVEL) -> Agreement:
    """The verdict on one row's estimates, one per institute, in column order."""
    pairs_of = list(combinations(estimates, 2))
    critical = critical_z(level, len(pairs_of))
    if not pairs_of:
        return Agreement(SINGLE if estimates else NOT_TESTED, level, critical, None, ())
    pairs = tuple(pair_test(a, b, critical) for a, b in pairs_of)
    tested = [p for p in pairs if p.z is not None]
    if not tested:
        return Agreement(NOT_TESTED, level, critical, pairs[0], pairs)
    decisive = max(tested, key=lambda p: abs(p.z or 0.0))
    return Agreement(decisive.verdict, level, critical, decisive, pairs)


def agreement_rule(level: float = AGREEMENT_LEVEL) -> str:
    """The rule the verdicts follow, as a reader is told it."""
    return (
        f"agree when |z| < {critical_z(level):.2f}, z = difference / sqrt(se1² + se2²) "
        f"({level:.0%}, two-sided); with more than two institutes, the pair of largest |z| "
        "against a Bonferroni-corrected value; n/a: a standard error is missing, or no number "
        "counts; single: only one institute's number counts"
    )
