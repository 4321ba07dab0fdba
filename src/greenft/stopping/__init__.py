"""Stopping rules fed once per epoch: AN-GES, patience early stopping and the full budget.

Pure logic: nothing here imports torch, W&B, CodeCarbon or touches files (a test enforces it).
"""

from greenft.stopping.aer import (
    AerTerms,
    MetricDirection,
    compute_aer,
    effective_threshold_fraction,
    percent_emission_increase,
    percent_improvement,
)
from greenft.stopping.anges import AnGes
from greenft.stopping.base import (
    EpochObservation,
    NonFiniteMetricPolicy,
    Phase,
    StopDecision,
    StoppingRule,
)
from greenft.stopping.config import (
    AnGesConfig,
    FullBudgetConfig,
    PatienceConfig,
    StoppingConfig,
    build_rule,
    rule_label,
)
from greenft.stopping.full_budget import FullBudget
from greenft.stopping.patience import Patience

__all__ = [
    "AerTerms",
    "AnGes",
    "AnGesConfig",
    "EpochObservation",
    "FullBudget",
    "FullBudgetConfig",
    "MetricDirection",
    "NonFiniteMetricPolicy",
    "Patience",
    "PatienceConfig",
    "Phase",
    "StopDecision",
    "StoppingConfig",
    "StoppingRule",
    "build_rule",
    "compute_aer",
    "effective_threshold_fraction",
    "percent_emission_increase",
    "percent_improvement",
    "rule_label",
]
