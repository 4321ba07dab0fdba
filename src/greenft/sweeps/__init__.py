"""Sweeps: turning W&B sweep parameters into trial configs (the YAMLs live in the top-level ``sweeps/``)."""

from greenft.sweeps.params import FLAT_NAMES, trial_config_from_sweep

__all__ = ["FLAT_NAMES", "trial_config_from_sweep"]
