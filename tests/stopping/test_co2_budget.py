"""The co2budget rule on hand-computed cumulative emissions, its label, config, replay and resume.

Series: E = 3, 4, 5, 6 kg (epoch 1 carries 2 kg of start-up, then 1 kg per epoch). The rule's per-epoch
estimate is E_1 at epoch 1 and (E_i - E_1)/(i - 1) later, so it expects 3, 1, 1, 1 kg for the next epoch and
compares E_i + estimate = 6, 5, 6, 7 kg with the budget (worked out by hand).
"""

from __future__ import annotations

import json
import math

import pytest
from pydantic import TypeAdapter, ValidationError

from greenft.agents import ConfigError, TrialConfig
from greenft.agents.overrides import apply_overrides
from greenft.analysis.replay import parse_rule, replay_values
from greenft.stopping import (
    Co2Budget,
    Co2BudgetConfig,
    EpochObservation,
    MetricDirection,
    NonFiniteMetricPolicy,
    Phase,
    StopDecision,
    StoppingConfig,
    build_rule,
    parse_label,
    rule_label,
)

MAX, MIN = MetricDirection.MAXIMIZE, MetricDirection.MINIMIZE
E = [3.0, 4.0, 5.0, 6.0]
AUC = [0.5, 0.6, 0.7, 0.8]


def feed(rule: Co2Budget, metrics: list[float], emissions: list[float], start: int = 1) -> list[StopDecision]:
    out = []
    for epoch, (m, e) in enumerate(zip(metrics, emissions, strict=True), start=start):
        out.append(rule.update(EpochObservation(epoch, m, e)))
        if out[-1].should_stop:
            break
    return out


@pytest.mark.parametrize(
    ("budget", "stop_epoch"),
    [
        (5.5, 1),  # epoch 1: 3 + 3 = 6 > 5.5
        (6.0, 4),  # 6, 5, 6 are not > 6 (a tie continues); epoch 4: 6 + 1 = 7 > 6
        (6.5, 4),  # 6, 5, 6 <= 6.5; 7 > 6.5
        (7.0, None),  # 7 is not > 7: the budget of 4 epochs ends first
        (2.0, 1),  # E_1 alone is over the budget
    ],
)
def test_stops_when_spent_plus_one_more_epoch_would_exceed_the_budget(budget: float, stop_epoch: int | None) -> None:
    decisions = feed(Co2Budget(MAX, budget_kg=budget), AUC, E)
    stops = [d.epoch for d in decisions if d.should_stop]
    assert stops == ([] if stop_epoch is None else [stop_epoch])
    # the metric plays no part: a minimised metric, or a worsening one, gives the same stops
    assert [d.should_stop for d in feed(Co2Budget(MIN, budget_kg=budget), AUC, E)] == [d.should_stop for d in decisions]
    assert [d.should_stop for d in feed(Co2Budget(MAX, budget_kg=budget), AUC[::-1], E)] == [
        d.should_stop for d in decisions
    ]


def test_the_reason_gives_the_numbers() -> None:
    decisions = feed(Co2Budget(MAX, budget_kg=6.5), AUC, E)
    assert decisions[1].reason == "spent 4 kg + next epoch ~1 kg = 5 kg <= budget 6.5 kg"
    assert decisions[-1].reason == "spent 6 kg + next epoch ~1 kg = 7 kg > budget 6.5 kg"
    assert all(d.phase is Phase.ACTIVE for d in decisions)
    assert decisions[1].aer is not None  # the AER terms are reported like every rule's (E: +33.3 %, AUC: +20 %)
    assert decisions[1].aer == pytest.approx(20.0 / (100.0 / 3.0))


def test_a_skipped_metric_still_counts_its_emissions() -> None:
    # E = 3, 4, 5, budget 6. Counting epoch 2: epoch 3 expects (5-3)/2 = 1 -> 6, not > 6: continue.
    # Had the skipped epoch been dropped, the rate would be (5-3)/1 = 2 -> 7 > 6: a stop.
    rule = Co2Budget(MAX, budget_kg=6.0, on_non_finite_metric=NonFiniteMetricPolicy.SKIP)
    decisions = feed(rule, [0.5, math.nan, 0.7], [3.0, 4.0, 5.0])
    assert [d.should_stop for d in decisions] == [False, False, False]
    assert decisions[1].phase is Phase.NON_FINITE and decisions[1].reason.startswith("validation metric is nan;")
    stopping = feed(Co2Budget(MAX, budget_kg=6.0), [0.5, math.nan], [3.0, 4.0])  # the default policy stops
    assert stopping[-1].should_stop and stopping[-1].phase is Phase.NON_FINITE


def test_no_estimate_no_stop() -> None:
    decisions = feed(Co2Budget(MAX, budget_kg=1.0), [0.5, 0.6], [0.5, math.nan])
    assert not decisions[-1].should_stop and decisions[-1].phase is Phase.UNDEFINED
    assert "budget not checked" in decisions[-1].reason


def test_label_round_trip_and_config() -> None:
    config = Co2BudgetConfig(budget_kg=0.05)
    assert rule_label(config) == "co2budget_kg0.05" and parse_label("co2budget_kg0.05") == config
    skip = Co2BudgetConfig(budget_kg=1e-05, on_non_finite_metric="skip")
    assert rule_label(skip) == "co2budget_kg1e-05_nanskip" and parse_label(rule_label(skip)) == skip
    assert parse_rule("co2budget:budget_kg=0.05") == config
    assert TypeAdapter(StoppingConfig).validate_python({"rule": "co2budget", "budget_kg": 0.05}) == config
    for bad in ({}, {"budget_kg": 0.0}, {"budget_kg": -1.0}, {"budget_kg": math.nan}):
        with pytest.raises(ValidationError, match="budget_kg"):
            Co2BudgetConfig.model_validate(bad)
    with pytest.raises(ValueError, match="budget_kg"):
        Co2Budget(MAX, budget_kg=0.0)


def test_the_flat_name_selects_the_rule_and_errors_name_the_field() -> None:
    assert apply_overrides(None, {"budget_kg": 0.05}, "cli").stopping == Co2BudgetConfig(budget_kg=0.05)
    with pytest.raises(ConfigError, match=r"^invalid trial config \(cli\): stopping\.co2budget\.budget_kg = -1\.0: "):
        apply_overrides(None, {"budget_kg": -1.0}, "cli")
    with pytest.raises(ConfigError, match=r"stopping\.co2budget\.budget_kg: Field required"):
        apply_overrides(None, {"rule": "co2budget"}, "cli")
    shadow = TrialConfig.model_validate({"shadow_rules": [{"rule": "co2budget", "budget_kg": 1.0}]})
    assert shadow.shadow_rules == [Co2BudgetConfig(budget_kg=1.0)]


def test_replay_stops_where_the_live_rule_does() -> None:
    stop, decisions = replay_values(AUC, E, Co2BudgetConfig(budget_kg=6.5), MAX)
    assert stop == 4 and decisions[-1].reason.endswith("> budget 6.5 kg")


def test_a_resumed_rule_decides_as_the_uninterrupted_one() -> None:
    first = build_rule(Co2BudgetConfig(budget_kg=6.5), MAX)
    assert isinstance(first, Co2Budget)
    feed(first, AUC[:2], E[:2])
    resumed = Co2Budget(MAX, budget_kg=100.0)
    resumed.load_state_dict(json.loads(json.dumps(first.state_dict())))
    assert resumed.budget_kg == 6.5 and resumed.emissions == E[:2]
    assert feed(resumed, AUC[2:], E[2:], start=3) == feed(Co2Budget(MAX, budget_kg=6.5), AUC, E)[2:]
