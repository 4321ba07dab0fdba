"""Trade-off maths on hand-made curves: definitions, signs, hindsight ties and NaN, aggregation, AN-GES stops."""

from __future__ import annotations

import math

import pytest
from hand_curves import MAX, MIN, make

from greenft.analysis.tradeoff import (
    BEST_VAL,
    FULL_BUDGET,
    HINDSIGHT_1PCT,
    ORACLE,
    aggregate,
    classify_anges_stop,
    compare_curve,
    emissions_saved_pct,
    first_non_improving_epoch,
    hindsight_epoch,
    metric_change_pct,
    score_rule,
    spread,
)
from greenft.stopping import AnGesConfig, PatienceConfig

NAN = math.nan


def test_definitions() -> None:
    assert emissions_saved_pct(2.5, 10.0) == pytest.approx(75.0)
    assert emissions_saved_pct(10.0, 10.0) == 0.0
    assert math.isnan(emissions_saved_pct(1.0, 0.0)) and math.isnan(emissions_saved_pct(NAN, 1.0))
    # positive = better, in both directions
    assert metric_change_pct(0.88, 0.80, MAX) == pytest.approx(10.0)
    assert metric_change_pct(0.72, 0.80, MAX) == pytest.approx(-10.0)
    assert metric_change_pct(0.9, 1.0, MIN) == pytest.approx(10.0)  # RMSE went down 10 %: better
    assert metric_change_pct(1.1, 1.0, MIN) == pytest.approx(-10.0)
    assert math.isnan(metric_change_pct(0.5, 0.0, MAX)) and math.isnan(metric_change_pct(NAN, 0.5, MAX))


def test_hindsight_ties_take_the_earliest_and_skip_nan() -> None:
    assert hindsight_epoch([0.7, 0.9, 0.9, 0.8], MAX) == 2
    assert hindsight_epoch([NAN, 0.5, NAN, 0.5], MAX) == 2
    assert hindsight_epoch([2.0, 1.0, 1.0, 3.0], MIN) == 2
    assert hindsight_epoch([NAN, NAN], MAX) is None
    assert hindsight_epoch([], MAX) is None


def test_compare_curve_rows() -> None:
    # val improves to epoch 3, drops at 4 (AN-GES stops there), test best at epoch 5.
    c = make([0.60, 0.70, 0.75, 0.74, 0.76, 0.76], [0.50, 0.60, 0.70, 0.72, 0.80, 0.78], [1, 2, 3, 4, 5, 10])
    rows = {r.strategy: r for r in compare_curve(c, [AnGesConfig(), PatienceConfig(patience=2)])}
    assert list(rows) == [FULL_BUDGET, "anges_a0.9_b0.2_w3", "patience_p2_d0.0", ORACLE, BEST_VAL, HINDSIGHT_1PCT]
    full, anges, patience, oracle, best, _ = rows.values()
    assert (full.stop_epoch, full.emissions_saved_pct, full.metric_change_pct, full.epochs_saved) == (6, 0.0, 0.0, 0)
    assert anges.stop_epoch == 4 and anges.triggered and anges.epochs_saved == 2
    assert anges.emissions_saved_pct == pytest.approx(60.0)
    assert anges.metric_change_pct == pytest.approx(100 * (0.72 - 0.78) / 0.78)
    assert anges.val_metric_change_pct == pytest.approx(100 * (0.74 - 0.76) / 0.76)
    assert patience.stop_epoch == 6 and not patience.triggered  # epoch 6 ties the best: wait 1 of 2
    assert oracle.stop_epoch == 5 and oracle.metric_change_pct > 0 and oracle.kind == "hindsight"
    assert best.stop_epoch == 5  # the first of the tied best validation epochs
    assert oracle.emissions_saved_pct == pytest.approx(50.0)


def test_aggregate_spread_and_censoring() -> None:
    a = make([0.6, 0.7, 0.65, 0.7], [0.6, 0.7, 0.65, 0.7], run_id="a", seed=0)  # AN-GES stops at 3
    b = make([0.6, 0.7, 0.8, 0.9], [0.6, 0.7, 0.8, 0.9], run_id="b", seed=1)  # never stops
    rows = compare_curve(a, [AnGesConfig()]) + compare_curve(b, [AnGesConfig()])
    agg = {r.strategy: r for r in aggregate(rows, ("model", "dataset"))}
    anges = agg["anges_a0.9_b0.2_w3"]
    assert anges.key == {"model": "gin", "dataset": "b3db"} and anges.n_runs == 2 and anges.stop_rate == 0.5
    assert anges.emissions_saved_pct.mean == pytest.approx(12.5)  # (25 + 0) / 2
    assert anges.emissions_saved_pct.n == 2 and anges.epochs_saved.max == 1.0
    assert math.isnan(agg[FULL_BUDGET].stop_rate)
    flat = anges.as_flat_dict()
    assert flat["emissions_saved_pct_mean"] == pytest.approx(12.5) and flat["model"] == "gin"


def test_spread() -> None:
    s = spread([1.0, 3.0, NAN])
    assert (s.mean, s.min, s.max, s.n) == (2.0, 1.0, 3.0, 2) and s.std == pytest.approx(math.sqrt(2))
    assert s.text() == "2.0 ± 1.4"
    assert spread([5.0]).text() == "5.0" and spread([]).text() == "-" and spread([NAN]).n == 0


def test_score_rule_means_over_curves() -> None:
    a = make([0.6, 0.7, 0.65, 0.7], [0.6, 0.7, 0.65, 0.7], run_id="a")
    b = make([0.6, 0.7, 0.8, 0.9], [0.6, 0.7, 0.8, 0.9], run_id="b")
    score = score_rule([a, b], AnGesConfig())
    assert score.label == "anges_a0.9_b0.2_w3" and score.n_curves == 2
    assert score.emissions_saved_pct == pytest.approx(12.5) and score.emissions_spent_pct == pytest.approx(87.5)
    assert score.stop_rate == 0.5 and score.epochs_saved == pytest.approx(0.5)
    expected = (100 * (0.65 - 0.7) / 0.7 + 0.0) / 2
    assert score.metric_change_pct == pytest.approx(expected)


def test_anges_stop_categories() -> None:
    defaults = AnGesConfig()
    flat = make([0.6, 0.7, 0.75, 0.75, 0.8], [0.0] * 5)
    check = classify_anges_stop(flat, defaults)
    assert (check.stop_epoch, check.first_non_improving, check.category) == (4, 4, "first_non_improving")
    assert check.k == pytest.approx(0.02 / 0.82)
    # Improving but with a collapsing gain per CO2: the docs' worked example (stops at 6, an improving epoch).
    collapsing = make([0.5, 0.6, 0.66, 0.693, 0.696465, 0.696535], [0.0] * 6)
    assert classify_anges_stop(collapsing, defaults).category == "improving_epoch"
    assert classify_anges_stop(make([0.5, 0.6, 0.7], [0.0] * 3), defaults).category == "never"
    assert classify_anges_stop(make([0.5, NAN, 0.7], [0.0] * 3), defaults).category == "non_finite"
    # A worse epoch 2 (warm-up) makes the EMA start negative: the flat epoch 3 (AER 0 >= k * EMA_prev < 0) does
    # not stop; the rule stops later, at the next non-improving epoch.
    negative = make([0.8, 0.6, 0.6, 0.7, 0.4], [0.0] * 5, emissions=[1, 2, 3, 4, 5])
    check = classify_anges_stop(negative, defaults)
    assert (check.first_non_improving, check.stop_epoch, check.category) == (3, 5, "later_non_improving")
    assert first_non_improving_epoch(negative, 5) == 5
