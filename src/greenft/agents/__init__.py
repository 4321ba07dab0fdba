"""Agents: one trial end to end (data, model, fine-tuning, emissions, stopping, logging) from a config.

Names are imported lazily, on first use, as in greenft.sweeps: `greenft --help` and a user error found before any
work must not pay for the heavy modules (torch, RDKit, pandas) that only some of these names need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greenft.agents.config import ConfigError, TrialConfig, load_trial_config, parse_trial_config
    from greenft.agents.trial import DatasetSplitError, EpochRecord, TrialContext, TrialResult, run_trial

_EXPORTS = {
    "ConfigError": "greenft.agents.config",
    "TrialConfig": "greenft.agents.config",
    "load_trial_config": "greenft.agents.config",
    "parse_trial_config": "greenft.agents.config",
    "DatasetSplitError": "greenft.agents.trial",
    "EpochRecord": "greenft.agents.trial",
    "TrialContext": "greenft.agents.trial",
    "TrialResult": "greenft.agents.trial",
    "run_trial": "greenft.agents.trial",
}

__all__ = [
    "ConfigError",
    "DatasetSplitError",
    "EpochRecord",
    "TrialConfig",
    "TrialContext",
    "TrialResult",
    "load_trial_config",
    "parse_trial_config",
    "run_trial",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'greenft.agents' has no attribute {name!r}")
