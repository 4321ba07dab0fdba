"""The rule table: a rule registered in one place (here, a toy rule defined in this test only) is usable by name,
label, config and factory everywhere greenft takes a rule: trial configs, sweep parameters, replay."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Literal

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from greenft.agents import ConfigError, TrialConfig
from greenft.agents.overrides import apply_overrides, parse_assignments
from greenft.analysis.replay import parse_rule, replay_values
from greenft.stopping import (
    RULES,
    AerTerms,
    AnGesConfig,
    AnGesPPConfig,
    Co2BudgetConfig,
    EpochObservation,
    FullBudgetConfig,
    LabelPart,
    MetricDirection,
    NonFiniteMetricPolicy,
    PatienceConfig,
    PatiencePPConfig,
    Phase,
    RuleConfig,
    RuleSpec,
    StopDecision,
    StoppingConfig,
    StoppingRule,
    build_rule,
    parse_label,
    rule_label,
)
from greenft.sweeps import trial_config_from_sweep


class AfterConfig(RuleConfig):
    rule: Literal["after"] = "after"
    stop_epoch: int = Field(4, ge=2, description="the epoch the run ends at")


class StopAfter(StoppingRule):
    """A toy rule: stop at a fixed epoch."""

    name = "after"

    def __init__(
        self,
        direction: MetricDirection,
        stop_epoch: int = 4,
        on_non_finite_metric: NonFiniteMetricPolicy = NonFiniteMetricPolicy.STOP,
    ) -> None:
        super().__init__(direction, on_non_finite_metric)
        self.stop_epoch = stop_epoch

    def _decide(self, obs: EpochObservation, terms: AerTerms) -> StopDecision:
        done = obs.epoch >= self.stop_epoch
        return StopDecision(obs.epoch, done, f"epoch {obs.epoch} of {self.stop_epoch}", Phase.ACTIVE, aer=terms.aer)


@pytest.fixture
def toy_rule() -> Iterator[RuleSpec]:
    """The one place the toy rule is added: a row in the table (removed again after the test)."""
    spec = RULES.register(RuleSpec(StopAfter, AfterConfig, label=(LabelPart("e", "stop_epoch"),)))
    yield spec
    RULES.unregister("after")


def test_the_built_in_rules_are_the_table_in_order() -> None:
    assert RULES.names() == ("anges", "anges-pp", "patience", "patience-pp", "none", "co2budget")
    configs = [AnGesConfig, AnGesPPConfig, PatienceConfig, PatiencePPConfig, FullBudgetConfig, Co2BudgetConfig]
    assert [spec.config for spec in RULES] == configs
    assert RULES["patience"].parameters == ("patience", "min_delta")


def test_a_registered_rule_is_known_by_name_label_config_and_factory(toy_rule: RuleSpec) -> None:
    assert RULES.names()[-1] == "after" and RULES["after"] is toy_rule
    config = TypeAdapter(StoppingConfig).validate_python({"rule": "after", "stop_epoch": 2})
    assert config == AfterConfig(stop_epoch=2)
    assert rule_label(config) == "after_e2" and parse_label("after_e2") == config
    assert rule_label(AfterConfig(on_non_finite_metric="skip")) == "after_e4_nanskip"
    assert parse_label("after_e4_nanskip") == AfterConfig(on_non_finite_metric="skip")
    rule = build_rule(config, MetricDirection.MAXIMIZE)
    assert isinstance(rule, StopAfter)
    decisions = [rule.update(EpochObservation(epoch, 0.5, float(epoch))) for epoch in (1, 2)]
    assert [d.should_stop for d in decisions] == [False, True]
    with pytest.raises(ValidationError, match="greater than or equal to 2"):
        TypeAdapter(StoppingConfig).validate_python({"rule": "after", "stop_epoch": 1})


def test_a_registered_rule_works_in_trial_configs_sweeps_and_replay(toy_rule: RuleSpec) -> None:
    raw = {"stopping": {"rule": "after", "stop_epoch": 3}, "shadow_rules": [{"rule": "none"}]}
    trial = TrialConfig.model_validate(raw)
    assert trial.stopping == AfterConfig(stop_epoch=3) and trial.shadow_rules == [FullBudgetConfig()]
    dumped = json.loads(trial.model_dump_json())
    assert dumped["stopping"] == {"on_non_finite_metric": "stop", "monitor": "metric", "rule": "after", "stop_epoch": 3}
    assert TrialConfig.model_validate(dumped) == trial
    # a sweep names the rule's parameter alone, flat or dotted; the rule it belongs to is meant
    assert trial_config_from_sweep({"stop_epoch": 2}).stopping == AfterConfig(stop_epoch=2)
    assert trial_config_from_sweep({"stopping.stop_epoch": 2}).stopping == AfterConfig(stop_epoch=2)
    assert trial_config_from_sweep({"rule": "after"}, base=trial).stopping == AfterConfig(stop_epoch=3)
    # greenft train --set reaches the rule's fields through the same merge
    assigned = parse_assignments(["stopping.stop_epoch=2"])
    assert apply_overrides(None, assigned, "--set").stopping == AfterConfig(stop_epoch=2)
    with pytest.raises(ConfigError, match=r"stopping\.after\.alpha"):
        trial_config_from_sweep({"rule": "after", "alpha": 0.5})
    # replay reads the label back through the table
    stop, _ = replay_values([0.5, 0.6, 0.7], [1.0, 2.0, 3.0], parse_rule("after_e2"), MetricDirection.MAXIMIZE)
    assert stop == 2


def test_after_unregistering_the_rule_is_unknown_again(toy_rule: RuleSpec) -> None:
    RULES.unregister("after")
    try:
        with pytest.raises(ValidationError, match="'anges', 'anges-pp', 'patience', 'patience-pp', 'none'"):
            TypeAdapter(StoppingConfig).validate_python({"rule": "after"})
        with pytest.raises(ValueError, match="not a stopping-rule label"):
            parse_label("after_e2")
    finally:
        RULES.register(toy_rule)


def test_rows_that_cannot_work_are_refused_when_registered() -> None:
    class Untagged(RuleConfig):
        stop_epoch: int = 4

    class WrongTag(AfterConfig):
        rule: Literal["before"] = "before"  # type: ignore[assignment]

    class Unbuildable(AfterConfig):
        extra_knob: float = 1.0

    with pytest.raises(ValueError, match="needs a field `rule"):
        RULES.register(RuleSpec(StopAfter, Untagged))
    with pytest.raises(ValueError, match="needs a field `rule"):
        RULES.register(RuleSpec(StopAfter, WrongTag))
    with pytest.raises(ValueError, match="does not accept the config field"):
        RULES.register(RuleSpec(StopAfter, Unbuildable))
    with pytest.raises(ValueError, match="has no field 'epochs'"):
        RULES.register(RuleSpec(StopAfter, AfterConfig, label=(LabelPart("e", "epochs"),)))
    with pytest.raises(ValueError, match="already registered"):
        RULES.register(RULES["anges"])
    assert "after" not in RULES


@pytest.mark.parametrize(
    "config",
    [
        AnGesConfig(),
        AnGesConfig(alpha=0.9000001, beta=0.0, warmup=0),
        AnGesConfig(epsilon=1e-3, on_non_finite_metric="skip"),
        PatienceConfig(patience=10, min_delta=0.001),
        FullBudgetConfig(on_non_finite_metric="skip"),
        FullBudgetConfig(),
    ],
)
def test_labels_parse_back_to_their_config(config: RuleConfig) -> None:
    assert parse_label(rule_label(config)) == config


@pytest.mark.parametrize("text", ["anges", "anges_a0.9_b0.2", "anges_a0.9_b0.2_w3_x1", "patience_d0.1", "toy_e2"])
def test_text_that_is_no_label_is_refused(text: str) -> None:
    assert RULES.label_fields(text) is None
    with pytest.raises(ValueError, match="not a stopping-rule label"):
        parse_label(text)


def test_which_rule_a_parameter_belongs_to() -> None:
    assert RULES.owner_of(["alpha", "warmup"]) == "anges"
    assert RULES.owner_of(["min_delta"]) == "patience"
    assert RULES.owner_of(["on_non_finite_metric"]) is None  # every rule has it
    assert RULES.owner_of(["alpha", "patience"]) is None  # two rules: validation names the stray field
