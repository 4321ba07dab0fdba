"""Replay on hand-made curves: the documented examples, ties, NaN, censoring, and rule specs/labels."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenft.analysis.records import Curve, CurveError, RunRecord, curve_from_record
from greenft.analysis.replay import RuleSpecError, parse_rule, replay, replay_values
from greenft.stopping import (
    AnGesConfig,
    EpochObservation,
    FullBudgetConfig,
    MetricDirection,
    PatienceConfig,
    build_rule,
    rule_label,
)

NAN = math.nan
MAX, MIN = MetricDirection.MAXIMIZE, MetricDirection.MINIMIZE


def curve(val: list[float], emissions: list[float] | None = None, *, test: list[float] | None = None,
          direction: MetricDirection = MAX, budget: int | None = None) -> Curve:  # fmt: skip
    n = len(val)
    return Curve(
        run_id="hand",
        metric="roc_auc" if direction is MAX else "rmse",
        direction=direction,
        val=tuple(val),
        test=tuple(test if test is not None else val),
        emissions_kg=tuple(emissions if emissions is not None else [float(i) for i in range(1, n + 1)]),
        budget=budget if budget is not None else n,
    )


def test_docs_worked_example_stops_at_epoch_6() -> None:
    """docs/stopping.md: ROC-AUC 0.5 .. 0.696535 with 1 kg per epoch, defaults -> stop at epoch 6."""
    c = curve([0.5, 0.6, 0.66, 0.693, 0.696465, 0.696535], test=[0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    result = replay(c, AnGesConfig())
    assert (result.stop_epoch, result.triggered, result.censored) == (6, True, False)
    assert result.label == "anges_a0.9_b0.2_w3"
    assert result.test_metric == 0.9 and result.val_metric == 0.696535 and result.emissions_kg == 6.0
    assert [round(d.aer or 0, 4) for d in result.decisions[1:]] == [0.2, 0.2, 0.15, 0.02, 0.0005]
    # With epoch 5 flat the rule stops there instead (AER 0 < k * EMA_prev).
    assert replay(curve([0.5, 0.6, 0.66, 0.693, 0.693, 0.7]), AnGesConfig()).stop_epoch == 5


def test_docs_rmse_example_stops_at_first_worse_epoch() -> None:
    c = curve([2.0, 1.5, 1.2, 1.26], [1.0, 2.0, 3.0, 4.0], direction=MIN)
    result = replay(c, AnGesConfig())
    assert result.stop_epoch == 4 and result.triggered
    assert result.decisions[-1].ema == pytest.approx(-0.0965)


def test_replay_is_the_live_rule_fed_by_hand() -> None:
    val = [0.6, 0.65, 0.7, 0.68, 0.72, 0.71, 0.71, 0.73]
    emissions = [1.0, 2.1, 3.0, 4.2, 5.0, 6.1, 7.0, 8.3]
    for config in (AnGesConfig(), AnGesConfig(alpha=0.3, beta=0.8, warmup=5), PatienceConfig(patience=2)):
        rule = build_rule(config, MAX)
        expected = None
        for epoch, (m, e) in enumerate(zip(val, emissions, strict=True), start=1):
            if rule.update(EpochObservation(epoch, m, e)).should_stop:
                expected = epoch
                break
        stopped, decisions = replay_values(val, emissions, config, MAX)
        assert stopped == expected
        assert len(decisions) == (expected or len(val))


def test_never_stopping_rule_ends_at_the_budget_and_censoring() -> None:
    c = curve([0.5, 0.6, 0.7, 0.8])
    full = replay(c, FullBudgetConfig())
    assert (full.stop_epoch, full.triggered, full.censored, full.reason) == (4, False, False, "never stopped")
    truncated = curve([0.5, 0.6, 0.7, 0.8], budget=10)  # a live run that stopped at 4 by another rule
    assert replay(truncated, PatienceConfig(patience=3)).censored
    assert not replay(truncated, PatienceConfig(patience=3)).triggered


def test_patience_ties_are_not_improvements() -> None:
    c = curve([0.8, 0.8, 0.8, 0.9])
    assert replay(c, PatienceConfig(patience=2)).stop_epoch == 3
    assert replay(c, PatienceConfig(patience=3)).stop_epoch == 4 and not replay(c, PatienceConfig(patience=3)).triggered


def test_nan_metric_stops_or_is_skipped_as_configured() -> None:
    c = curve([0.5, 0.6, NAN, 0.7, 0.8], test=[0.5, 0.6, 0.1, 0.7, 0.8])
    stopped = replay(c, AnGesConfig())
    assert stopped.stop_epoch == 3 and stopped.triggered and math.isnan(stopped.val_metric)
    assert stopped.decisions[-1].phase.value == "non_finite"
    skipping = replay(c, AnGesConfig(on_non_finite_metric="skip"))  # type: ignore[arg-type]
    assert not skipping.triggered and skipping.stop_epoch == 5
    assert replay(c, FullBudgetConfig()).stop_epoch == 3  # full budget also stops on NaN by default


def test_nan_emissions_leave_the_aer_undefined() -> None:
    c = curve([0.5, 0.6, 0.6, 0.7], [1.0, NAN, 3.0, 4.0])
    result = replay(c, AnGesConfig())
    assert result.decisions[1].aer is None and result.decisions[2].aer is None  # both neighbours of the NaN
    assert not result.triggered


def test_replay_values_length_mismatch() -> None:
    with pytest.raises(ValueError, match="epochs"):
        replay_values([0.5, 0.6], [1.0], AnGesConfig(), MAX)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("anges", AnGesConfig()),
        ("anges:alpha=0.5,beta=0.1,warmup=4", AnGesConfig(alpha=0.5, beta=0.1, warmup=4)),
        ("patience:patience=3, min_delta=0.01", PatienceConfig(patience=3, min_delta=0.01)),
        ("none", FullBudgetConfig()),
        ("anges_a0.9_b0.2_w3", AnGesConfig()),
        ("patience_p5_d0.0", PatienceConfig(patience=5)),
        ("anges_a1.0_b0.0_w0_eps1e-05_nanskip", AnGesConfig(alpha=1, beta=0, warmup=0, epsilon=1e-5,
                                                            on_non_finite_metric="skip")),  # type: ignore[arg-type]
        ("none_nanskip", FullBudgetConfig(on_non_finite_metric="skip")),  # type: ignore[arg-type]
    ],
)  # fmt: skip
def test_parse_rule(spec: str, expected: object) -> None:
    assert parse_rule(spec) == expected


@pytest.mark.parametrize("spec", ["anges:alpha", "anges:alpha=2", "patience:wait=3", "ges", "anges:beta=x"])
def test_parse_rule_errors_name_the_forms(spec: str) -> None:
    with pytest.raises(RuleSpecError, match="use 'anges'"):
        parse_rule(spec)


configs = st.one_of(
    st.builds(
        AnGesConfig,
        alpha=st.floats(0, 1),
        beta=st.floats(0, 5),
        warmup=st.integers(0, 10),
        epsilon=st.sampled_from([1e-6, 1e-5, 0.5]),
        on_non_finite_metric=st.sampled_from(["stop", "skip"]),
    ),
    st.builds(PatienceConfig, patience=st.integers(1, 20), min_delta=st.floats(0, 1)),
    st.builds(FullBudgetConfig, on_non_finite_metric=st.sampled_from(["stop", "skip"])),
)


@settings(max_examples=150, deadline=None)
@given(configs)
def test_logged_labels_parse_back_to_their_config(config: AnGesConfig | PatienceConfig | FullBudgetConfig) -> None:
    assert parse_rule(rule_label(config)) == config


def test_curve_from_record_orders_epochs_and_stops_at_gaps() -> None:
    history = [
        {"_step": 0, "epoch": 2, "val/rmse": 1.5, "test/rmse": 1.6, "emissions/cumulative_kg": 2.0},
        {"_step": 1, "epoch": 1, "val/rmse": 2.0, "test/rmse": None, "emissions/cumulative_kg": 1.0},
        {"_step": 2, "epoch": 4, "val/rmse": 1.0, "test/rmse": 1.0, "emissions/cumulative_kg": 4.0},
        {"_step": 3, "note": "no epoch"},
    ]
    record = RunRecord("r1", "offline", "/x", "finished", {"optim": {"max_epochs": 4}}, {"metric": "rmse"}, history)
    c = curve_from_record(record)
    assert c.val == (2.0, 1.5) and c.emissions_kg == (1.0, 2.0) and math.isnan(c.test[0])
    assert c.direction is MIN and c.budget == 4 and not c.complete
    with pytest.raises(CurveError, match="no known metric"):
        curve_from_record(RunRecord("r2", "offline", "/x", "finished", {}, {}, []))
    with pytest.raises(CurveError, match="no per-epoch history"):
        curve_from_record(RunRecord("r3", "offline", "/x", "finished", {}, {"metric": "roc_auc"}, []))
