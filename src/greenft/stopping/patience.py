"""Classic patience early stopping, the baseline AN-GES is compared with.

Stops when the validation metric has not improved on its best value by more than ``min_delta`` (absolute,
in the metric's units) for ``patience`` consecutive epochs, as Lightning's ``EarlyStopping`` does. It also
reports the epoch's AER terms so that every rule's log has the same columns.
"""

from __future__ import annotations

import math
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
from greenft.stopping.registry import RULES, LabelPart, RuleSpec


class PatienceConfig(RuleConfig):
    rule: Literal["patience"] = "patience"
    patience: int = Field(5, ge=1, description="epochs without improvement before stopping")
    min_delta: float = Field(0.0, ge=0.0, description="absolute improvement that counts, in metric units")


_DEFAULTS = PatienceConfig()


class Patience(StoppingRule):
    """Patience early stopping; the constructor's defaults are :class:`PatienceConfig`'s."""

    name = "patience"

    def __init__(
        self,
        direction: MetricDirection,
        patience: int = _DEFAULTS.patience,
        min_delta: float = _DEFAULTS.min_delta,
        on_non_finite_metric: NonFiniteMetricPolicy = _DEFAULTS.on_non_finite_metric,
    ) -> None:
        super().__init__(direction, on_non_finite_metric)
        if patience < 1:
            raise ValueError(f"patience must be >= 1, got {patience}")
        if not (math.isfinite(min_delta) and min_delta >= 0.0):
            raise ValueError(f"min_delta must be finite and >= 0, got {min_delta}")
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0

    def _improves(self, metric: float) -> bool:
        if self.best is None:
            return True
        if self.direction is MetricDirection.MAXIMIZE:
            return metric > self.best + self.min_delta
        return metric < self.best - self.min_delta

    def _track(self, obs: EpochObservation) -> bool:
        if self._improves(obs.metric):
            self.best, self.best_epoch, self.wait = obs.metric, obs.epoch, 0
            return True
        self.wait += 1
        return False

    def _first(self, obs: EpochObservation) -> StopDecision:
        self._track(obs)
        return StopDecision(obs.epoch, False, "first epoch: best so far", Phase.FIRST)

    def _decide(self, obs: EpochObservation, terms: AerTerms) -> StopDecision:
        numbers: dict[str, Any] = {
            "delta_perf_pct": terms.delta_perf_pct,
            "delta_emis_pct": terms.delta_emis_pct,
            "aer": terms.aer,
        }
        if self._track(obs):
            return StopDecision(obs.epoch, False, "new best", Phase.ACTIVE, **numbers)
        if self.wait >= self.patience:
            reason = (
                f"no improvement > {self.min_delta} for {self.wait} epochs (best {self.best:.6g} at {self.best_epoch})"
            )
            return StopDecision(obs.epoch, True, reason, Phase.ACTIVE, **numbers)
        reason = f"no improvement for {self.wait}/{self.patience} epochs"
        return StopDecision(obs.epoch, False, reason, Phase.ACTIVE, **numbers)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.update(
            patience=self.patience, min_delta=self.min_delta, best=self.best, best_epoch=self.best_epoch, wait=self.wait
        )
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.patience = int(state["patience"])
        self.min_delta = float(state["min_delta"])
        self.best = state["best"]
        self.best_epoch = state["best_epoch"]
        self.wait = int(state["wait"])


RULES.register(RuleSpec(Patience, PatienceConfig, label=(LabelPart("p", "patience"), LabelPart("d", "min_delta"))))
