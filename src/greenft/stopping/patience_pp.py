"""``patience-pp``: patience early stopping on an EMA-smoothed signal, beside the classic rule.

Why: patience compares every epoch with the best value so far, so on a noisy validation set one lucky epoch
sets a best that later epochs fail to beat by chance, and the count runs out early. Smoothing the monitored
value first (:func:`greenft.stopping.preprocess.smooth`, ``smoothing`` the weight of the past) makes the best
and the comparisons follow the trend. With ``smoothing = 0`` every decision equals ``patience``'s (a property
test holds it); the AER terms it reports are those of the smoothed value.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Literal

from pydantic import Field

from greenft.stopping.aer import MetricDirection
from greenft.stopping.base import EpochObservation, NonFiniteMetricPolicy, RuleConfig, StopDecision
from greenft.stopping.patience import Patience, PatienceConfig
from greenft.stopping.preprocess import smooth
from greenft.stopping.registry import RULES, LabelPart, RuleSpec

_PATIENCE = PatienceConfig.model_fields


class PatiencePPConfig(RuleConfig):
    """Patience's parameters (same defaults) plus ``smoothing`` (off by default)."""

    rule: Literal["patience-pp"] = "patience-pp"
    patience: int = Field(_PATIENCE["patience"].default, ge=1, description=_PATIENCE["patience"].description)
    min_delta: float = Field(_PATIENCE["min_delta"].default, ge=0.0, description=_PATIENCE["min_delta"].description)
    smoothing: float = Field(0.0, ge=0.0, lt=1.0, description="EMA of the monitored value: weight of the past (0: off)")


_DEFAULTS = PatiencePPConfig()


class PatiencePP(Patience):
    """Patience fed ``s~_i = smoothing * s~_{i-1} + (1 - smoothing) * s_i`` (finite epochs only)."""

    name = "patience-pp"

    def __init__(
        self,
        direction: MetricDirection,
        patience: int = _DEFAULTS.patience,
        min_delta: float = _DEFAULTS.min_delta,
        smoothing: float = _DEFAULTS.smoothing,
        on_non_finite_metric: NonFiniteMetricPolicy = _DEFAULTS.on_non_finite_metric,
    ) -> None:
        super().__init__(direction, patience, min_delta, on_non_finite_metric)
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        self.smoothing = float(smoothing)
        self.smoothed: float | None = None

    def _update(self, obs: EpochObservation) -> StopDecision:
        if math.isfinite(obs.metric):  # a non-finite epoch stops or is skipped as patience does; no EMA update
            self.smoothed = smooth(self.smoothed, obs.metric, self.smoothing)
            obs = replace(obs, metric=self.smoothed)
        return super()._update(obs)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.update(smoothing=self.smoothing, smoothed=self.smoothed)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.smoothing = float(state["smoothing"])
        self.smoothed = state["smoothed"]


RULES.register(
    RuleSpec(
        PatiencePP,
        PatiencePPConfig,
        label=(LabelPart("p", "patience"), LabelPart("d", "min_delta"), LabelPart("s", "smoothing", always=False)),
    )
)
