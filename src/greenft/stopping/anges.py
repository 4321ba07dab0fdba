"""AN-GES: Adaptive accuracy-emission Green Early Stopping, exactly as Algorithm 1 of the draft.

Per epoch i (1-based):

* i = 1: nothing to compare with; continue.
* i > 1: ``AER_i = %ΔPerf_i / %ΔEmis_i`` (see :mod:`greenft.stopping.aer`).
* 1 < i < W (warm-up): collect ``AER_i``; never stop.
* i >= W: at the first such epoch the EMA starts as the mean of the collected warm-up AERs, or as
  ``epsilon`` (a small positive number) when none were collected; then
  ``EMA <- alpha * AER_i + (1 - alpha) * EMA`` and stop when ``AER_i < beta * EMA``.

Decisions beyond the draft (each tested, see ``docs/stopping.md``):

* An epoch whose AER is undefined (zero/negative/non-finite emission delta, zero metric base) is logged
  with its reason and changes nothing: it is not collected in warm-up, does not update the EMA, cannot stop.
  The comparison reference still moves to it, so the next epoch is compared with epoch i as the draft says.
* A non-finite metric stops the run by default (``on_non_finite_metric``), or skips the epoch.
* ``W <= 2`` means no warm-up: the EMA starts at ``epsilon`` at i = 2, so the rule stops at i = 2 unless
  ``AER_2 >= beta*(1-alpha)/(1-alpha*beta) * epsilon`` (about 2.4e-8 with the defaults): in practice unless
  epoch 2 improved by more than a vanishing amount.
* A negative EMA is kept as it is (no clamping): the threshold ``beta * EMA`` is then negative and only an
  AER below it (the metric getting worse fast enough) stops. Clamping would be a different rule.
* The EMA is initialised lazily, at the first epoch >= W whose AER is defined, from what warm-up collected.
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


class AnGesConfig(RuleConfig):
    """AN-GES parameters; defaults are the draft's (alpha 0.9, beta 0.2) with a warm-up of 3 epochs."""

    rule: Literal["anges"] = "anges"
    alpha: float = Field(0.9, ge=0.0, le=1.0, description="EMA smoothing: weight of the current AER")
    beta: float = Field(0.2, ge=0.0, description="stop when AER < beta * EMA")
    warmup: int = Field(3, ge=0, description="W: epochs 1 < i < W only collect AERs for the EMA's start")
    epsilon: float = Field(1e-6, gt=0.0, description="EMA start when warm-up collected nothing")


_DEFAULTS = AnGesConfig()
DEFAULT_EPSILON = _DEFAULTS.epsilon


class AnGes(StoppingRule):
    """The AN-GES rule. ``alpha`` smooths the EMA, ``beta`` scales the threshold, ``warmup`` is W.

    The constructor's defaults are :class:`AnGesConfig`'s, so a rule built in code and one built from a config
    file agree.
    """

    name = "anges"

    def __init__(
        self,
        direction: MetricDirection,
        alpha: float = _DEFAULTS.alpha,
        beta: float = _DEFAULTS.beta,
        warmup: int = _DEFAULTS.warmup,
        epsilon: float = _DEFAULTS.epsilon,
        on_non_finite_metric: NonFiniteMetricPolicy = _DEFAULTS.on_non_finite_metric,
    ) -> None:
        super().__init__(direction, on_non_finite_metric)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        if not (math.isfinite(beta) and beta >= 0.0):
            raise ValueError(f"beta must be finite and >= 0, got {beta}")
        if warmup < 0:
            raise ValueError(f"warmup W must be >= 0, got {warmup}")
        if not (math.isfinite(epsilon) and epsilon > 0.0):
            raise ValueError(f"epsilon must be finite and > 0, got {epsilon}")
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.warmup = int(warmup)
        self.epsilon = float(epsilon)
        self.warmup_aers: list[float] = []
        self.ema: float | None = None

    def _decide(self, obs: EpochObservation, terms: AerTerms) -> StopDecision:
        numbers: dict[str, Any] = {
            "delta_perf_pct": terms.delta_perf_pct,
            "delta_emis_pct": terms.delta_emis_pct,
            "aer": terms.aer,
        }
        if terms.aer is None:
            reason = f"AER undefined: {terms.undefined_reason}; no update"
            return StopDecision(obs.epoch, False, reason, Phase.UNDEFINED, ema=self.ema, **numbers)
        if obs.epoch < self.warmup:
            self.warmup_aers.append(terms.aer)
            reason = f"warm-up ({obs.epoch} < W={self.warmup}): AER collected"
            return StopDecision(obs.epoch, False, reason, Phase.WARMUP, ema=self.ema, **numbers)
        if self.ema is None:
            self.ema = sum(self.warmup_aers) / len(self.warmup_aers) if self.warmup_aers else self.epsilon
        self.ema = self.alpha * terms.aer + (1.0 - self.alpha) * self.ema
        threshold = self.beta * self.ema
        if terms.aer < threshold:
            reason = f"AER {terms.aer:.6g} < beta*EMA = {threshold:.6g}"
            return StopDecision(obs.epoch, True, reason, Phase.ACTIVE, ema=self.ema, threshold=threshold, **numbers)
        reason = f"AER {terms.aer:.6g} >= beta*EMA = {threshold:.6g}"
        return StopDecision(obs.epoch, False, reason, Phase.ACTIVE, ema=self.ema, threshold=threshold, **numbers)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.update(
            alpha=self.alpha,
            beta=self.beta,
            warmup=self.warmup,
            epsilon=self.epsilon,
            warmup_aers=list(self.warmup_aers),
            ema=self.ema,
        )
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.alpha = float(state["alpha"])
        self.beta = float(state["beta"])
        self.warmup = int(state["warmup"])
        self.epsilon = float(state["epsilon"])
        self.warmup_aers = [float(a) for a in state["warmup_aers"]]
        self.ema = state["ema"]


RULES.register(
    RuleSpec(
        AnGes,
        AnGesConfig,
        label=(
            LabelPart("a", "alpha"),
            LabelPart("b", "beta"),
            LabelPart("w", "warmup"),
            LabelPart("eps", "epsilon", always=False),
        ),
    )
)
