"""The "none" rule: never stops, so the run spends its full epoch budget (the reference for savings)."""

from __future__ import annotations

from typing import Literal

from greenft.stopping.aer import AerTerms
from greenft.stopping.base import EpochObservation, Phase, RuleConfig, StopDecision, StoppingRule
from greenft.stopping.registry import RULES, RuleSpec


class FullBudgetConfig(RuleConfig):
    rule: Literal["none"] = "none"


class FullBudget(StoppingRule):
    """Reports the AER terms of every epoch and never stops on them.

    A non-finite metric still follows ``on_non_finite_metric`` (stop by default), because a diverged run is
    not a full-budget measurement worth paying for.
    """

    name = "none"

    def _decide(self, obs: EpochObservation, terms: AerTerms) -> StopDecision:
        return StopDecision(
            obs.epoch,
            False,
            "full budget: never stops",
            Phase.ACTIVE if terms.aer is not None else Phase.UNDEFINED,
            delta_perf_pct=terms.delta_perf_pct,
            delta_emis_pct=terms.delta_emis_pct,
            aer=terms.aer,
        )


RULES.register(RuleSpec(FullBudget, FullBudgetConfig))
