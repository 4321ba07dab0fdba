"""``anges-pp``: AN-GES with signal pre-processors, beside the exact rule (which stays as Algorithm 1 has it).

The decision is AN-GES's own code (:meth:`AnGes._decide`: warm-up, EMA start and update, ``AER < beta * EMA``);
what changes is the signal it is fed and when a trigger is acted on (:mod:`greenft.stopping.preprocess`):

1. the monitored value is smoothed (``smoothing``, EMA weight of the past; 0 = off);
2. the AER compares epoch ``i`` with epoch ``i - window`` (value and cumulative emissions; 1 = off);
3. with ``deadband``, a ``|%ΔPerf|`` below the epoch's bootstrap standard error (in percent of the reference)
   counts as 0, so the AER is 0;
4. the warm-up is ``max(warmup, ceil(warmup_fraction * budget))`` when a fraction is given;
5. a trigger stops only when it is the ``consecutive``-th in a row (1 = off).

With every pre-processor off, each decision equals exact AN-GES's, field for field (a property test over
random curves holds it), so ``anges-pp`` is a strict extension and shadow runs can record both side by side.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Literal

from pydantic import Field

from greenft.stopping.aer import MetricDirection, compute_aer
from greenft.stopping.anges import AnGes, AnGesConfig
from greenft.stopping.base import EpochObservation, NonFiniteMetricPolicy, Phase, RuleConfig, StopDecision
from greenft.stopping.preprocess import Streak, dead_band, smooth, warmup_epochs, window_reference
from greenft.stopping.registry import RULES, LabelPart, RuleSpec

_ANGES = AnGesConfig.model_fields


class AnGesPPConfig(RuleConfig):
    """AN-GES's four parameters (same defaults) plus the pre-processors, each off by default."""

    rule: Literal["anges-pp"] = "anges-pp"
    alpha: float = Field(_ANGES["alpha"].default, ge=0.0, le=1.0, description=_ANGES["alpha"].description)
    beta: float = Field(_ANGES["beta"].default, ge=0.0, description=_ANGES["beta"].description)
    warmup: int = Field(_ANGES["warmup"].default, ge=0, description=_ANGES["warmup"].description)
    epsilon: float = Field(_ANGES["epsilon"].default, gt=0.0, description=_ANGES["epsilon"].description)
    smoothing: float = Field(0.0, ge=0.0, lt=1.0, description="EMA of the monitored value: weight of the past (0: off)")
    window: int = Field(1, ge=1, description="K: the AER compares epoch i with epoch i-K (1: the previous epoch)")
    consecutive: int = Field(1, ge=1, description="k: stop only on the k-th trigger in a row (1: the first)")
    deadband: bool = Field(False, description="a |%ΔPerf| below the bootstrap standard error counts as 0")
    warmup_fraction: float | None = Field(
        None, gt=0.0, le=1.0, description="warm-up W = max(warmup, ceil(fraction * epoch budget)) (default: off)"
    )


_DEFAULTS = AnGesPPConfig()


class AnGesPP(AnGes):
    """AN-GES fed a pre-processed signal; the constructor's defaults are :class:`AnGesPPConfig`'s.

    ``budget_epochs`` is the run's epoch budget, given by the rule table's factory; it is needed only with
    ``warmup_fraction``. ``self.warmup`` (what AN-GES's decision reads) is the effective warm-up.
    """

    name = "anges-pp"

    def __init__(
        self,
        direction: MetricDirection,
        alpha: float = _DEFAULTS.alpha,
        beta: float = _DEFAULTS.beta,
        warmup: int = _DEFAULTS.warmup,
        epsilon: float = _DEFAULTS.epsilon,
        smoothing: float = _DEFAULTS.smoothing,
        window: int = _DEFAULTS.window,
        consecutive: int = _DEFAULTS.consecutive,
        deadband: bool = _DEFAULTS.deadband,
        warmup_fraction: float | None = _DEFAULTS.warmup_fraction,
        on_non_finite_metric: NonFiniteMetricPolicy = _DEFAULTS.on_non_finite_metric,
        budget_epochs: int | None = None,
    ) -> None:
        if warmup < 0:
            raise ValueError(f"warmup W must be >= 0, got {warmup}")
        effective = warmup_epochs(warmup, warmup_fraction, budget_epochs)
        super().__init__(direction, alpha, beta, effective, epsilon, on_non_finite_metric)
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        if window < 1:
            raise ValueError(f"window K must be >= 1, got {window}")
        self.configured_warmup = int(warmup)
        self.warmup_fraction = warmup_fraction
        self.budget_epochs = budget_epochs
        self.smoothing = float(smoothing)
        self.window = int(window)
        self.deadband = bool(deadband)
        self.streak = Streak(int(consecutive))
        self.smoothed: float | None = None
        self.history: list[tuple[float, float]] = []  # (smoothed value, cumulative kg) of the last K+1 finite epochs

    def _update(self, obs: EpochObservation) -> StopDecision:
        if not math.isfinite(obs.metric):
            return super()._update(obs)  # stop or skip, as AN-GES: nothing here moves
        self.smoothed = smooth(self.smoothed, obs.metric, self.smoothing)
        self.history = [*self.history, (self.smoothed, obs.cumulative_emissions_kg)][-(self.window + 1) :]
        self.reference_metric, self.reference_emissions = self.smoothed, obs.cumulative_emissions_kg
        if len(self.history) == 1:
            return self._first(obs)
        reference, reference_emissions = window_reference(self.history, self.window)
        terms = compute_aer(reference, self.smoothed, reference_emissions, obs.cumulative_emissions_kg, self.direction)
        notes: list[str] = []
        if self.deadband:
            band = dead_band(terms, obs.metric_se, reference)
            if band.zeroed:
                terms = band.terms
                notes.append(f"dead-band: |%ΔPerf| {abs(band.raw_delta_perf_pct or 0.0):.3g} < SE {band.se_pct:.3g}%")
        return self._confirm(self._decide(obs, terms), notes)

    def _confirm(self, decision: StopDecision, notes: list[str]) -> StopDecision:
        """Apply ``consecutive``: only epochs where AN-GES could stop (phase active) feed the streak."""
        if decision.phase is Phase.ACTIVE:
            act = self.streak.feed(decision.should_stop)
            if decision.should_stop and self.streak.needed > 1:
                count = f"trigger {self.streak.count}/{self.streak.needed} in a row"
                notes.append(count if act else f"{count}: continue")
                decision = replace(decision, should_stop=act)
        if not notes:
            return decision
        return replace(decision, reason=f"{decision.reason} ({'; '.join(notes)})")

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.update(
            configured_warmup=self.configured_warmup,
            warmup_fraction=self.warmup_fraction,
            budget_epochs=self.budget_epochs,
            smoothing=self.smoothing,
            window=self.window,
            deadband=self.deadband,
            consecutive=self.streak.needed,
            streak=self.streak.count,
            smoothed=self.smoothed,
            history=[list(entry) for entry in self.history],
        )
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.configured_warmup = int(state["configured_warmup"])
        self.warmup_fraction = state["warmup_fraction"]
        self.budget_epochs = state["budget_epochs"]
        self.smoothing = float(state["smoothing"])
        self.window = int(state["window"])
        self.deadband = bool(state["deadband"])
        self.streak = Streak(int(state["consecutive"]), int(state["streak"]))
        self.smoothed = state["smoothed"]
        self.history = [(float(value), float(kg)) for value, kg in state["history"]]


RULES.register(
    RuleSpec(
        AnGesPP,
        AnGesPPConfig,
        label=(
            LabelPart("a", "alpha"),
            LabelPart("b", "beta"),
            LabelPart("w", "warmup"),
            LabelPart("eps", "epsilon", always=False),
            LabelPart("s", "smoothing", always=False),
            LabelPart("K", "window", always=False),
            LabelPart("c", "consecutive", always=False),
            LabelPart("db", "deadband", always=False),
            LabelPart("f", "warmup_fraction", always=False),
        ),
    )
)
