"""The rules' pydantic configs, the ``stopping`` section type and the factory, under their historical home.

Each rule now keeps its config beside its class and registers both in :data:`greenft.stopping.registry.RULES`;
this module only re-exports them, so ``from greenft.stopping.config import AnGesConfig`` keeps working.
"""

from __future__ import annotations

from greenft.stopping.anges import AnGesConfig
from greenft.stopping.anges_pp import AnGesPPConfig
from greenft.stopping.base import RuleConfig
from greenft.stopping.full_budget import FullBudgetConfig
from greenft.stopping.patience import PatienceConfig
from greenft.stopping.patience_pp import PatiencePPConfig
from greenft.stopping.registry import StoppingConfig, build_rule, parse_label, rule_label

__all__ = [
    "AnGesConfig",
    "AnGesPPConfig",
    "FullBudgetConfig",
    "PatienceConfig",
    "PatiencePPConfig",
    "RuleConfig",
    "StoppingConfig",
    "build_rule",
    "parse_label",
    "rule_label",
]
