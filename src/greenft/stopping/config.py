"""Pydantic configs for the rules, as a sweep or a CLI hands them over, and the factory that builds them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from greenft.stopping.aer import MetricDirection
from greenft.stopping.anges import DEFAULT_EPSILON, AnGes
from greenft.stopping.base import NonFiniteMetricPolicy, StoppingRule
from greenft.stopping.full_budget import FullBudget
from greenft.stopping.patience import Patience


class _RuleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    on_non_finite_metric: NonFiniteMetricPolicy = NonFiniteMetricPolicy.STOP


class AnGesConfig(_RuleConfig):
    """AN-GES parameters; defaults are the draft's (alpha 0.9, beta 0.2) with a warm-up of 3 epochs."""

    rule: Literal["anges"] = "anges"
    alpha: float = Field(0.9, ge=0.0, le=1.0, description="EMA smoothing: weight of the current AER")
    beta: float = Field(0.2, ge=0.0, description="stop when AER < beta * EMA")
    warmup: int = Field(3, ge=0, description="W: epochs 1 < i < W only collect AERs for the EMA's start")
    epsilon: float = Field(DEFAULT_EPSILON, gt=0.0, description="EMA start when warm-up collected nothing")


class PatienceConfig(_RuleConfig):
    rule: Literal["patience"] = "patience"
    patience: int = Field(5, ge=1)
    min_delta: float = Field(0.0, ge=0.0, description="absolute improvement that counts, in metric units")


class FullBudgetConfig(_RuleConfig):
    rule: Literal["none"] = "none"


StoppingConfig = Annotated[AnGesConfig | PatienceConfig | FullBudgetConfig, Field(discriminator="rule")]


def build_rule(config: AnGesConfig | PatienceConfig | FullBudgetConfig, direction: MetricDirection) -> StoppingRule:
    """A fresh rule from its config, for a metric of the given direction."""
    if isinstance(config, AnGesConfig):
        return AnGes(direction, config.alpha, config.beta, config.warmup, config.epsilon, config.on_non_finite_metric)
    if isinstance(config, PatienceConfig):
        return Patience(direction, config.patience, config.min_delta, config.on_non_finite_metric)
    return FullBudget(direction, config.on_non_finite_metric)


def rule_label(config: AnGesConfig | PatienceConfig | FullBudgetConfig) -> str:
    """A label unique per parameter set, e.g. ``anges_a0.9_b0.2_w3``, for logs and shadow keys.

    Floats are written with ``repr`` (shortest exact form), and parameters left at their defaults that rarely
    change (``epsilon``, the non-finite policy) appear only when changed, so two configs share a label exactly
    when they build the same rule.
    """
    suffix = "" if config.on_non_finite_metric is NonFiniteMetricPolicy.STOP else "_nanskip"
    if isinstance(config, AnGesConfig):
        eps = "" if config.epsilon == DEFAULT_EPSILON else f"_eps{config.epsilon!r}"
        return f"anges_a{config.alpha!r}_b{config.beta!r}_w{config.warmup}{eps}{suffix}"
    if isinstance(config, PatienceConfig):
        return f"patience_p{config.patience}_d{config.min_delta!r}{suffix}"
    return f"none{suffix}"
