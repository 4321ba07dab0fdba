"""The CO2-budget rule: stop before the next epoch would take training's emissions over a fixed budget.

At the end of epoch i, with ``E_i`` the cumulative ``fit`` emissions (what every rule sees) and ``rate_i`` the
forecaster's per-epoch estimate (:func:`greenft.stopping.forecast.per_epoch_increment`: ``E_1`` at epoch 1,
the mean increment of epochs ``2..i`` afterwards), the rule stops when

    E_i + rate_i > budget_kg

What it guarantees: every epoch it let start was *expected* to end within the budget, and the run never
continues once ``E_i`` alone is over it. It cannot promise ``E_stop <= budget_kg``: the rule decides on a
forecast, so an epoch that costs more than the estimate (a slower machine, a noisy power estimate) can still
cross the budget. The metric plays no part, except that a non-finite metric follows ``on_non_finite_metric``
like every rule; a skipped epoch's emissions still count (they were spent).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Literal

from pydantic import Field

from greenft.stopping.aer import AerTerms, MetricDirection
from greenft.stopping.base import (
    EpochObservation,
    NonFiniteMetricPolicy,
    Phase,
    RuleConfig,
    StopDecision,
    StoppingRule,
)
from greenft.stopping.forecast import per_epoch_increment
from greenft.stopping.registry import RULES, LabelPart, RuleSpec


class Co2BudgetConfig(RuleConfig):
    """``budget_kg`` has no default: a budget is the user's decision, never a number greenft could guess."""

    rule: Literal["co2budget"] = "co2budget"
    budget_kg: float = Field(gt=0.0, description="stop before the next epoch would take kg CO2-eq over this")


_DEFAULTS = RuleConfig()


class Co2Budget(StoppingRule):
    """Stops at the first epoch whose spent emissions plus one more epoch's estimate exceed ``budget_kg``."""

    name = "co2budget"

    def __init__(
        self,
        direction: MetricDirection,
        budget_kg: float,
        on_non_finite_metric: NonFiniteMetricPolicy = _DEFAULTS.on_non_finite_metric,
    ) -> None:
        super().__init__(direction, on_non_finite_metric)
        if not (math.isfinite(budget_kg) and budget_kg > 0.0):
            raise ValueError(f"budget_kg must be finite and > 0, got {budget_kg}")
        self.budget_kg = float(budget_kg)
        self.emissions: list[float] = []  # E_1..E_i: every epoch's, whatever its metric

    def _update(self, obs: EpochObservation) -> StopDecision:
        self.emissions.append(obs.cumulative_emissions_kg)
        decision = super()._update(obs)
        return decision if decision.should_stop else self._check_budget(obs, decision)

    def _decide(self, obs: EpochObservation, terms: AerTerms) -> StopDecision:
        """The AER terms, reported like every rule's; the budget check follows in :meth:`_check_budget`."""
        return StopDecision(
            obs.epoch,
            False,
            "",
            Phase.ACTIVE,
            delta_perf_pct=terms.delta_perf_pct,
            delta_emis_pct=terms.delta_emis_pct,
            aer=terms.aer,
        )

    def _check_budget(self, obs: EpochObservation, decision: StopDecision) -> StopDecision:
        spent = obs.cumulative_emissions_kg
        rate = per_epoch_increment(self.emissions)
        skipped = decision.phase is Phase.NON_FINITE  # a skipped metric: say so, then the budget's numbers
        phase, before = (Phase.NON_FINITE, f"{decision.reason}; ") if skipped else (Phase.ACTIVE, "")
        if rate is None or not math.isfinite(spent):
            reason = f"{before}no per-epoch emission estimate (E_{obs.epoch} = {spent!r} kg): budget not checked"
            return replace(decision, should_stop=False, reason=reason, phase=Phase.UNDEFINED)
        expected = spent + rate
        numbers = f"{before}spent {spent:.6g} kg + next epoch ~{rate:.6g} kg = {expected:.6g} kg"
        if expected > self.budget_kg:
            reason = f"{numbers} > budget {self.budget_kg:.6g} kg"
            return replace(decision, should_stop=True, reason=reason, phase=phase)
        return replace(decision, should_stop=False, reason=f"{numbers} <= budget {self.budget_kg:.6g} kg", phase=phase)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.update(budget_kg=self.budget_kg, emissions=list(self.emissions))
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.budget_kg = float(state["budget_kg"])
        self.emissions = [float(e) for e in state["emissions"]]


RULES.register(RuleSpec(Co2Budget, Co2BudgetConfig, label=(LabelPart("kg", "budget_kg"),)))
