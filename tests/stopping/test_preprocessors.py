"""anges-pp and its pre-processors on hand-computed trajectories, the all-off property, labels and monitor.

The trajectories use cumulative emissions ``E_i = i`` kg, so ``%ΔEmis_i = 100 / (i - 1)`` against the previous
epoch and ``100 * K / (i - K)`` against epoch ``i - K``; every expected number below is that arithmetic written out.
Exact AN-GES (alpha 0.9, beta 0.2, W 3) stops at epoch 4 of ``BASE`` (AER_4 = -1.515 / 33.3 < beta * EMA).
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenft.analysis.records import Curve
from greenft.analysis.replay import MissingSeriesError, replay, replay_values
from greenft.analysis.tradeoff import FIRST_NON_IMPROVING, classify_anges_stop, first_non_improving_epoch
from greenft.stopping import (
    RULES,
    AerTerms,
    AnGes,
    AnGesConfig,
    AnGesPP,
    AnGesPPConfig,
    EpochObservation,
    MetricDirection,
    Monitor,
    NonFiniteMetricPolicy,
    Patience,
    PatienceConfig,
    PatiencePP,
    PatiencePPConfig,
    Phase,
    RuleConfig,
    StopDecision,
    build_rule,
    parse_label,
    rule_label,
)
from greenft.stopping.preprocess import Streak, dead_band, smooth, warmup_epochs, window_reference

MAX = MetricDirection.MAXIMIZE
BASE = [0.5, 0.6, 0.66, 0.65, 0.70]
KG = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]


def run(
    config: RuleConfig,
    values: list[float],
    *,
    val_loss: list[float] | None = None,
    val_se: list[float] | None = None,
    val_loss_se: list[float] | None = None,
    budget_epochs: int | None = None,
) -> tuple[int | None, list[StopDecision]]:
    """Replay ``values`` with ``E_i = i`` kg; the series are the optional EpochObservation fields."""
    stop, decisions = replay_values(
        values,
        KG[: len(values)],
        config,
        MAX,
        val_loss=val_loss,
        val_se=val_se,
        val_loss_se=val_loss_se,
        budget_epochs=budget_epochs,
    )
    return stop, list(decisions)


# ------------------------------------------------------------------------------------------ pre-processors


def test_smooth_is_an_ema_of_the_past_and_zero_is_off() -> None:
    assert smooth(None, 0.6, 0.5) == 0.6
    assert smooth(0.6, 0.8, 0.5) == pytest.approx(0.7)
    assert smooth(0.6, 0.8, 0.0) == 0.8
    with pytest.raises(ValueError, match="smoothing"):
        smooth(0.6, 0.8, 1.0)


def test_window_reference_is_k_epochs_back_or_the_first() -> None:
    history = [(1.0, 10.0), (2.0, 20.0), (3.0, 30.0)]
    assert window_reference(history, 1) == (2.0, 20.0)
    assert window_reference(history, 2) == (1.0, 10.0)
    assert window_reference(history, 5) == (1.0, 10.0)
    with pytest.raises(ValueError):
        window_reference(history[:1], 1)


def test_dead_band_zeroes_changes_below_the_standard_error() -> None:
    terms = AerTerms(1.0, 10.0, 0.1)
    band = dead_band(terms, 0.01, 0.5)  # SE 0.01 of 0.5 is 2 %: a 1 % change is noise
    assert band.zeroed and band.terms == AerTerms(0.0, 10.0, 0.0) and band.se_pct == pytest.approx(2.0)
    assert not dead_band(AerTerms(3.0, 10.0, 0.3), 0.01, 0.5).zeroed
    assert not dead_band(AerTerms(-3.0, 10.0, -0.3), 0.01, 0.5).zeroed
    assert dead_band(AerTerms(-1.0, 10.0, -0.1), 0.01, 0.5).terms.aer == 0.0
    for unknown in (None, math.nan):
        assert dead_band(terms, unknown, 0.5).terms is terms
    assert dead_band(terms, 0.01, 0.0).terms is terms
    undefined = AerTerms(1.0, 0.0, None, "zero emission delta")
    assert dead_band(undefined, 0.01, 0.5).terms == AerTerms(0.0, 0.0, None, "zero emission delta")


def test_streak_acts_on_the_kth_trigger_in_a_row() -> None:
    streak = Streak(2)
    assert [streak.feed(t) for t in (True, False, True, True, True)] == [False, False, False, True, True]
    with pytest.raises(ValueError):
        Streak(0)


def test_warmup_fraction_of_the_budget() -> None:
    assert warmup_epochs(3, None, None) == 3
    assert warmup_epochs(3, 0.5, 10) == 5
    assert warmup_epochs(3, 0.3, 10) == 3  # 0.3 * 10 is 3 (the float product 3.0000000000000004 is not 4)
    assert warmup_epochs(3, 0.1, 10) == 3  # warmup stays a floor
    assert warmup_epochs(0, 0.25, 30) == 8
    with pytest.raises(ValueError, match="budget"):
        warmup_epochs(3, 0.5, None)


# ------------------------------------------------------------------------------- anges-pp, by hand


def test_with_every_pre_processor_off_it_stops_where_anges_does() -> None:
    assert run(AnGesConfig(), BASE)[0] == 4
    assert run(AnGesPPConfig(), BASE)[0] == 4


def test_smoothing_rides_out_a_one_epoch_dip() -> None:
    stop, decisions = run(AnGesPPConfig(smoothing=0.5), BASE)
    smoothed = [0.5, 0.55, 0.605, 0.6275, 0.66375]  # s~_i = 0.5 * s~_{i-1} + 0.5 * s_i
    assert stop is None
    assert decisions[1].aer == pytest.approx(10.0 / 100.0)  # 100 * 0.05 / 0.5 = 10 %; E 1 -> 2: 100 %
    assert decisions[3].aer == pytest.approx((100 * (smoothed[3] - smoothed[2]) / smoothed[2]) / (100 / 3))
    ema3 = 0.9 * 0.2 + 0.1 * 0.1  # start: the warm-up mean 0.1; AER_3 = 10 / 50
    assert decisions[2].ema == pytest.approx(ema3)
    assert decisions[3].ema == pytest.approx(0.9 * decisions[3].aer + 0.1 * ema3)


def test_a_two_epoch_window_compares_with_epoch_i_minus_2() -> None:
    stop, decisions = run(AnGesPPConfig(window=2), BASE)
    assert stop is None
    assert decisions[1].delta_perf_pct == pytest.approx(20.0)  # epoch 2: only epoch 1 before it
    assert decisions[2].delta_perf_pct == pytest.approx(32.0)  # 0.66 vs 0.5
    assert decisions[2].delta_emis_pct == pytest.approx(200.0)  # 3 kg vs 1 kg
    assert decisions[3].aer == pytest.approx((100 * 0.05 / 0.6) / 100.0)  # 0.65 vs 0.6, 4 kg vs 2 kg
    assert decisions[4].aer == pytest.approx((100 * 0.04 / 0.66) / (200 / 3))


def test_two_consecutive_triggers_are_needed_and_a_non_trigger_resets() -> None:
    stop, decisions = run(AnGesPPConfig(consecutive=2), [0.5, 0.6, 0.66, 0.65, 0.64])
    assert stop == 5
    assert not decisions[3].should_stop and "trigger 1/2 in a row: continue" in decisions[3].reason
    assert decisions[4].should_stop and "trigger 2/2 in a row" in decisions[4].reason
    assert decisions[3].aer < decisions[3].threshold  # epoch 4 did trigger, as in exact AN-GES
    stop, decisions = run(AnGesPPConfig(consecutive=2), [0.5, 0.6, 0.66, 0.65, 0.70, 0.69])
    assert stop is None  # epoch 5 improved (AER 7.69 / 25 above the threshold): the streak restarts
    assert [d.aer < d.threshold for d in decisions[3:]] == [True, False, True]


def test_the_dead_band_counts_a_gain_below_the_standard_error_as_none() -> None:
    values = [0.5, 0.6, 0.66, 0.6666]  # epoch 4 gains 1 % of 0.66; SE 0.01 is 1.52 % of it
    assert run(AnGesConfig(), values)[0] is None  # exact: AER 1/33.3 = 0.03 >= beta * EMA = 0.0094
    se = [0.01] * 4
    stop, decisions = run(AnGesPPConfig(deadband=True), values, val_se=se)
    assert stop == 4 and decisions[3].delta_perf_pct == 0.0 and decisions[3].aer == 0.0
    assert decisions[3].ema == pytest.approx(0.1 * 0.2) and "dead-band" in decisions[3].reason
    assert run(AnGesPPConfig(deadband=True), values)[0] is None  # no SE known: no dead-band
    assert run(AnGesPPConfig(deadband=True), values, val_se=[0.001] * 4)[0] is None  # SE 0.15 %: a real gain


def test_a_warmup_fraction_needs_and_uses_the_budget() -> None:
    config = AnGesPPConfig(warmup_fraction=0.5)
    stop, decisions = run(config, BASE, budget_epochs=10)  # W = max(3, 5): epoch 4 is still warm-up
    assert stop is None and decisions[3].phase is Phase.WARMUP
    start = (0.2 + 0.2 + decisions[3].aer) / 3  # the EMA starts at epoch 5 from three warm-up AERs
    assert decisions[3].aer == pytest.approx((100 * -0.01 / 0.66) / (100 / 3))
    assert decisions[4].ema == pytest.approx(0.9 * (100 * 0.05 / 0.65) / 25 + 0.1 * start)
    assert run(AnGesPPConfig(warmup_fraction=0.1), BASE, budget_epochs=10)[0] == 4  # W stays 3
    with pytest.raises(ValueError, match="budget"):
        build_rule(config, MAX)


def test_state_round_trip_resumes_mid_run() -> None:
    config = AnGesPPConfig(smoothing=0.3, window=2, consecutive=2, deadband=True)
    values = [0.5, 0.6, 0.66, 0.65, 0.64, 0.66, 0.61]
    whole = run(config, values, val_se=[0.004] * len(values))[1]
    first = build_rule(config, MAX)
    for epoch in range(1, 4):
        first.update(EpochObservation(epoch, values[epoch - 1], KG[epoch - 1], metric_se=0.004))
    resumed = build_rule(config, MAX)
    resumed.load_state_dict(json.loads(json.dumps(first.state_dict())))
    rest = []
    for epoch in range(4, len(whole) + 1):
        rest.append(resumed.update(EpochObservation(epoch, values[epoch - 1], KG[epoch - 1], metric_se=0.004)))
    assert rest == whole[3:]


# ------------------------------------------------------------------------------------ all-off property

finite = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False)
metric_values = st.one_of(finite, finite, finite, st.just(0.0), st.just(math.nan))
steps = st.one_of(st.floats(min_value=0.0, max_value=3.0), st.just(0.0), st.just(-0.5))


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(metric_values, min_size=1, max_size=15),
    deltas=st.lists(steps, min_size=15, max_size=15),
    alpha=st.floats(min_value=0.0, max_value=1.0),
    beta=st.floats(min_value=0.0, max_value=2.0),
    warmup=st.integers(min_value=0, max_value=6),
    skip=st.booleans(),
    direction=st.sampled_from(list(MetricDirection)),
)
def test_all_pre_processors_off_decides_exactly_as_anges(
    values: list[float],
    deltas: list[float],
    alpha: float,
    beta: float,
    warmup: int,
    skip: bool,
    direction: MetricDirection,
) -> None:
    """Every decision (stop, phase, reason, every number) equals exact AN-GES's on random curves, including
    NaN metrics, zero bases and zero or negative emission deltas; also with a deadband but no SE known."""
    policy = NonFiniteMetricPolicy.SKIP if skip else NonFiniteMetricPolicy.STOP
    kg = [1.0]
    for step in deltas[: len(values) - 1]:
        kg.append(kg[-1] + step)
    exact = AnGes(direction, alpha, beta, warmup, on_non_finite_metric=policy)
    variants = [
        AnGesPP(direction, alpha, beta, warmup, on_non_finite_metric=policy),
        AnGesPP(direction, alpha, beta, warmup, deadband=True, on_non_finite_metric=policy),
        AnGesPP(direction, alpha, beta, warmup, warmup_fraction=0.01, budget_epochs=15, on_non_finite_metric=policy),
    ]
    for epoch, (value, emissions) in enumerate(zip(values, kg, strict=True), start=1):
        expected = exact.update(EpochObservation(epoch, value, emissions))
        for variant in variants:
            assert variant.update(EpochObservation(epoch, value, emissions)) == expected
        if expected.should_stop:
            break


# ---------------------------------------------------------------------------------------- labels, monitor


@pytest.mark.parametrize(
    "config",
    [
        AnGesPPConfig(),
        AnGesPPConfig(smoothing=0.5),
        AnGesPPConfig(window=3, consecutive=2),
        AnGesPPConfig(deadband=True, warmup_fraction=0.25, epsilon=1e-3),
        AnGesPPConfig(smoothing=0.6, window=2, consecutive=3, deadband=True, warmup_fraction=0.3, monitor="loss"),
        AnGesPPConfig(on_non_finite_metric="skip", monitor="loss"),
        AnGesConfig(monitor="loss"),
        PatienceConfig(monitor="loss", on_non_finite_metric="skip"),
    ],
)
def test_labels_round_trip(config: RuleConfig) -> None:
    label = rule_label(config)
    assert parse_label(label) == config
    assert ("_mloss" in label) == (config.monitor is Monitor.LOSS)


def test_label_parts_appear_only_when_not_default() -> None:
    assert rule_label(AnGesPPConfig()) == "anges-pp_a0.9_b0.2_w3"
    assert rule_label(AnGesPPConfig(window=2, deadband=True)) == "anges-pp_a0.9_b0.2_w3_K2_dbTrue"
    assert rule_label(PatienceConfig(monitor="loss")) == "patience_p5_d0.0_mloss"
    assert rule_label(AnGesConfig(monitor="loss", on_non_finite_metric="skip")) == "anges_a0.9_b0.2_w3_mloss_nanskip"
    assert RULES["anges-pp"].parameters[:4] == RULES["anges"].parameters


def test_monitor_loss_watches_the_loss_minimised() -> None:
    metric = [0.5, 0.6, 0.7, 0.8, 0.9]  # the metric only improves: patience on it never stops
    loss = [1.0, 0.8, 0.9, 0.95, 0.7]  # best at epoch 2, then two epochs without a lower loss
    config = PatienceConfig(patience=2, monitor="loss")
    assert run(PatienceConfig(patience=2), metric)[0] is None
    stop, decisions = run(config, metric, val_loss=loss)
    assert stop == 4 and decisions[1].delta_perf_pct == pytest.approx(20.0)  # loss 1.0 -> 0.8: 20 % better
    assert build_rule(config, MAX).direction is MetricDirection.MINIMIZE
    with pytest.raises(ValueError, match="monitors the validation loss"):
        run(config, metric)
    curve = Curve("r", "roc_auc", MAX, tuple(metric), tuple(metric), tuple(KG[:5]), budget=5)
    with pytest.raises(MissingSeriesError, match="val/loss"):
        replay(curve, config)
    with_loss = Curve("r", "roc_auc", MAX, tuple(metric), tuple(metric), tuple(KG[:5]), budget=5, val_loss=tuple(loss))
    assert replay(with_loss, config).stop_epoch == 4


def test_a_loss_monitoring_dead_band_reads_the_loss_se() -> None:
    loss = [1.0, 0.8, 0.7, 0.693]  # epoch 4: 1 % lower; the loss SE 0.01 is 1.43 % of 0.7
    metric = [0.5, 0.5, 0.5, 0.5]
    config = AnGesPPConfig(deadband=True, monitor="loss")
    assert run(config, metric, val_loss=loss, val_se=[0.0] * 4)[0] is None  # the metric's SE is not the loss's
    assert run(config, metric, val_loss=loss, val_loss_se=[0.01] * 4)[0] == 4


def test_the_anges_stop_classification_reads_the_monitored_series() -> None:
    """The analysis' "first non-improving epoch" of a loss-monitoring AN-GES is found on the loss, not the metric."""
    metric = (0.5, 0.6, 0.7, 0.8, 0.9)
    loss = (1.0, 0.8, 0.7, 0.75, 0.6)  # epoch 4: the loss rises
    curve = Curve("r", "roc_auc", MAX, metric, metric, tuple(KG[:5]), budget=5, val_loss=loss)
    assert first_non_improving_epoch(curve, 3) is None
    assert first_non_improving_epoch(curve, 3, Monitor.LOSS) == 4
    check = classify_anges_stop(curve, AnGesConfig(monitor="loss"))
    assert (check.stop_epoch, check.category) == (4, FIRST_NON_IMPROVING)


# ---------------------------------------------------------------------------------------------- patience-pp


def test_patience_pp_follows_the_smoothed_trend() -> None:
    values = [0.8, 0.9, 0.84, 0.86, 0.87, 0.88]  # one lucky epoch 2, then a steady climb
    assert run(PatienceConfig(patience=2), values)[0] == 4  # 0.84, 0.86 never beat 0.9
    stop, decisions = run(PatiencePPConfig(patience=2, smoothing=0.5), values)
    assert stop is None  # s~ = 0.8, 0.85, 0.845, 0.8525, 0.86125, 0.870625: a new best from epoch 4 on
    assert decisions[2].reason == "no improvement for 1/2 epochs" and decisions[3].reason == "new best"
    assert decisions[3].delta_perf_pct == pytest.approx(100 * (0.8525 - 0.845) / 0.845)
    assert rule_label(PatiencePPConfig(patience=2, smoothing=0.5)) == "patience-pp_p2_d0.0_s0.5"
    assert parse_label("patience-pp_p2_d0.0_s0.5_mloss") == PatiencePPConfig(patience=2, smoothing=0.5, monitor="loss")


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(metric_values, min_size=1, max_size=15),
    patience=st.integers(min_value=1, max_value=4),
    min_delta=st.sampled_from([0.0, 0.01, 0.5]),
    skip=st.booleans(),
    direction=st.sampled_from(list(MetricDirection)),
)
def test_patience_pp_without_smoothing_decides_exactly_as_patience(
    values: list[float], patience: int, min_delta: float, skip: bool, direction: MetricDirection
) -> None:
    policy = NonFiniteMetricPolicy.SKIP if skip else NonFiniteMetricPolicy.STOP
    exact = Patience(direction, patience, min_delta, on_non_finite_metric=policy)
    variant = PatiencePP(direction, patience, min_delta, on_non_finite_metric=policy)
    for epoch, value in enumerate(values, start=1):
        expected = exact.update(EpochObservation(epoch, value, float(epoch)))
        assert variant.update(EpochObservation(epoch, value, float(epoch))) == expected
        if expected.should_stop:
            break
