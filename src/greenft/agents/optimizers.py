"""The trial's optimiser from ``optim.optimizer``: Adam (L2 weight decay) or AdamW (decoupled weight decay).

Why a function of its own: the trial and any later caller (a resumed or re-created trial) must build the same
optimiser from the same config; the difference between the two decays is explained in greenft.agents.objective.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from greenft.agents.config import OptimConfig


def make_optimizer(parameters: Iterable[torch.nn.Parameter], optim: OptimConfig) -> torch.optim.Optimizer:
    """``torch.optim.Adam`` or ``torch.optim.AdamW`` at ``optim.lr`` with ``optim.weight_decay``."""
    if optim.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=optim.lr, weight_decay=optim.weight_decay)
    return torch.optim.Adam(parameters, lr=optim.lr, weight_decay=optim.weight_decay)
