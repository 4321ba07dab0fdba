"""The metric-free ``green/*`` summary keys on real epoch records and real stopping rules, values by hand."""

from __future__ import annotations

from typing import Any

import pytest

from greenft.agents.trial import EpochRecord
from greenft.analysis.tradeoff import emissions_saved_pct, metric_change_pct
from greenft.schema import SummaryFacts, build_summary, summary_kinds
from greenft.schema import green as green_module
from greenft.schema.summary import (
    GREEN_CO2_SAVED,
    GREEN_KG_FULL,
    GREEN_KG_FULL_SOURCE,
    GREEN_KG_STOP,
    GREEN_QUALITY_BEST,
    GREEN_QUALITY_CHANGE,
    GREEN_QUALITY_STOP,
    GREEN_STOP_EPOCH,
)
from greenft.stopping import EpochObservation, FullBudget, MetricDirection, Patience, StoppingRule
from greenft.stopping.forecast import Forecast
from greenft.tracking import EmissionReading

LIVE = "patience_p1_d0.0"
GREEN = {GREEN_STOP_EPOCH, GREEN_KG_STOP, GREEN_KG_FULL, GREEN_KG_FULL_SOURCE, GREEN_CO2_SAVED}
GREEN |= {GREEN_QUALITY_STOP, GREEN_QUALITY_BEST, GREEN_QUALITY_CHANGE}


def train(
    val: list[float], test: list[float], direction: MetricDirection, *, budget: int, stop_training: bool
) -> tuple[list[EpochRecord], dict[str, StoppingRule]]:
    """Epoch ``i`` emits 1e-6 kg (cumulative ``1e-6 * i``); patience 1 is the live rule, ``none`` a shadow one.

    ``stop_training``: live mode (training ends at the live rule's stop), else shadow mode (trains every value).
    Every record from epoch 2 on carries the forecast ``1e-6 * budget`` kg, which is what the forecaster says
    for a constant per-epoch increment.
    """
    rules: dict[str, StoppingRule] = {LIVE: Patience(direction, patience=1), "none": FullBudget(direction)}
    records = []
    for i, (v, t) in enumerate(zip(val, test, strict=True), start=1):
        fit = EmissionReading(1e-6 * i, 2e-6 * i, 10.0 * i)
        decisions = {k: r.update(EpochObservation(i, v, fit.emissions_kg)) for k, r in rules.items() if not r.stopped}
        forecast = Forecast(i, budget, 1e-6 * budget, 2e-6 * budget, 10.0 * budget) if i >= 2 else None
        records.append(EpochRecord(i, 1.0, v, t, fit, EmissionReading(0.0, 0.0, 0.0), decisions, forecast=forecast))
        if stop_training and rules[LIVE].stopped:
            break
    return records, rules


def summary_of(
    records: list[EpochRecord], rules: dict[str, StoppingRule], mode: str, metric: str, status: str = "finished"
) -> dict[str, Any]:
    facts = SummaryFacts(status=status, mode=mode, metric=metric, live_label=LIVE, epochs=records, rules=rules)
    return build_summary(facts)


# Patience 1 stops at epoch 3 (epoch 3 is no better than epoch 2); best-so-far at epoch 3 is epoch 2; the best
# validation epoch of the whole budget is epoch 5. Maximised and minimised versions of the same story.
ROC_VAL, ROC_TEST = [0.6, 0.7, 0.65, 0.66, 0.75], [0.55, 0.72, 0.7, 0.69, 0.8]
RMSE_VAL, RMSE_TEST = [1.0, 0.8, 0.9, 0.85, 0.7], [1.1, 0.9, 0.95, 0.92, 0.75]


@pytest.mark.parametrize(
    ("metric", "val", "test", "change"),
    [
        ("roc_auc", ROC_VAL, ROC_TEST, 100 * (0.72 - 0.8) / 0.8),  # -10 %: 0.72 deployed vs 0.8 best-val
        ("rmse", RMSE_VAL, RMSE_TEST, 100 * (0.75 - 0.9) / 0.75),  # -20 %: RMSE 0.9 vs 0.75 is worse, negative
    ],
)
def test_shadow_run_has_every_green_key_by_hand(
    metric: str, val: list[float], test: list[float], change: float
) -> None:
    direction = MetricDirection.MAXIMIZE if metric == "roc_auc" else MetricDirection.MINIMIZE
    records, rules = train(val, test, direction, budget=5, stop_training=False)
    summary = summary_of(records, rules, "shadow", metric)
    assert {k for k in summary if k.startswith("green/")} == GREEN
    assert summary[GREEN_STOP_EPOCH] == 3
    assert summary[GREEN_KG_STOP] == pytest.approx(3e-6)
    assert summary[GREEN_KG_FULL] == pytest.approx(5e-6)
    assert summary[GREEN_KG_FULL_SOURCE] == "measured"
    assert summary[GREEN_CO2_SAVED] == pytest.approx(40.0)  # 100 * (5 - 3) / 5
    assert summary[GREEN_QUALITY_STOP] == test[1]  # epoch 2's weights, deployed by the stop at epoch 3
    assert summary[GREEN_QUALITY_BEST] == test[4]
    assert summary[GREEN_QUALITY_CHANGE] == pytest.approx(change)
    assert change < 0  # negative = worse, whatever the direction


def test_live_run_that_stopped_takes_the_forecast_and_has_no_quality_change() -> None:
    records, rules = train(ROC_VAL, ROC_TEST, MetricDirection.MAXIMIZE, budget=5, stop_training=True)
    assert [r.epoch for r in records] == [1, 2, 3]
    summary = summary_of(records, rules, "live", "roc_auc")
    assert summary[GREEN_KG_FULL_SOURCE] == "forecast"
    assert summary[GREEN_KG_FULL] == pytest.approx(5e-6)
    assert summary[GREEN_CO2_SAVED] == pytest.approx(40.0)
    assert summary[GREEN_QUALITY_STOP] == summary[GREEN_QUALITY_BEST] == 0.72  # best of epochs 1..3: epoch 2
    assert GREEN_QUALITY_CHANGE not in summary  # best-val (hindsight) needs the epochs after the stop


def test_live_run_without_a_forecast_has_no_full_budget_keys() -> None:
    records, rules = train(ROC_VAL, ROC_TEST, MetricDirection.MAXIMIZE, budget=5, stop_training=True)
    bare = [EpochRecord(r.epoch, 1.0, r.val_metric, r.test_metric, r.fit, r.test_eval, r.decisions) for r in records]
    summary = summary_of(bare, rules, "live", "roc_auc")
    assert {GREEN_KG_FULL, GREEN_KG_FULL_SOURCE, GREEN_CO2_SAVED, GREEN_QUALITY_CHANGE}.isdisjoint(summary)
    assert summary[GREEN_STOP_EPOCH] == 3 and summary[GREEN_KG_STOP] == pytest.approx(3e-6)


def test_live_run_at_its_budget_is_complete() -> None:
    """A live rule that fired at the budget's last epoch (here the budget is 3): nothing after it to forecast."""
    records, rules = train(ROC_VAL[:3], ROC_TEST[:3], MetricDirection.MAXIMIZE, budget=3, stop_training=True)
    summary = summary_of(records, rules, "live", "roc_auc")
    assert summary[GREEN_KG_FULL_SOURCE] == "measured"
    assert summary[GREEN_CO2_SAVED] == 0.0
    assert summary[GREEN_QUALITY_CHANGE] == 0.0


def test_the_analysis_and_the_summary_share_one_definition() -> None:
    assert emissions_saved_pct is green_module.emissions_saved_pct
    assert metric_change_pct is green_module.metric_change_pct
    kinds = dict(summary_kinds())
    assert kinds[GREEN_STOP_EPOCH] is int and kinds[GREEN_KG_FULL_SOURCE] is str and kinds[GREEN_CO2_SAVED] is float


def test_interrupted_shadow_run_is_not_its_full_budget() -> None:
    """Ctrl-C after epoch 4 of 5: the kg so far are not the budget's; the forecast made at epoch 4 is."""
    records, rules = train(ROC_VAL[:4], ROC_TEST[:4], MetricDirection.MAXIMIZE, budget=5, stop_training=False)
    summary = summary_of(records, rules, "shadow", "roc_auc", status="interrupted")
    assert summary[GREEN_KG_FULL_SOURCE] == "forecast" and summary[GREEN_KG_FULL] == pytest.approx(5e-6)
    assert summary[GREEN_CO2_SAVED] == pytest.approx(40.0)  # the stop at epoch 3 against the forecast 5e-6 kg
    assert GREEN_QUALITY_CHANGE not in summary
