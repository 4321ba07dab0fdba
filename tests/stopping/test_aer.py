"""The stateless AER arithmetic: percent terms, their undefined cases, and the closed-form threshold fraction.

Every expected number below is worked out by hand in a comment; none is computed with the code under test.
"""

from __future__ import annotations

import math

import pytest

from greenft.stopping import (
    AerTerms,
    MetricDirection,
    compute_aer,
    effective_threshold_fraction,
    percent_emission_increase,
    percent_improvement,
)

MAX = MetricDirection.MAXIMIZE
MIN = MetricDirection.MINIMIZE
NON_FINITE = [math.nan, math.inf, -math.inf]


# --------------------------------------------------------------------------------------------- percent_improvement


@pytest.mark.parametrize(
    ("previous", "current", "direction", "expected"),
    [
        # ROC-AUC 0.80 -> 0.84: 100 * 0.04 / 0.80 = +5 %
        (0.80, 0.84, MAX, 5.0),
        # ROC-AUC 0.80 -> 0.76: 100 * -0.04 / 0.80 = -5 % (got worse)
        (0.80, 0.76, MAX, -5.0),
        # RMSE 2.0 -> 1.5: reduction 100 * 0.5 / 2.0 = +25 % (improvement is positive)
        (2.0, 1.5, MIN, 25.0),
        # RMSE 2.0 -> 2.5: reduction 100 * -0.5 / 2.0 = -25 %
        (2.0, 2.5, MIN, -25.0),
        # MAE 0.50 -> 0.45: 100 * 0.05 / 0.50 = +10 %
        (0.50, 0.45, MIN, 10.0),
        # a maximised metric that is negative: -2 -> -1 is an increase of 1 on a base |−2| = 2: +50 %
        (-2.0, -1.0, MAX, 50.0),
        # the same values minimised: -2 -> -1 got larger, i.e. worse: -50 %
        (-2.0, -1.0, MIN, -50.0),
        # a minimised metric that is negative: -1 -> -2 is a reduction of 1 on base 1: +100 %
        (-1.0, -2.0, MIN, 100.0),
        # no change at all
        (0.7, 0.7, MAX, 0.0),
        (0.7, 0.7, MIN, 0.0),
    ],
)
def test_percent_improvement_values(previous: float, current: float, direction: MetricDirection, expected: float):
    assert percent_improvement(previous, current, direction) == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("direction", [MAX, MIN])
def test_percent_improvement_zero_to_zero_is_no_change(direction: MetricDirection):
    result = percent_improvement(0.0, 0.0, direction)
    assert result == 0.0
    assert result is not None


@pytest.mark.parametrize("direction", [MAX, MIN])
@pytest.mark.parametrize("current", [0.1, -0.1, 1e-12])
def test_percent_improvement_zero_base_with_change_is_undefined(direction: MetricDirection, current: float):
    assert percent_improvement(0.0, current, direction) is None


@pytest.mark.parametrize("direction", [MAX, MIN])
@pytest.mark.parametrize("bad", NON_FINITE)
def test_percent_improvement_non_finite_is_undefined(direction: MetricDirection, bad: float):
    assert percent_improvement(bad, 0.5, direction) is None
    assert percent_improvement(0.5, bad, direction) is None
    assert percent_improvement(bad, bad, direction) is None


def test_percent_improvement_sign_flips_with_direction():
    # Same pair of numbers, opposite directions: opposite signs, same magnitude (0.9 -> 0.99 is +/-10 %).
    up = percent_improvement(0.9, 0.99, MAX)
    down = percent_improvement(0.9, 0.99, MIN)
    assert up == pytest.approx(10.0)
    assert down == pytest.approx(-10.0)


# ----------------------------------------------------------------------------------------- percent_emission_increase


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        # 1.0 kg -> 1.5 kg: 100 * 0.5 / 1.0 = 50 %
        (1.0, 1.5, 50.0),
        # 0.010 kg -> 0.020 kg: doubled, +100 %
        (0.010, 0.020, 100.0),
        # 3 -> 4: 100 / 3 = 33.333... %
        (3.0, 4.0, 100.0 / 3.0),
        # zero delta is returned as is (compute_aer is the one that refuses it)
        (2.0, 2.0, 0.0),
        # negative delta is returned as is: 2 -> 1 is -50 %
        (2.0, 1.0, -50.0),
    ],
)
def test_percent_emission_increase_values(previous: float, current: float, expected: float):
    assert percent_emission_increase(previous, current) == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("previous", [0.0, -0.0, -1.0, -1e-9])
def test_percent_emission_increase_non_positive_base_is_undefined(previous: float):
    assert percent_emission_increase(previous, 1.0) is None


@pytest.mark.parametrize("bad", NON_FINITE)
def test_percent_emission_increase_non_finite_is_undefined(bad: float):
    assert percent_emission_increase(bad, 1.0) is None
    assert percent_emission_increase(1.0, bad) is None


# ----------------------------------------------------------------------------------------------------- compute_aer


def test_compute_aer_maximise():
    # ROC-AUC 0.80 -> 0.84 (+5 %) while emissions 1.0 -> 1.5 kg (+50 %): AER = 5 / 50 = 0.1
    terms = compute_aer(0.80, 0.84, 1.0, 1.5, MAX)
    assert terms.delta_perf_pct == pytest.approx(5.0)
    assert terms.delta_emis_pct == pytest.approx(50.0)
    assert terms.aer == pytest.approx(0.1)
    assert terms.undefined_reason is None


def test_compute_aer_minimise():
    # RMSE 2.0 -> 1.5 (25 % reduction) while emissions 1 -> 2 (+100 %): AER = 25 / 100 = 0.25
    terms = compute_aer(2.0, 1.5, 1.0, 2.0, MIN)
    assert terms == AerTerms(pytest.approx(25.0), pytest.approx(100.0), pytest.approx(0.25), None)


def test_compute_aer_negative_when_metric_worsens():
    # RMSE 1.2 -> 1.26 is a -5 % reduction; emissions 3 -> 4 is +33.33 %: AER = -5 / (100/3) = -0.15
    terms = compute_aer(1.2, 1.26, 3.0, 4.0, MIN)
    assert terms.aer == pytest.approx(-0.15)


def test_compute_aer_zero_to_zero_metric_is_defined_zero():
    # 0 -> 0 is "no change" (0 %), emissions +100 %: AER = 0 / 100 = 0, a defined value.
    terms = compute_aer(0.0, 0.0, 1.0, 2.0, MAX)
    assert terms.aer == 0.0
    assert terms.undefined_reason is None


@pytest.mark.parametrize(
    ("args", "delta_perf", "delta_emis", "reason_fragment"),
    [
        # non-finite metric: no perf term, the emission term is still reported (+100 %)
        ((0.8, math.nan, 1.0, 2.0), None, 100.0, "metric change undefined"),
        ((0.8, math.inf, 1.0, 2.0), None, 100.0, "metric change undefined"),
        ((math.nan, 0.8, 1.0, 2.0), None, 100.0, "metric change undefined"),
        # previous metric exactly zero with a change: no base
        ((0.0, 0.1, 1.0, 2.0), None, 100.0, "metric change undefined"),
        # previous emissions zero / negative / non-finite: no percentage base; perf term kept (+5 %)
        ((0.8, 0.84, 0.0, 1.0), 5.0, None, "emission change undefined"),
        ((0.8, 0.84, -1.0, 1.0), 5.0, None, "emission change undefined"),
        ((0.8, 0.84, math.nan, 1.0), 5.0, None, "emission change undefined"),
        ((0.8, 0.84, 1.0, math.inf), 5.0, None, "emission change undefined"),
        ((0.8, 0.84, 1.0, math.nan), 5.0, None, "emission change undefined"),
        # zero emission delta (tracker resolution): 0 % is reported but the ratio is refused
        ((0.8, 0.84, 1.0, 1.0), 5.0, 0.0, "zero emission delta"),
        # negative emission delta (cumulative reading went down): 2 -> 1 is -50 %
        ((0.8, 0.84, 2.0, 1.0), 5.0, -50.0, "negative emission delta"),
    ],
)
def test_compute_aer_undefined_cases(args, delta_perf, delta_emis, reason_fragment):
    terms = compute_aer(*args, MAX)
    assert terms.aer is None
    assert terms.undefined_reason is not None
    assert reason_fragment in terms.undefined_reason
    if delta_perf is None:
        assert terms.delta_perf_pct is None
    else:
        assert terms.delta_perf_pct == pytest.approx(delta_perf)
    if delta_emis is None:
        assert terms.delta_emis_pct is None
    else:
        assert terms.delta_emis_pct == pytest.approx(delta_emis)


def test_compute_aer_metric_reason_wins_when_both_terms_are_undefined():
    # metric NaN and previous emissions 0: both undefined; the metric reason is reported first.
    terms = compute_aer(0.8, math.nan, 0.0, 1.0, MAX)
    assert terms.aer is None
    assert terms.delta_perf_pct is None
    assert terms.delta_emis_pct is None
    assert "metric" in terms.undefined_reason


def test_compute_aer_undefined_cases_minimise_too():
    # direction does not change the emission-side refusals: RMSE 2.0 -> 1.5 (+25 %) with a zero emission delta
    terms = compute_aer(2.0, 1.5, 1.0, 1.0, MIN)
    assert terms.aer is None
    assert terms.delta_perf_pct == pytest.approx(25.0)
    assert "zero emission delta" in terms.undefined_reason


def test_aer_terms_is_frozen():
    terms = compute_aer(0.8, 0.84, 1.0, 1.5, MAX)
    with pytest.raises(AttributeError):
        terms.aer = 1.0  # type: ignore[misc]


# ------------------------------------------------------------------------------------- effective_threshold_fraction


def test_effective_threshold_fraction_defaults():
    # k = beta (1 - alpha) / (1 - alpha beta) = 0.2 * 0.1 / (1 - 0.18) = 0.02 / 0.82 = 0.0243902439...
    k = effective_threshold_fraction(0.9, 0.2)
    assert k == pytest.approx(0.024390243902439025, rel=1e-12)
    assert 0.0243 < k < 0.0244  # "about 2.4 % of the previous EMA"


@pytest.mark.parametrize(
    ("alpha", "beta", "expected"),
    [
        # alpha = 0: EMA never moves, k = beta (1 - 0) / (1 - 0) = beta
        (0.0, 0.2, 0.2),
        # alpha = 1: EMA is the current AER, k = 0 (stop iff AER < beta AER, i.e. iff AER < 0 for beta < 1)
        (1.0, 0.5, 0.0),
        # beta = 0: threshold 0, k = 0
        (0.9, 0.0, 0.0),
        # alpha 0.5, beta 0.5: 0.5 * 0.5 / (1 - 0.25) = 0.25 / 0.75 = 1/3
        (0.5, 0.5, 1.0 / 3.0),
    ],
)
def test_effective_threshold_fraction_values(alpha: float, beta: float, expected: float):
    assert effective_threshold_fraction(alpha, beta) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(("alpha", "beta"), [(1.0, 1.0), (0.5, 2.0), (0.9, 5.0), (1.0, 3.0)])
def test_effective_threshold_fraction_rejects_alpha_beta_at_least_one(alpha: float, beta: float):
    with pytest.raises(ValueError, match="alpha\\*beta must be < 1"):
        effective_threshold_fraction(alpha, beta)


def test_effective_threshold_fraction_just_below_one_is_accepted():
    # alpha beta = 0.99 < 1: k = 1.1 * 0.1 / 0.01 = 11
    assert effective_threshold_fraction(0.9, 1.1) == pytest.approx(11.0)


def test_overflowing_percentages_make_the_aer_undefined() -> None:
    # a subnormal previous total: the percent increase overflows to inf, which carries no information
    terms = compute_aer(0.5, 0.6, 1e-310, 1.0, MetricDirection.MAXIMIZE)
    assert terms.aer is None and terms.delta_emis_pct is None
    terms = compute_aer(1e-310, 1.0, 1.0, 2.0, MetricDirection.MAXIMIZE)
    assert terms.aer is None and terms.delta_perf_pct is None
    # finite percentages whose ratio overflows
    terms = compute_aer(1.0, 1e300, 1.0, 1.0 + 1e-15, MetricDirection.MAXIMIZE)
    assert terms.aer is None and terms.undefined_reason is not None and "overflow" in terms.undefined_reason


def test_direction_given_as_a_string_is_honoured() -> None:
    assert percent_improvement(0.8, 0.84, "max") == pytest.approx(5.0)  # type: ignore[arg-type]
    assert percent_improvement(0.8, 0.84, "min") == pytest.approx(-5.0)  # type: ignore[arg-type]
