"""Stopping rules fed once per epoch (AN-GES and patience, each also with pre-processors; the full budget; a CO2
budget) and the emission forecast.

Pure logic: nothing here imports torch, W&B, CodeCarbon or touches files (a test enforces it). Every rule is a
row of :data:`RULES` (see :mod:`greenft.stopping.registry`); the rule modules below register theirs on import,
in this order (the order the CLI lists them).
"""

from greenft.stopping.aer import (
    AerTerms,
    MetricDirection,
    compute_aer,
    effective_threshold_fraction,
    percent_emission_increase,
    percent_improvement,
)
from greenft.stopping.base import (
    EpochObservation,
    Monitor,
    NonFiniteMetricPolicy,
    Phase,
    RuleConfig,
    StopDecision,
    StoppingRule,
)
from greenft.stopping.forecast import (
    DEFAULT_FORECAST_AFTER,
    EmissionForecaster,
    Forecast,
    ForecastError,
    forecast_error,
    forecast_totals,
    per_epoch_increment,
)
from greenft.stopping.registry import (
    RULES,
    LabelPart,
    RuleSpec,
    RuleTable,
    StoppingConfig,
    build_rule,
    parse_label,
    rule_label,
)

# The rule modules register themselves on import: this order is the table's order.
# isort: off
from greenft.stopping.anges import AnGes, AnGesConfig
from greenft.stopping.anges_pp import AnGesPP, AnGesPPConfig
from greenft.stopping.patience import Patience, PatienceConfig
from greenft.stopping.patience_pp import PatiencePP, PatiencePPConfig
from greenft.stopping.full_budget import FullBudget, FullBudgetConfig
from greenft.stopping.co2_budget import Co2Budget, Co2BudgetConfig
# isort: on

__all__ = [
    "DEFAULT_FORECAST_AFTER",
    "RULES",
    "AerTerms",
    "AnGes",
    "AnGesConfig",
    "AnGesPP",
    "AnGesPPConfig",
    "Co2Budget",
    "Co2BudgetConfig",
    "EmissionForecaster",
    "EpochObservation",
    "Forecast",
    "ForecastError",
    "FullBudget",
    "FullBudgetConfig",
    "LabelPart",
    "MetricDirection",
    "Monitor",
    "NonFiniteMetricPolicy",
    "Patience",
    "PatienceConfig",
    "PatiencePP",
    "PatiencePPConfig",
    "Phase",
    "RuleConfig",
    "RuleSpec",
    "RuleTable",
    "StopDecision",
    "StoppingConfig",
    "StoppingRule",
    "build_rule",
    "compute_aer",
    "effective_threshold_fraction",
    "forecast_error",
    "forecast_totals",
    "parse_label",
    "per_epoch_increment",
    "percent_emission_increase",
    "percent_improvement",
    "rule_label",
]
