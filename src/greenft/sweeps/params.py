"""W&B sweep parameters -> a validated trial config.

A W&B sweep hands each trial a flat mapping (``wandb.config``): ``{"model": "gin", "dataset": "bbbp",
"alpha": 0.9, "beta": 0.2, "warmup": 3, "seed": 1, "lr": 1e-3}``. Sweep YAMLs stay short with these flat
names; any field of :class:`~greenft.agents.config.TrialConfig` can also be given by its dotted path
(``optim.weight_decay``, ``tracking.country_iso_code``). The names and the merge are
:mod:`greenft.agents.overrides`', the same as ``greenft train``'s flags. Unknown names are an error, not silently
ignored: a typo in a sweep would otherwise run a whole grid with the default value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from greenft.agents.config import TrialConfig
from greenft.agents.overrides import apply_overrides, flat_names

FLAT_NAMES: dict[str, str] = flat_names()
"""The flat names of the built-in rules and settings (a snapshot; :func:`flat_names` also has later rules')."""


def trial_config_from_sweep(params: Mapping[str, Any], base: TrialConfig | None = None) -> TrialConfig:
    """Validate a sweep's parameters on top of ``base`` (defaults when omitted).

    When parameters of one rule are given without ``rule`` (e.g. only ``alpha``/``beta``), that rule is meant.
    """
    return apply_overrides(base, params, "W&B sweep parameters", what="sweep parameter")
