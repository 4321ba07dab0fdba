"""Agents: one trial end to end (data, model, fine-tuning, emissions, stopping, logging) from a config."""

from greenft.agents.config import ConfigError, TrialConfig, load_trial_config, parse_trial_config
from greenft.agents.trial import DatasetSplitError, EpochRecord, TrialContext, TrialResult, run_trial

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
