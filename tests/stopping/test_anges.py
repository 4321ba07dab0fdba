"""AN-GES on hand-computed trajectories, every documented edge case, validation and state round-trips.

All expected AER / EMA / threshold values are worked out by hand in the comments next to them (k below is
beta (1 - alpha) / (1 - alpha beta) = 0.02 / 0.82 = 0.0243902... for the defaults alpha 0.9, beta 0.2).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import pytest

from greenft.stopping import (
    AnGes,
    EpochObservation,
    MetricDirection,
    NonFiniteMetricPolicy,
    Phase,
    StopDecision,
    effective_threshold_fraction,
)
from greenft.stopping.anges import DEFAULT_EPSILON

MAX = MetricDirection.MAXIMIZE
MIN = MetricDirection.MINIMIZE
K_DEFAULT = 0.02 / 0.82  # hand value of k for alpha 0.9, beta 0.2


def approx(x: float):
    return pytest.approx(x, rel=1e-9, abs=1e-15)


def feed(rule: AnGes, metrics: Sequence[float], emissions: Sequence[float], start: int = 1) -> list[StopDecision]:
    """Feed epochs start, start+1, ... until the sequence ends or the rule stops."""
    decisions = []
    for offset, (metric, emis) in enumerate(zip(metrics, emissions, strict=True)):
        decision = rule.update(EpochObservation(start + offset, metric, emis))
        decisions.append(decision)
        if decision.should_stop:
            break
    return decisions


# ---------------------------------------------------------------------------------------------------- trajectories

# ROC-AUC, defaults (alpha 0.9, beta 0.2, W 3); cumulative emissions grow by 1 kg per epoch.
ROC_STOP_METRICS = [0.50, 0.60, 0.66, 0.693, 0.696465, 0.6965346465]
ROC_STOP_EMISSIONS = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


def test_roc_auc_trajectory_stops_at_epoch_6_with_exact_numbers():
    rule = AnGes(MAX)
    d = feed(rule, ROC_STOP_METRICS, ROC_STOP_EMISSIONS)
    assert [x.epoch for x in d] == [1, 2, 3, 4, 5, 6]

    # epoch 1: nothing to compare with
    assert d[0].phase is Phase.FIRST and not d[0].should_stop and d[0].aer is None

    # epoch 2 (1 < 2 < W=3, warm-up): %dPerf = 100*0.10/0.50 = 20, %dEmis = 100*(2-1)/1 = 100, AER = 0.2
    assert d[1].phase is Phase.WARMUP and not d[1].should_stop
    assert (d[1].delta_perf_pct, d[1].delta_emis_pct, d[1].aer) == (approx(20.0), approx(100.0), approx(0.2))
    assert d[1].ema is None and d[1].threshold is None

    # epoch 3 (= W): EMA starts at mean([0.2]) = 0.2; %dPerf = 100*0.06/0.60 = 10, %dEmis = 50, AER = 0.2
    #   EMA = 0.9*0.2 + 0.1*0.2 = 0.2; threshold = 0.2*0.2 = 0.04; 0.2 >= 0.04 -> continue
    assert d[2].phase is Phase.ACTIVE
    assert (d[2].delta_perf_pct, d[2].delta_emis_pct, d[2].aer) == (approx(10.0), approx(50.0), approx(0.2))
    assert (d[2].ema, d[2].threshold, d[2].should_stop) == (approx(0.2), approx(0.04), False)

    # epoch 4: %dPerf = 100*0.033/0.66 = 5, %dEmis = 100/3 = 33.33, AER = 5/(100/3) = 0.15
    #   EMA = 0.9*0.15 + 0.1*0.2 = 0.135 + 0.02 = 0.155; threshold = 0.031 -> continue
    assert (d[3].delta_perf_pct, d[3].delta_emis_pct, d[3].aer) == (approx(5.0), approx(100 / 3), approx(0.15))
    assert (d[3].ema, d[3].threshold, d[3].should_stop) == (approx(0.155), approx(0.031), False)

    # epoch 5: %dPerf = 0.5 (0.693 * 1.005), %dEmis = 25, AER = 0.02
    #   EMA = 0.9*0.02 + 0.1*0.155 = 0.018 + 0.0155 = 0.0335; threshold = 0.0067; 0.02 >= 0.0067 -> continue
    assert (d[4].delta_perf_pct, d[4].delta_emis_pct, d[4].aer) == (approx(0.5), approx(25.0), approx(0.02))
    assert (d[4].ema, d[4].threshold, d[4].should_stop) == (approx(0.0335), approx(0.0067), False)

    # epoch 6: still improving, %dPerf = 0.01 (x 1.0001), %dEmis = 20, AER = 0.0005
    #   EMA = 0.9*0.0005 + 0.1*0.0335 = 0.00045 + 0.00335 = 0.0038; threshold = 0.00076
    #   0.0005 < 0.00076 -> STOP (closed form: 0.0005 < k*0.0335 = 0.000817)
    assert (d[5].delta_perf_pct, d[5].delta_emis_pct, d[5].aer) == (approx(0.01), approx(20.0), approx(0.0005))
    assert (d[5].ema, d[5].threshold) == (approx(0.0038), approx(0.00076))
    assert d[5].should_stop and d[5].phase is Phase.ACTIVE
    assert "<" in d[5].reason

    assert rule.stopped and rule.stopped_epoch == 6 and rule.stop_reason == d[5].reason
    assert rule.ema == approx(0.0038)


def test_roc_auc_steady_efficiency_never_stops():
    # Emissions 1 kg per epoch: E_i = i, so %dEmis_i = 100/(i-1). The metric grows by 10/(i-1) % each epoch
    # (m_i = m_{i-1} * (1 + 0.1/(i-1))), so AER_i = (10/(i-1)) / (100/(i-1)) = 0.1 at every epoch.
    # Warm-up collects AER_2 = 0.1; from epoch 3 on EMA = 0.9*0.1 + 0.1*0.1 = 0.1, threshold 0.02 < 0.1.
    metrics = [0.5, 0.55, 0.5775, 0.59675, 0.61166875, 0.623902125, 0.63430049375, 0.643361929375]
    emissions = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    rule = AnGes(MAX)
    d = feed(rule, metrics, emissions)
    assert len(d) == 8
    assert not any(x.should_stop for x in d)
    assert not rule.stopped
    for x in d[1:]:
        assert x.aer == approx(0.1)
    for x in d[2:]:
        assert x.phase is Phase.ACTIVE
        assert x.ema == approx(0.1)
        assert x.threshold == approx(0.02)


def test_rmse_minimise_trajectory_stops_at_first_worse_epoch():
    # RMSE (minimise), defaults; emissions 0.010 kg per epoch.
    rule = AnGes(MIN)
    d = feed(rule, [2.0, 1.5, 1.2, 1.26, 1.0], [0.010, 0.020, 0.030, 0.040, 0.050])
    # epoch 2 (warm-up): reduction 100*0.5/2.0 = 25 %, %dEmis = 100 -> AER 0.25 collected
    assert d[1].phase is Phase.WARMUP
    assert (d[1].delta_perf_pct, d[1].delta_emis_pct, d[1].aer) == (approx(25.0), approx(100.0), approx(0.25))
    # epoch 3: reduction 100*0.3/1.5 = 20 %, %dEmis 50 -> AER 0.4
    #   EMA = 0.9*0.4 + 0.1*0.25 = 0.36 + 0.025 = 0.385; threshold 0.077 -> continue
    assert (d[2].aer, d[2].ema, d[2].threshold, d[2].should_stop) == (approx(0.4), approx(0.385), approx(0.077), False)
    # epoch 4: RMSE went up 1.2 -> 1.26: reduction -5 %, %dEmis 33.33 -> AER -0.15
    #   EMA = 0.9*(-0.15) + 0.1*0.385 = -0.135 + 0.0385 = -0.0965; threshold -0.0193; -0.15 < -0.0193 -> STOP
    assert d[3].delta_perf_pct == approx(-5.0)
    assert (d[3].aer, d[3].ema, d[3].threshold) == (approx(-0.15), approx(-0.0965), approx(-0.0193))
    assert d[3].should_stop
    assert len(d) == 4  # epoch 5 was never fed
    assert rule.stopped_epoch == 4


def test_mae_minimise_direction_is_respected():
    # MAE 0.50 -> 0.45 -> 0.40: reductions 10 % and 11.11 %; if the direction were ignored these would be
    # negative AERs and epoch 3 would stop. Emissions double each epoch (+100 %).
    # epoch 2: AER 0.1 (warm-up); epoch 3: AER 11.11/100 = 0.1111, EMA = 0.1 + 0.01 = 0.11 -> continue
    d = feed(AnGes(MIN), [0.50, 0.45, 0.40], [1.0, 2.0, 4.0])
    assert d[1].aer == approx(0.1)
    assert d[2].aer == approx(0.1 / 0.9)
    assert d[2].ema == approx(0.11)
    assert not d[2].should_stop


# -------------------------------------------------------------------------------------------- warm-up and epsilon


@pytest.mark.parametrize("warmup", [0, 1, 2])
def test_warmup_at_most_2_means_no_warmup_and_epsilon_start(warmup: int):
    rule = AnGes(MAX, warmup=warmup)
    d = feed(rule, ROC_STOP_METRICS, ROC_STOP_EMISSIONS)
    # epoch 2 is already ACTIVE: EMA = 0.9*0.2 + 0.1*1e-6 = 0.1800001, threshold = 0.03600002
    assert d[1].phase is Phase.ACTIVE
    assert d[1].ema == approx(0.1800001)
    assert d[1].threshold == approx(0.03600002)
    # epoch 3: EMA = 0.9*0.2 + 0.1*0.1800001 = 0.18 + 0.01800001 = 0.19800001
    assert d[2].ema == approx(0.19800001)
    # epoch 4: EMA = 0.135 + 0.019800001 = 0.154800001; epoch 5: 0.018 + 0.0154800001 = 0.0334800001
    assert d[3].ema == approx(0.154800001)
    assert d[4].ema == approx(0.0334800001)
    # epoch 6: 0.0005 < k * 0.03348 = 0.000817 -> stop; EMA = 0.00045 + 0.00334800001 = 0.00379800001
    assert d[5].ema == approx(0.00379800001)
    assert rule.stopped_epoch == 6
    assert rule.warmup_aers == []


def test_warmup_0_1_2_give_identical_decisions():
    runs = [[x.as_dict() for x in feed(AnGes(MAX, warmup=w), ROC_STOP_METRICS, ROC_STOP_EMISSIONS)] for w in (0, 1, 2)]
    assert runs[0] == runs[1] == runs[2]
    # ... and differ from W = 3, where epoch 2 is a warm-up epoch
    w3 = [x.as_dict() for x in feed(AnGes(MAX, warmup=3), ROC_STOP_METRICS, ROC_STOP_EMISSIONS)]
    assert w3 != runs[0]
    assert w3[1]["phase"] == "warmup"


def test_no_warmup_non_improving_epoch_2_stops_at_2():
    # W=2: EMA starts at epsilon 1e-6. Epoch 2 has no change: AER 0; EMA = 0 + 0.1*1e-6 = 1e-7;
    # threshold = 2e-8; 0 < 2e-8 -> stop at 2.
    rule = AnGes(MAX, warmup=2)
    d = feed(rule, [0.5, 0.5], [1.0, 2.0])
    assert d[1].aer == 0.0
    assert d[1].ema == approx(1e-7)
    assert d[1].threshold == approx(2e-8)
    assert d[1].should_stop and rule.stopped_epoch == 2


def test_no_warmup_tiny_improvement_at_epoch_2_still_stops():
    # "stops at 2 unless AER_2 >= k*epsilon": a real but tiny improvement is below k*epsilon.
    # m 0.5 -> 0.5000000005: %dPerf = 1e-7, %dEmis = 100, AER = 1e-9 < k*1e-6 = 2.44e-8 -> stop.
    # EMA = 0.9e-9 + 1e-7 = 1.009e-7, threshold = 2.018e-8.
    d = feed(AnGes(MAX, warmup=2), [0.5, 0.5000000005], [1.0, 2.0])
    assert d[1].aer == pytest.approx(1e-9, rel=1e-6)
    assert d[1].ema == pytest.approx(1.009e-7, rel=1e-6)
    assert d[1].should_stop


@pytest.mark.parametrize(
    ("second_metric", "aer", "ema", "threshold", "stops"),
    [
        # epsilon = 1: m 0.5 -> 0.51 is +2 %, emissions +100 %, AER 0.02;
        # EMA = 0.018 + 0.1 = 0.118, threshold 0.0236: 0.02 < 0.0236 -> stop (closed form: 0.02 < k = 0.0244)
        (0.51, 0.02, 0.118, 0.0236, True),
        # m 0.5 -> 0.515 is +3 %: AER 0.03; EMA = 0.027 + 0.1 = 0.127, threshold 0.0254 -> continue
        (0.515, 0.03, 0.127, 0.0254, False),
    ],
)
def test_epsilon_is_the_ema_start_without_warmup(second_metric, aer, ema, threshold, stops):
    rule = AnGes(MAX, warmup=2, epsilon=1.0)
    d = feed(rule, [0.5, second_metric], [1.0, 2.0])
    assert (d[1].aer, d[1].ema, d[1].threshold, d[1].should_stop) == (
        approx(aer),
        approx(ema),
        approx(threshold),
        stops,
    )


def test_warmup_mean_is_the_ema_start():
    # W = 4: epochs 2 and 3 are warm-up. Emissions 1, 2, 3, 4 (+100 %, +50 %, +33.33 %).
    # epoch 2: 0.5 -> 0.6 = +20 % -> AER 0.2; epoch 3: 0.6 -> 0.72 = +20 % -> AER 0.4
    # epoch 4: 0.72 -> 0.744 = +3.333 % -> AER 0.1; EMA start = mean(0.2, 0.4) = 0.3
    #   EMA = 0.9*0.1 + 0.1*0.3 = 0.09 + 0.03 = 0.12 (a start of 0.2 would give 0.11, of 0.4 would give 0.13)
    #   threshold 0.024 -> continue
    rule = AnGes(MAX, warmup=4)
    d = feed(rule, [0.5, 0.6, 0.72, 0.744], [1.0, 2.0, 3.0, 4.0])
    assert [x.phase for x in d] == [Phase.FIRST, Phase.WARMUP, Phase.WARMUP, Phase.ACTIVE]
    assert rule.warmup_aers == [approx(0.2), approx(0.4)]
    assert d[1].ema is None and d[2].ema is None
    assert d[3].aer == approx(0.1)
    assert d[3].ema == approx(0.12)
    assert d[3].threshold == approx(0.024)
    assert not d[3].should_stop


def test_warmup_never_stops_even_on_a_collapse():
    # W = 5: epochs 2..4 collect AERs whatever they are (here strongly negative), no stop before epoch 5.
    d = feed(AnGes(MAX, warmup=5), [0.9, 0.5, 0.3, 0.2], [1.0, 2.0, 3.0, 4.0])
    assert [x.phase for x in d[1:]] == [Phase.WARMUP] * 3
    assert not any(x.should_stop for x in d)


# --------------------------------------------------------------------------------------------- undefined AER epochs


def test_zero_emission_delta_in_warmup_is_not_collected_and_moves_reference():
    # W = 4. Emissions 1, 1, 2, 3: epoch 2 has a zero delta -> UNDEFINED, nothing collected.
    # epoch 3 is compared with epoch 2 (m 0.6, E 1): +10 % / +100 % -> AER 0.1 collected
    #   (had the reference stayed at epoch 1 it would be +32 % / +100 % = 0.32).
    # epoch 4: 0.66 -> 0.693 = +5 %, E 2 -> 3 = +50 % -> AER 0.1; EMA = 0.9*0.1 + 0.1*mean([0.1]) = 0.1
    rule = AnGes(MAX, warmup=4)
    d = feed(rule, [0.5, 0.6, 0.66, 0.693], [1.0, 1.0, 2.0, 3.0])
    assert d[1].phase is Phase.UNDEFINED and not d[1].should_stop and d[1].aer is None
    assert d[1].delta_perf_pct == approx(20.0) and d[1].delta_emis_pct == 0.0
    assert "zero emission delta" in d[1].reason
    assert d[2].phase is Phase.WARMUP
    assert (d[2].delta_perf_pct, d[2].delta_emis_pct, d[2].aer) == (approx(10.0), approx(100.0), approx(0.1))
    assert rule.warmup_aers == [approx(0.1)]
    assert d[3].ema == approx(0.1)


def test_undefined_epochs_cannot_stop_and_keep_the_ema():
    # defaults (W = 3). epoch 3: EMA 0.2 as in the ROC trajectory (AER 0.2 twice).
    # epoch 4: the cumulative reading goes DOWN 3 -> 2.5 (negative delta) while the metric halves 0.66 -> 0.33.
    #   AER undefined -> no stop, EMA stays 0.2, reference moves to (0.33, 2.5).
    # epoch 5: 0.33 -> 0.363 = +10 %, 2.5 -> 5.0 = +100 % -> AER 0.1; EMA = 0.09 + 0.02 = 0.11, threshold 0.022
    #   (compared with epoch 3 it would have been 0.363 vs 0.66, a 45 % drop, and a stop).
    rule = AnGes(MAX)
    d = feed(rule, [0.50, 0.60, 0.66, 0.33], [1.0, 2.0, 3.0, 2.5])
    assert rule.reference_metric == 0.33 and rule.reference_emissions == 2.5
    d.append(rule.update(EpochObservation(5, 0.363, 5.0)))
    assert d[2].ema == approx(0.2)
    assert d[3].phase is Phase.UNDEFINED
    assert not d[3].should_stop
    assert d[3].delta_perf_pct == approx(-50.0)
    assert d[3].delta_emis_pct == approx(100 * (2.5 - 3.0) / 3.0)
    assert "negative emission delta" in d[3].reason
    assert d[3].ema == approx(0.2) and d[3].threshold is None
    assert (d[4].aer, d[4].ema, d[4].threshold, d[4].should_stop) == (approx(0.1), approx(0.11), approx(0.022), False)


def test_non_positive_previous_emissions_are_undefined_and_ema_starts_lazily():
    # W = 2 (no warm-up). Epoch 1 reads 0 kg (below tracker resolution): epoch 2 is UNDEFINED and the EMA is
    # not initialised yet. Epoch 3: 0.6 -> 0.66 = +10 %, 1 -> 2 = +100 % -> AER 0.1;
    #   EMA starts at epsilon: 0.9*0.1 + 0.1*1e-6 = 0.0900001
    rule = AnGes(MAX, warmup=2)
    d = feed(rule, [0.5, 0.6, 0.66], [0.0, 1.0, 2.0])
    assert d[1].phase is Phase.UNDEFINED and "emission change undefined" in d[1].reason
    assert d[1].ema is None and rule.ema is not None  # rule.ema now set by epoch 3
    assert d[2].ema == approx(0.0900001)


def test_lazy_init_after_warmup_uses_collected_mean_at_first_defined_epoch():
    # W = 3. epoch 2: AER 0.2 collected (0.5 -> 0.6, 1 -> 2). epoch 3 (= W): zero emission delta -> UNDEFINED,
    # no EMA yet, no stop despite 0.6 -> 0.3. epoch 4: 0.3 -> 0.33 = +10 %, 2 -> 4 = +100 % -> AER 0.1;
    #   EMA starts at mean([0.2]) = 0.2: 0.9*0.1 + 0.1*0.2 = 0.11; threshold 0.022 -> continue
    rule = AnGes(MAX)
    d = feed(rule, [0.5, 0.6, 0.3, 0.33], [1.0, 2.0, 2.0, 4.0])
    assert d[2].phase is Phase.UNDEFINED and d[2].ema is None and not d[2].should_stop
    assert (d[3].aer, d[3].ema, d[3].threshold, d[3].should_stop) == (approx(0.1), approx(0.11), approx(0.022), False)


def test_lazy_init_with_nothing_collected_uses_epsilon():
    # W = 4: epochs 2 and 3 both have zero emission deltas (nothing collected). epoch 4: 0.6 -> 0.66 (+10 %),
    # 1 -> 2 (+100 %) -> AER 0.1; EMA = 0.09 + 0.1*1e-6 = 0.0900001
    d = feed(AnGes(MAX, warmup=4), [0.5, 0.55, 0.6, 0.66], [1.0, 1.0, 1.0, 2.0])
    assert [x.phase for x in d] == [Phase.FIRST, Phase.UNDEFINED, Phase.UNDEFINED, Phase.ACTIVE]
    assert d[3].ema == approx(0.0900001)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_emissions_are_undefined_twice_then_recover(bad: float):
    # W = 2. E_2 is non-finite: epoch 2 undefined (no base for its current), epoch 3 undefined (non-finite base).
    # epoch 4: 0.66 -> 0.693 = +5 %, 3 -> 4 = +33.33 % -> AER 0.15; EMA = 0.135 + 1e-7
    rule = AnGes(MAX, warmup=2)
    d = feed(rule, [0.5, 0.6, 0.66, 0.693], [1.0, bad, 3.0, 4.0])
    assert [x.phase for x in d] == [Phase.FIRST, Phase.UNDEFINED, Phase.UNDEFINED, Phase.ACTIVE]
    assert d[1].delta_emis_pct is None and d[2].delta_emis_pct is None
    assert d[1].delta_perf_pct == approx(20.0) and d[2].delta_perf_pct == approx(10.0)
    assert (d[3].aer, d[3].ema) == (approx(0.15), approx(0.1350001))
    assert not any(x.should_stop for x in d)


def test_zero_previous_metric_with_change_is_undefined():
    # W = 2. 0.0 -> 0.1 has no percentage base: UNDEFINED (emission term still reported, +100 %).
    # epoch 3: 0.1 -> 0.2 = +100 %, 2 -> 3 = +50 % -> AER 2; EMA = 1.8 + 1e-7
    d = feed(AnGes(MAX, warmup=2), [0.0, 0.1, 0.2], [1.0, 2.0, 3.0])
    assert d[1].phase is Phase.UNDEFINED and d[1].delta_perf_pct is None
    assert d[1].delta_emis_pct == approx(100.0)
    assert "metric change undefined" in d[1].reason
    assert (d[2].aer, d[2].ema) == (approx(2.0), approx(1.8000001))


def test_zero_to_zero_metric_is_a_defined_zero_aer():
    # W = 2: 0 -> 0 is AER 0 (defined), EMA 1e-7, threshold 2e-8, 0 < 2e-8 -> stop at 2
    d = feed(AnGes(MAX, warmup=2), [0.0, 0.0], [1.0, 2.0])
    assert d[1].phase is Phase.ACTIVE and d[1].aer == 0.0 and d[1].should_stop


# ------------------------------------------------------------------------------------------------ non-finite metric


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("epoch_of_bad", [1, 2, 4])
def test_non_finite_metric_stops_by_default(bad: float, epoch_of_bad: int):
    metrics = [*[0.5, 0.6, 0.66, 0.693][: epoch_of_bad - 1], bad]
    rule = AnGes(MAX)
    d = feed(rule, metrics, [1.0, 2.0, 3.0, 4.0][:epoch_of_bad])
    last = d[-1]
    assert last.epoch == epoch_of_bad
    assert last.should_stop and last.phase is Phase.NON_FINITE
    assert last.aer is None and last.ema is None and last.threshold is None
    assert rule.stopped_epoch == epoch_of_bad
    with pytest.raises(RuntimeError, match="already stopped"):
        rule.update(EpochObservation(epoch_of_bad + 1, 0.7, 10.0))


def test_non_finite_metric_skip_keeps_reference_for_metric_and_emissions():
    # W = 4, SKIP. epoch 2 is NaN (emissions 1.5): ignored, no warm-up collection.
    # epoch 3 is compared with epoch 1: 0.5 -> 0.6 = +20 %, 1.0 -> 2.0 = +100 % -> AER 0.2 collected
    #   (had the emission reference moved to 1.5, %dEmis would be 33.33 % and AER 0.6).
    # epoch 4: 0.6 -> 0.66 = +10 %, 2 -> 3 = +50 % -> AER 0.2; EMA = 0.9*0.2 + 0.1*mean([0.2]) = 0.2
    rule = AnGes(MAX, warmup=4, on_non_finite_metric=NonFiniteMetricPolicy.SKIP)
    d = feed(rule, [0.5, math.nan, 0.6, 0.66], [1.0, 1.5, 2.0, 3.0])
    assert d[1].phase is Phase.NON_FINITE and not d[1].should_stop
    assert "skipped" in d[1].reason
    assert (d[2].phase, d[2].delta_perf_pct, d[2].delta_emis_pct, d[2].aer) == (
        Phase.WARMUP,
        approx(20.0),
        approx(100.0),
        approx(0.2),
    )
    assert rule.warmup_aers == [approx(0.2)]
    assert d[3].ema == approx(0.2)
    assert not rule.stopped


def test_non_finite_metric_skip_reference_stays_during_consecutive_skips():
    rule = AnGes(MAX, warmup=2, on_non_finite_metric="skip")
    feed(rule, [0.5, math.nan, math.inf], [1.0, 7.0, 9.0])
    assert rule.reference_metric == 0.5 and rule.reference_emissions == 1.0
    # epoch 4 vs epoch 1: 0.5 -> 0.55 = +10 %, 1 -> 2 = +100 % -> AER 0.1
    d = rule.update(EpochObservation(4, 0.55, 2.0))
    assert d.aer == approx(0.1)


def test_non_finite_first_epoch_with_skip_makes_the_next_one_first():
    rule = AnGes(MAX, warmup=2, on_non_finite_metric=NonFiniteMetricPolicy.SKIP)
    d = feed(rule, [math.nan, 0.5, 0.55], [1.0, 2.0, 4.0])
    assert [x.phase for x in d] == [Phase.NON_FINITE, Phase.FIRST, Phase.ACTIVE]
    # epoch 3 vs epoch 2: +10 % / +100 % = 0.1
    assert d[2].aer == approx(0.1)


# ---------------------------------------------------------------------------------------------------- negative EMA


def test_negative_ema_is_not_clamped_and_mild_worsening_continues():
    # defaults (W 3). epoch 2 (warm-up): 0.8 -> 0.72 = -10 %, +100 % -> AER -0.1 collected (no stop).
    # epoch 3: 0.72 -> 0.71964 = -0.05 %, +50 % -> AER -0.001; EMA start -0.1:
    #   EMA = 0.9*(-0.001) + 0.1*(-0.1) = -0.0009 - 0.01 = -0.0109; threshold -0.00218
    #   -0.001 >= -0.00218 -> continue. (A clamped EMA, e.g. at 0 or epsilon, gives a threshold >= 0 and a stop.)
    # epoch 4: 0.71964 -> 0.7268364 = +1 %, +33.33 % -> AER 0.03;
    #   EMA = 0.027 + 0.1*(-0.0109) = 0.02591; threshold 0.005182 -> continue; the EMA is positive again.
    rule = AnGes(MAX)
    d = feed(rule, [0.8, 0.72, 0.71964, 0.7268364], [1.0, 2.0, 3.0, 4.0])
    assert d[1].aer == approx(-0.1)
    assert (d[2].aer, d[2].ema, d[2].threshold) == (approx(-0.001), approx(-0.0109), approx(-0.00218))
    assert not d[2].should_stop
    assert (d[3].aer, d[3].ema, d[3].threshold) == (approx(0.03), approx(0.02591), approx(0.005182))
    assert not rule.stopped


def test_negative_ema_stops_on_fast_enough_worsening():
    # as above but epoch 3 drops 1 %: 0.72 -> 0.7128, +50 % -> AER -0.02
    #   EMA = 0.9*(-0.02) + 0.1*(-0.1) = -0.028; threshold -0.0056; -0.02 < -0.0056 -> STOP
    d = feed(AnGes(MAX), [0.8, 0.72, 0.7128], [1.0, 2.0, 3.0])
    assert (d[2].aer, d[2].ema, d[2].threshold) == (approx(-0.02), approx(-0.028), approx(-0.0056))
    assert d[2].should_stop


# ---------------------------------------------------------------------------- first non-improving epoch (defaults)


@pytest.mark.parametrize(
    ("metrics", "stop_epoch"),
    [
        # improving through epoch 5, flat at 6: AER_6 = 0 < k*EMA_prev (EMA_prev > 0) -> stop at 6
        ([0.50, 0.60, 0.66, 0.70, 0.72, 0.72, 0.80], 6),
        # improving through 3, slight dip at 4 -> stop at 4
        ([0.50, 0.60, 0.66, 0.659, 0.70, 0.71], 4),
        # a non-improving epoch during warm-up (epoch 2, W = 3) cannot stop; the AER_2 = 0 is collected, the
        # EMA starts at 0 and epoch 3 improves (AER > 0 >= threshold); epoch 4 flat: AER 0 vs positive EMA
        ([0.50, 0.50, 0.60, 0.60], 4),
    ],
)
def test_defaults_stop_at_first_non_improving_epoch_after_warmup(metrics, stop_epoch):
    emissions = [float(i) for i in range(1, len(metrics) + 1)]
    rule = AnGes(MAX)
    d = feed(rule, metrics, emissions)
    assert rule.stopped_epoch == stop_epoch
    assert d[-1].delta_perf_pct <= 0.0
    assert all(x.delta_perf_pct > 0 for x in d[2:-1])


def test_defaults_first_non_improving_epoch_minimise():
    # RMSE improves 3 epochs then stays flat at epoch 5
    rule = AnGes(MIN)
    feed(rule, [1.0, 0.9, 0.8, 0.75, 0.75, 0.5], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert rule.stopped_epoch == 5


# ------------------------------------------------------------------------------------------------- closed form


def test_closed_form_agrees_with_rule_on_hand_trajectories():
    # stop iff AER_i < k * EMA_prev, with k = beta (1-alpha)/(1-alpha beta)
    k = effective_threshold_fraction(0.9, 0.2)
    assert k == approx(K_DEFAULT)
    for metrics, emissions, direction in [
        (ROC_STOP_METRICS, ROC_STOP_EMISSIONS, MAX),
        ([2.0, 1.5, 1.2, 1.26, 1.0], [0.010, 0.020, 0.030, 0.040, 0.050], MIN),
        ([0.8, 0.72, 0.71964, 0.7268364], [1.0, 2.0, 3.0, 4.0], MAX),
        ([0.8, 0.72, 0.7128], [1.0, 2.0, 3.0], MAX),
    ]:
        rule = AnGes(direction)
        decisions = feed(rule, metrics, emissions)
        warm = [x.aer for x in decisions if x.phase is Phase.WARMUP]
        ema_prev = sum(warm) / len(warm) if warm else DEFAULT_EPSILON
        checked = 0
        for x in decisions:
            if x.phase is not Phase.ACTIVE:
                continue
            assert x.should_stop == (x.aer < k * ema_prev)
            ema_prev = x.ema
            checked += 1
        assert checked >= 1


def test_closed_form_hand_example_just_above_and_below():
    # W = 2, epsilon = 1, so EMA_prev at epoch 2 is 1 and the stop line is AER_2 < k = 0.0243902...
    # +2.4 % / +100 % = 0.024 < 0.02439 -> stop; +2.5 % / +100 % = 0.025 >= 0.02439 -> continue
    assert feed(AnGes(MAX, warmup=2, epsilon=1.0), [0.5, 0.512], [1.0, 2.0])[-1].should_stop
    assert not feed(AnGes(MAX, warmup=2, epsilon=1.0), [0.5, 0.5125], [1.0, 2.0])[-1].should_stop


def test_alpha_one_compares_the_aer_with_itself():
    # alpha = 1: EMA = AER, threshold beta*AER; with beta 0.2 only a negative AER stops.
    # W = 2. epoch 2: +10 % / +100 % = 0.1 >= 0.02; epoch 3: +1.82 % / +50 % = 0.036 >= 0.0073;
    # epoch 4: 0.56 -> 0.4 = -28.6 %, +33.3 % -> AER -0.857, EMA -0.857, threshold -0.171 -> stop
    d = feed(AnGes(MAX, alpha=1.0, warmup=2), [0.5, 0.55, 0.56, 0.4], [1.0, 2.0, 3.0, 4.0])
    assert [x.should_stop for x in d] == [False, False, False, True]
    assert d[-1].ema == approx(d[-1].aer)


def test_alpha_zero_keeps_the_start_value():
    # alpha = 0: EMA never leaves its start (here the warm-up mean 0.2), threshold 0.04 throughout (beta 0.2)
    rule = AnGes(MAX, alpha=0.0)
    d = feed(rule, ROC_STOP_METRICS, ROC_STOP_EMISSIONS)
    for x in d[2:]:
        assert x.ema == approx(0.2) and x.threshold == approx(0.04)
    # AERs 0.2, 0.15, 0.02 -> 0.02 < 0.04 stops at epoch 5
    assert rule.stopped_epoch == 5


def test_beta_zero_only_stops_on_negative_aer():
    # beta = 0: threshold 0; flat epochs (AER 0) continue, a drop stops
    rule = AnGes(MAX, beta=0.0)
    d = feed(rule, [0.5, 0.6, 0.6, 0.6, 0.59], [1.0, 2.0, 3.0, 4.0, 5.0])
    assert [x.should_stop for x in d] == [False, False, False, False, True]


# ------------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": -0.1}, "alpha"),
        ({"alpha": 1.1}, "alpha"),
        ({"alpha": math.nan}, "alpha"),
        ({"beta": -0.1}, "beta"),
        ({"warmup": -1}, "warmup"),
        ({"epsilon": 0.0}, "epsilon"),
        ({"epsilon": -1e-6}, "epsilon"),
        ({"epsilon": math.nan}, "epsilon"),
    ],
)
def test_parameter_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AnGes(MAX, **kwargs)


def test_boundary_parameters_are_accepted():
    rule = AnGes(MIN, alpha=0.0, beta=0.0, warmup=0, epsilon=1e-300)
    assert (rule.alpha, rule.beta, rule.warmup, rule.epsilon) == (0.0, 0.0, 0, 1e-300)
    assert AnGes(MAX, alpha=1.0).alpha == 1.0


def test_direction_and_policy_accept_their_string_values():
    rule = AnGes("min", on_non_finite_metric="skip")
    assert rule.direction is MIN and rule.on_non_finite_metric is NonFiniteMetricPolicy.SKIP
    with pytest.raises(ValueError):
        AnGes("maximise")


def test_defaults_are_the_drafts():
    rule = AnGes(MAX)
    assert (rule.alpha, rule.beta, rule.warmup, rule.epsilon) == (0.9, 0.2, 3, 1e-6)
    assert rule.on_non_finite_metric is NonFiniteMetricPolicy.STOP
    assert rule.name == "anges"


# ------------------------------------------------------------------------------------------------ epoch sequence


def test_epochs_must_start_at_1():
    with pytest.raises(ValueError, match="expected epoch 1"):
        AnGes(MAX).update(EpochObservation(2, 0.5, 1.0))
    with pytest.raises(ValueError, match="expected epoch 1"):
        AnGes(MAX).update(EpochObservation(0, 0.5, 1.0))


def test_epochs_must_be_consecutive_and_a_bad_call_changes_nothing():
    rule = AnGes(MAX, warmup=2)
    rule.update(EpochObservation(1, 0.5, 1.0))
    before = rule.state_dict()
    for wrong in (1, 3, 0):
        with pytest.raises(ValueError, match="expected epoch 2"):
            rule.update(EpochObservation(wrong, 0.6, 2.0))
    assert rule.state_dict() == before
    # epoch 2 is still accepted and compared with epoch 1: +20 % / +100 % -> 0.2
    assert rule.update(EpochObservation(2, 0.6, 2.0)).aer == approx(0.2)


def test_update_after_stop_raises():
    rule = AnGes(MAX, warmup=2)
    feed(rule, [0.5, 0.4], [1.0, 2.0])
    assert rule.stopped_epoch == 2
    with pytest.raises(RuntimeError, match="already stopped at epoch 2"):
        rule.update(EpochObservation(3, 0.6, 3.0))


# --------------------------------------------------------------------------------------------------- state round-trip


@pytest.mark.parametrize("split", [1, 2, 3, 4, 5])
def test_state_dict_round_trip_mid_run_continues_identically(split: int):
    metrics, emissions = ROC_STOP_METRICS, ROC_STOP_EMISSIONS
    uninterrupted = [x.as_dict() for x in feed(AnGes(MAX), metrics, emissions)]

    first = AnGes(MAX)
    head = feed(first, metrics[:split], emissions[:split])
    blob = json.dumps(first.state_dict())
    # a rule built with different parameters and direction: everything must come from the state
    resumed = AnGes(MIN, alpha=0.1, beta=0.9, warmup=7, epsilon=0.5)
    resumed.load_state_dict(json.loads(blob))
    tail = feed(resumed, metrics[split:], emissions[split:], start=split + 1)
    assert [x.as_dict() for x in head + tail] == uninterrupted
    assert resumed.stopped_epoch == 6
    assert resumed.state_dict() == json.loads(json.dumps(resumed.state_dict()))


def test_state_dict_contents_mid_warmup_and_active():
    rule = AnGes(MAX, warmup=4)
    feed(rule, [0.5, 0.6, 0.72], [1.0, 2.0, 3.0])
    state = json.loads(json.dumps(rule.state_dict()))
    assert state["name"] == "anges"
    assert state["direction"] == "max"
    assert state["on_non_finite_metric"] == "stop"
    assert state["last_epoch"] == 3
    assert state["reference_metric"] == 0.72 and state["reference_emissions"] == 3.0
    assert state["warmup_aers"] == [approx(0.2), approx(0.4)]
    assert state["ema"] is None
    assert state["stopped_epoch"] is None and state["stop_reason"] is None
    assert (state["alpha"], state["beta"], state["warmup"], state["epsilon"]) == (0.9, 0.2, 4, 1e-6)


def test_state_of_a_stopped_rule_stays_stopped():
    rule = AnGes(MAX)
    feed(rule, ROC_STOP_METRICS, ROC_STOP_EMISSIONS)
    resumed = AnGes(MAX)
    resumed.load_state_dict(json.loads(json.dumps(rule.state_dict())))
    assert resumed.stopped and resumed.stopped_epoch == 6 and resumed.stop_reason == rule.stop_reason
    with pytest.raises(RuntimeError):
        resumed.update(EpochObservation(7, 0.7, 7.0))


def test_state_of_another_rule_is_refused():
    from greenft.stopping import Patience

    with pytest.raises(ValueError, match="cannot be loaded"):
        AnGes(MAX).load_state_dict(Patience(MAX).state_dict())


@pytest.mark.parametrize(
    "kwargs", [{"beta": float("nan")}, {"beta": float("inf")}, {"epsilon": float("inf")}, {"epsilon": float("nan")}]
)
def test_rule_rejects_non_finite_parameters(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        AnGes(MetricDirection.MAXIMIZE, **kwargs)


def test_patience_rejects_nan_min_delta() -> None:
    from greenft.stopping import Patience

    with pytest.raises(ValueError):
        Patience(MetricDirection.MAXIMIZE, patience=2, min_delta=float("nan"))
