"""Sweeps: W&B sweep YAMLs (top-level ``sweeps/``) run by W&B's server and ``wandb agent``, or offline by the
embedded controller (``greenft sweep run``); both turn each trial's parameters into a validated trial config.

Names are imported lazily: the worker module (``python -m greenft.sweeps.worker``) must not pay for torch
before it has told its controller it started.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greenft.sweeps.agent import AGENT_ARGV, SWEEP_COMMAND, wandb_agent_command
    from greenft.sweeps.params import FLAT_NAMES, trial_config_from_sweep
    from greenft.sweeps.spec import SweepFileError, SweepSpec, load_sweep_spec

_EXPORTS = {
    "AGENT_ARGV": "greenft.sweeps.agent",
    "SWEEP_COMMAND": "greenft.sweeps.agent",
    "wandb_agent_command": "greenft.sweeps.agent",
    "FLAT_NAMES": "greenft.sweeps.params",
    "trial_config_from_sweep": "greenft.sweeps.params",
    "SweepFileError": "greenft.sweeps.spec",
    "SweepSpec": "greenft.sweeps.spec",
    "load_sweep_spec": "greenft.sweeps.spec",
}

__all__ = [
    "AGENT_ARGV",
    "FLAT_NAMES",
    "SWEEP_COMMAND",
    "SweepFileError",
    "SweepSpec",
    "load_sweep_spec",
    "trial_config_from_sweep",
    "wandb_agent_command",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'greenft.sweeps' has no attribute {name!r}")
