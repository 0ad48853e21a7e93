"""The agreement statistics: difference, its standard error, z, and the verdict."""

from __future__ import annotations

import math

import pytest

from evalfed.client.agreement import (
    AGREE,
    DIFFER,
    NOT_TESTED,
    SINGLE,
    Estimate,
    agreement,
    critical_z,
    se_from_interval,
)


def test_two_institutes_a_known_case_by_hand() -> None:
    # 0.412 ± 0.035 against 0.430 ± 0.020: d = 0.018, SE = sqrt(0.035² + 0.020²) = 0.040311
    verdict = agreement([Estimate("uk", 0.412, 0.035), Estimate("us", 0.430, 0.020)])
    pair = verdict.decisive
    assert pair is not None
    assert (pair.first, pair.second) == ("uk", "us")
    assert pair.difference == pytest.approx(0.018)
    assert pair.se == pytest.approx(0.0403113, rel=1e-5)
    assert pair.z == pytest.approx(0.44653, rel=1e-4)
    assert pair.p == pytest.approx(0.6552, abs=1e-3)
    assert verdict.verdict == AGREE
    assert verdict.critical == pytest.approx(1.959964, rel=1e-6)


def test_differ_past_1_96_and_agree_just_under() -> None:
    se = 0.01 / math.sqrt(2)  # each side's SE, so that the pair's SE is exactly 0.01
    under = agreement([Estimate("a", 0.5, se), Estimate("b", 0.5 + 0.0195, se)])
    over = agreement([Estimate("a", 0.5, se), Estimate("b", 0.5 + 0.0197, se)])
    assert under.verdict == AGREE and under.decisive and under.decisive.z == pytest.approx(1.95)
    assert over.verdict == DIFFER and over.decisive and over.decisive.z == pytest.approx(1.97)
    below = agreement([Estimate("a", 0.5, se), Estimate("b", 0.5 - 0.03, se)])
    assert below.verdict == DIFFER and below.decisive and below.decisive.z == pytest.approx(-3.0)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (Estimate("a", 0.5, None), Estimate("b", 0.6, 0.01)),
        (Estimate("a", 0.5, 0.01), Estimate("b", None, 0.01)),
        (Estimate("a", math.nan, 0.01), Estimate("b", 0.6, 0.01)),
        (Estimate("a", 0.5, math.inf), Estimate("b", 0.6, 0.01)),
    ],
)
def test_no_standard_error_or_no_number_is_not_tested(first: Estimate, second: Estimate) -> None:
    verdict = agreement([first, second])
    assert verdict.verdict == NOT_TESTED
    assert verdict.decisive is not None and verdict.decisive.z is None


def test_a_missing_stderr_still_shows_the_difference() -> None:
    verdict = agreement([Estimate("a", 0.5, None), Estimate("b", 0.625, 0.01)])
    assert verdict.decisive is not None and verdict.decisive.difference == pytest.approx(0.125)


def test_one_institute_is_single_and_none_is_not_tested() -> None:
    assert agreement([Estimate("a", 0.5, 0.01)]).verdict == SINGLE
    assert agreement([]).verdict == NOT_TESTED


def test_zero_standard_errors_agree_only_on_the_same_number() -> None:
    assert agreement([Estimate("a", 1.0, 0.0), Estimate("b", 1.0, 0.0)]).verdict == AGREE
    unequal = agreement([Estimate("a", 1.0, 0.0), Estimate("b", 0.9, 0.0)])
    assert unequal.verdict == DIFFER and unequal.decisive and unequal.decisive.z == -math.inf


def test_three_institutes_take_the_largest_z_against_a_bonferroni_value() -> None:
    estimates = [Estimate("a", 0.50, 0.01), Estimate("b", 0.52, 0.01), Estimate("c", 0.535, 0.01)]
    verdict = agreement(estimates)
    assert len(verdict.pairs) == 3
    # three pairs: alpha 0.05 / 3 per pair, two-sided: |z| < 2.394
    assert verdict.critical == pytest.approx(2.39398, rel=1e-4)
    decisive = verdict.decisive
    assert decisive is not None and (decisive.first, decisive.second) == ("a", "c")
    assert decisive.z == pytest.approx(0.035 / math.sqrt(0.0002))  # 2.475
    assert verdict.verdict == DIFFER
    # at 1.96 a-b would not differ (z 1.41) but a-c would; with c closer, nothing differs
    closer = agreement([*estimates[:2], Estimate("c", 0.53, 0.01)])  # a-c: z = 2.12 < 2.394
    assert closer.verdict == AGREE


def test_three_institutes_one_without_stderr_tests_the_others() -> None:
    estimates = [Estimate("a", 0.5, 0.01), Estimate("b", 0.9, None), Estimate("c", 0.5, 0.01)]
    verdict = agreement(estimates)
    assert verdict.verdict == AGREE
    assert [p.verdict for p in verdict.pairs] == [NOT_TESTED, AGREE, NOT_TESTED]


def test_critical_values() -> None:
    assert critical_z(0.95) == pytest.approx(1.959964, rel=1e-6)
    assert critical_z(0.99) == pytest.approx(2.575829, rel=1e-6)
    assert critical_z(0.95, 6) == pytest.approx(2.638257, rel=1e-5)


def test_standard_error_from_a_confidence_interval() -> None:
    # a 95% interval of half-width 1.96 * 0.02 gives back the SE 0.02
    assert se_from_interval(0.5 - 0.0392, 0.5 + 0.0392, 0.95) == pytest.approx(0.02, rel=1e-3)
    assert se_from_interval(0.4, 0.4, 0.95) is None
    assert se_from_interval(0.3, 0.5, 0.0) is None
    assert se_from_interval(0.3, 0.5, 95.0) is None
    assert se_from_interval(math.nan, 0.5, 0.95) is None
