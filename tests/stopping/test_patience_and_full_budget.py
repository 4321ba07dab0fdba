"""Patience early stopping, the full-budget ("none") rule, and the pydantic config layer that builds rules."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import pytest
from pydantic import TypeAdapter, ValidationError

from greenft.stopping import (
    AnGes,
    AnGesConfig,
    EpochObservation,
    FullBudget,
    FullBudgetConfig,
    MetricDirection,
    NonFiniteMetricPolicy,
    Patience,
    PatienceConfig,
    Phase,
    StopDecision,
    StoppingConfig,
    StoppingRule,
    build_rule,
    rule_label,
)

MAX = MetricDirection.MAXIMIZE
MIN = MetricDirection.MINIMIZE
ADAPTER: TypeAdapter = TypeAdapter(StoppingConfig)


def feed(rule: StoppingRule, metrics: Sequence[float], emissions: Sequence[float] | None = None, start: int = 1):
    if emissions is None:
        emissions = [float(i) for i in range(start, start + len(metrics))]
    decisions: list[StopDecision] = []
    for offset, (m, e) in enumerate(zip(metrics, emissions, strict=True)):
        d = rule.update(EpochObservation(start + offset, m, e))
        decisions.append(d)
        if d.should_stop:
            break
    return decisions


# ------------------------------------------------------------------------------------------------------ patience

# ROC-AUC, patience 2, min_delta 0.01:
#   e1 0.800 best; e2 0.805 (not > 0.81) wait 1; e3 0.815 (> 0.81) best, wait 0;
#   e4 0.820 (not > 0.825) wait 1; e5 0.824 (not > 0.825) wait 2 -> STOP at 5
PAT_MAX = [0.800, 0.805, 0.815, 0.820, 0.824, 0.9]


def test_patience_maximise_with_min_delta():
    rule = Patience(MAX, patience=2, min_delta=0.01)
    d = feed(rule, PAT_MAX)
    assert [x.should_stop for x in d] == [False, False, False, False, True]
    assert d[0].phase is Phase.FIRST
    assert all(x.phase is Phase.ACTIVE for x in d[1:])
    assert [x.reason for x in d[1:4]] == ["no improvement for 1/2 epochs", "new best", "no improvement for 1/2 epochs"]
    assert rule.best == 0.815 and rule.best_epoch == 3 and rule.wait == 2
    assert rule.stopped_epoch == 5
    assert "best 0.815 at 3" in d[-1].reason
    # the AER terms are reported too: e2 is +0.625 % (0.005/0.8) on +100 % emissions (1 -> 2 kg)
    assert d[1].delta_perf_pct == pytest.approx(0.625)
    assert d[1].delta_emis_pct == pytest.approx(100.0)
    assert d[1].aer == pytest.approx(0.00625)


def test_patience_minimise_with_min_delta_and_exact_tie():
    # RMSE, patience 3, min_delta 0.25 (all values dyadic, so every comparison is exact):
    #   e1 3.0 best; e2 2.875 (not < 2.75) wait 1; e3 2.5 (< 2.75) best, wait 0;
    #   e4 2.25 (not < 2.25: an exact tie is no improvement) wait 1; e5 2.0 (< 2.25) best, wait 0;
    #   e6 1.875 wait 1; e7 1.8125 wait 2; e8 1.75 (not < 1.75) wait 3 -> STOP at 8
    rule = Patience(MIN, patience=3, min_delta=0.25)
    d = feed(rule, [3.0, 2.875, 2.5, 2.25, 2.0, 1.875, 1.8125, 1.75, 1.0])
    assert rule.stopped_epoch == 8
    assert [x.reason == "new best" for x in d[1:]] == [False, True, False, True, False, False, False]
    assert rule.best == 2.0 and rule.best_epoch == 5


def test_patience_improvements_are_measured_from_the_best_not_the_previous_epoch():
    # maximise, patience 2, min_delta 0: 0.9 best; 0.5 wait 1; 0.6 (better than 0.5, not than 0.9) wait 2 -> stop
    rule = Patience(MAX, patience=2)
    feed(rule, [0.9, 0.5, 0.6, 0.95])
    assert rule.stopped_epoch == 3


def test_patience_zero_min_delta_equal_value_is_no_improvement():
    rule = Patience(MIN, patience=1)
    d = feed(rule, [1.0, 0.5, 0.5])
    assert rule.stopped_epoch == 3
    assert d[1].reason == "new best"


def test_patience_boundary_is_strict_in_both_directions():
    # min_delta 0.5: beating 1.0 needs > 1.5 (max) or < 0.5 (min); exactly 1.5 / 0.5 do not count
    r = Patience(MAX, patience=1, min_delta=0.5)
    assert feed(r, [1.0, 1.5])[-1].should_stop
    r = Patience(MAX, patience=1, min_delta=0.5)
    assert not feed(r, [1.0, 1.5000001])[-1].should_stop
    r = Patience(MIN, patience=1, min_delta=0.5)
    assert feed(r, [1.0, 0.5])[-1].should_stop
    r = Patience(MIN, patience=1, min_delta=0.5)
    assert not feed(r, [1.0, 0.4999999])[-1].should_stop


def test_patience_does_not_depend_on_emissions_or_undefined_aer():
    # zero / negative / NaN emission deltas make the AER undefined, patience still counts (patience 2)
    rule = Patience(MAX, patience=2)
    d = feed(rule, [0.7, 0.6, 0.65, 0.8], [1.0, 1.0, 0.5, math.nan])
    assert rule.stopped_epoch == 3
    assert d[1].aer is None and d[1].phase is Phase.ACTIVE


def test_patience_non_finite_metric_stops_by_default():
    rule = Patience(MAX, patience=5)
    d = feed(rule, [0.7, 0.8, math.nan])
    assert d[-1].should_stop and d[-1].phase is Phase.NON_FINITE and rule.stopped_epoch == 3
    with pytest.raises(RuntimeError):
        rule.update(EpochObservation(4, 0.9, 4.0))


def test_patience_skip_does_not_count_non_finite_epochs():
    # patience 2, SKIP: 0.8 best; NaN skipped (wait stays 0); 0.7 wait 1; inf skipped; 0.75 wait 2 -> stop at 5
    rule = Patience(MAX, patience=2, on_non_finite_metric=NonFiniteMetricPolicy.SKIP)
    d = feed(rule, [0.8, math.nan, 0.7, math.inf, 0.75])
    assert [x.phase for x in d] == [Phase.FIRST, Phase.NON_FINITE, Phase.ACTIVE, Phase.NON_FINITE, Phase.ACTIVE]
    assert rule.stopped_epoch == 5


def test_patience_skip_first_epoch():
    rule = Patience(MIN, patience=1, on_non_finite_metric="skip")
    d = feed(rule, [math.nan, 1.0, 0.9, 0.95])
    assert d[1].phase is Phase.FIRST and rule.best == 0.9 and rule.stopped_epoch == 4


@pytest.mark.parametrize(("kwargs", "match"), [({"patience": 0}, "patience"), ({"min_delta": -0.1}, "min_delta")])
def test_patience_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Patience(MAX, **kwargs)


@pytest.mark.parametrize("split", [1, 2, 3, 4])
def test_patience_state_round_trip(split: int):
    whole = [x.as_dict() for x in feed(Patience(MAX, patience=2, min_delta=0.01), PAT_MAX)]
    first = Patience(MAX, patience=2, min_delta=0.01)
    head = feed(first, PAT_MAX[:split])
    state = json.loads(json.dumps(first.state_dict()))
    assert state["name"] == "patience" and state["patience"] == 2 and state["min_delta"] == 0.01
    resumed = Patience(MIN, patience=9, min_delta=0.5)
    resumed.load_state_dict(state)
    tail = feed(resumed, PAT_MAX[split:], [float(i) for i in range(split + 1, len(PAT_MAX) + 1)], start=split + 1)
    assert [x.as_dict() for x in head + tail] == whole
    assert resumed.stopped_epoch == 5 and resumed.best_epoch == 3


def test_patience_state_contents():
    rule = Patience(MIN, patience=3)
    feed(rule, [1.0, 0.8, 0.9])
    state = rule.state_dict()
    assert json.loads(json.dumps(state)) == state
    assert (state["best"], state["best_epoch"], state["wait"], state["last_epoch"]) == (0.8, 2, 1, 3)
    with pytest.raises(ValueError, match="cannot be loaded"):
        AnGes(MIN).load_state_dict(state)


# --------------------------------------------------------------------------------------------------- full budget


def test_full_budget_never_stops_on_finite_metrics_and_reports_aer():
    # a collapsing metric, flat epochs and broken emissions: never a stop
    rule = FullBudget(MAX)
    metrics = [0.8, 0.4, 0.4, 0.1, 0.0, 0.0, 0.9]
    emissions = [1.0, 2.0, 2.0, 1.0, 3.0, math.nan, 8.0]
    d = feed(rule, metrics, emissions)
    assert len(d) == 7 and not rule.stopped
    assert all(x.reason == "full budget: never stops" for x in d[1:])
    # e2: 0.8 -> 0.4 = -50 %, 1 -> 2 = +100 % -> AER -0.5
    assert (d[1].delta_perf_pct, d[1].delta_emis_pct, d[1].aer) == (
        pytest.approx(-50.0),
        pytest.approx(100.0),
        pytest.approx(-0.5),
    )
    assert d[1].phase is Phase.ACTIVE
    # e3 zero emission delta, e4 negative delta, e6 NaN reading, e7 NaN base: undefined
    assert [x.phase for x in d] == [
        Phase.FIRST,
        Phase.ACTIVE,
        Phase.UNDEFINED,
        Phase.UNDEFINED,
        Phase.ACTIVE,
        Phase.UNDEFINED,
        Phase.UNDEFINED,
    ]
    assert all(x.ema is None and x.threshold is None for x in d)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_full_budget_stops_on_non_finite_metric_by_default(bad: float):
    rule = FullBudget(MIN)
    d = feed(rule, [1.0, 0.9, bad, 0.8])
    assert len(d) == 3 and d[-1].should_stop and d[-1].phase is Phase.NON_FINITE
    assert rule.stopped_epoch == 3


def test_full_budget_skip_policy_continues():
    rule = FullBudget(MAX, NonFiniteMetricPolicy.SKIP)
    d = feed(rule, [0.5, math.nan, 0.55], [1.0, 1.5, 2.0])
    assert not rule.stopped and len(d) == 3
    # e3 compared with e1: +10 % / +100 %
    assert d[2].aer == pytest.approx(0.1)


def test_full_budget_state_round_trip_and_name():
    rule = FullBudget(MAX)
    feed(rule, [0.5, 0.6])
    assert rule.name == "none"
    other = FullBudget(MIN, NonFiniteMetricPolicy.SKIP)
    other.load_state_dict(json.loads(json.dumps(rule.state_dict())))
    assert other.state_dict() == rule.state_dict()
    assert other.direction is MAX and other.on_non_finite_metric is NonFiniteMetricPolicy.STOP
    assert other.update(EpochObservation(3, 0.66, 3.0)).aer == pytest.approx(0.2)  # +10 % / +50 %


# -------------------------------------------------------------------------------------------------------- config


def test_config_defaults_are_the_drafts():
    cfg = AnGesConfig()
    assert (cfg.rule, cfg.alpha, cfg.beta, cfg.warmup, cfg.epsilon) == ("anges", 0.9, 0.2, 3, 1e-6)
    assert cfg.on_non_finite_metric is NonFiniteMetricPolicy.STOP
    pat = PatienceConfig()
    assert (pat.rule, pat.patience, pat.min_delta) == ("patience", 5, 0.0)
    assert FullBudgetConfig().rule == "none"


@pytest.mark.parametrize(
    ("data", "cls"),
    [
        ({"rule": "anges"}, AnGesConfig),
        ({"rule": "anges", "alpha": 0.5, "beta": 0.1, "warmup": 0}, AnGesConfig),
        ({"rule": "patience", "patience": 3, "min_delta": 0.001}, PatienceConfig),
        ({"rule": "none"}, FullBudgetConfig),
        ({"rule": "none", "on_non_finite_metric": "skip"}, FullBudgetConfig),
    ],
)
def test_config_union_is_discriminated_by_rule(data, cls):
    cfg = ADAPTER.validate_python(data)
    assert type(cfg) is cls
    assert ADAPTER.validate_json(json.dumps(data)) == cfg
    # dump -> validate round-trip
    assert ADAPTER.validate_python(cfg.model_dump(mode="json")) == cfg


@pytest.mark.parametrize(
    "data",
    [
        {"rule": "anges", "alpha": -0.1},
        {"rule": "anges", "alpha": 1.5},
        {"rule": "anges", "alpha": math.nan},
        {"rule": "anges", "beta": -0.01},
        {"rule": "anges", "beta": math.nan},
        {"rule": "anges", "warmup": -1},
        {"rule": "anges", "warmup": 2.5},
        {"rule": "anges", "epsilon": 0.0},
        {"rule": "anges", "epsilon": math.nan},
        {"rule": "patience", "patience": 0},
        {"rule": "patience", "min_delta": -0.1},
        {"rule": "patience", "min_delta": math.nan},
        {"rule": "anges", "on_non_finite_metric": "ignore"},
        {"rule": "early"},
        {"alpha": 0.9},  # no discriminator
    ],
)
def test_config_validation_errors(data):
    with pytest.raises(ValidationError):
        ADAPTER.validate_python(data)


@pytest.mark.parametrize(
    "data",
    [
        {"rule": "anges", "patience": 5},
        {"rule": "patience", "alpha": 0.9},
        {"rule": "none", "warmup": 3},
        {"rule": "anges", "W": 3},
    ],
)
def test_config_extra_fields_are_forbidden(data):
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        ADAPTER.validate_python(data)


def test_config_is_frozen():
    cfg = AnGesConfig()
    with pytest.raises(ValidationError):
        cfg.alpha = 0.5  # type: ignore[misc]


def test_config_direct_construction_validates_too():
    with pytest.raises(ValidationError):
        AnGesConfig(alpha=2.0)
    with pytest.raises(ValidationError):
        PatienceConfig(rule="anges")  # type: ignore[arg-type]


def test_build_rule_anges():
    cfg = AnGesConfig(alpha=0.5, beta=0.1, warmup=4, epsilon=1e-3, on_non_finite_metric="skip")
    rule = build_rule(cfg, MIN)
    assert type(rule) is AnGes
    assert (rule.alpha, rule.beta, rule.warmup, rule.epsilon) == (0.5, 0.1, 4, 1e-3)
    assert rule.direction is MIN and rule.on_non_finite_metric is NonFiniteMetricPolicy.SKIP
    assert rule.last_epoch == 0 and not rule.stopped


def test_build_rule_patience_and_none():
    pat = build_rule(PatienceConfig(patience=7, min_delta=0.002), MAX)
    assert type(pat) is Patience and (pat.patience, pat.min_delta, pat.direction) == (7, 0.002, MAX)
    assert pat.on_non_finite_metric is NonFiniteMetricPolicy.STOP
    none = build_rule(FullBudgetConfig(on_non_finite_metric="skip"), MIN)
    assert type(none) is FullBudget and none.direction is MIN
    assert none.on_non_finite_metric is NonFiniteMetricPolicy.SKIP


def test_build_rule_gives_fresh_rules():
    cfg = AnGesConfig()
    a, b = build_rule(cfg, MAX), build_rule(cfg, MAX)
    assert a is not b
    a.update(EpochObservation(1, 0.5, 1.0))
    assert b.last_epoch == 0


def test_rule_label():
    assert rule_label(AnGesConfig()) == "anges_a0.9_b0.2_w3"
    assert rule_label(AnGesConfig(alpha=0.5, beta=0.05, warmup=0)) == "anges_a0.5_b0.05_w0"
    assert rule_label(PatienceConfig()) == "patience_p5_d0.0"
    assert rule_label(PatienceConfig(patience=10, min_delta=0.001)) == "patience_p10_d0.001"
    assert rule_label(FullBudgetConfig()) == "none"


def test_rule_label_tells_apart_every_parameter_that_changes_the_rule():
    variants = [
        AnGesConfig(),
        AnGesConfig(epsilon=1e-3),
        AnGesConfig(on_non_finite_metric="skip"),
        AnGesConfig(alpha=0.9000001),
    ]
    labels = [rule_label(v) for v in variants]
    assert len(set(labels)) == len(variants), labels
    assert labels[1] == "anges_a0.9_b0.2_w3_eps0.001" and labels[2].endswith("_nanskip")
    assert rule_label(FullBudgetConfig(on_non_finite_metric="skip")) == "none_nanskip"


@pytest.mark.parametrize("field", ["alpha", "beta", "epsilon"])
def test_config_rejects_non_finite_numbers(field):
    with pytest.raises(ValidationError):
        AnGesConfig(**{field: float("inf")})
    with pytest.raises(ValidationError):
        AnGesConfig(**{field: float("nan")})


def test_rule_labels_differ_across_alpha_beta_warmup():
    labels = {
        rule_label(AnGesConfig(alpha=a, beta=b, warmup=w)) for a in (0.5, 0.9) for b in (0.1, 0.2) for w in (0, 3)
    }
    assert len(labels) == 8
