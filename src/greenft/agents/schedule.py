"""Learning-rate schedules stepped once per optimiser step (``optim.lr_schedule``).

Why per step and not per epoch: chemprop's Noam schedule, which its users' D-MPNN numbers depend on, warms up and
decays over optimiser steps; an epoch-granular version would give a different curve for a small dataset. The
schedule is defined over the whole budget (``max_epochs``), so a run stopped early by a rule has trained on the
same lr curve as the full-budget run up to its stop: the stop changes when training ends, never how it trained.
"""

from __future__ import annotations

import math

import torch

from greenft.models.config import LrSchedule


def resolve_lr_schedule(configured: LrSchedule | None, family_default: LrSchedule) -> LrSchedule:
    """The schedule a trial uses: the config's, else its model family's default."""
    return configured if configured is not None else family_default


def lr_factor(
    step: int,
    schedule: LrSchedule,
    *,
    steps_per_epoch: int,
    max_epochs: int,
    warmup_epochs: float,
    start_ratio: float,
    end_ratio: float,
) -> float:
    """The multiplier of the base lr for optimiser step ``step`` (0-based).

    ``noam``: linear from ``start_ratio`` to 1 over ``warmup_epochs * steps_per_epoch`` steps, then exponential
    decay reaching ``end_ratio`` at the last step of ``max_epochs`` (chemprop v2's ``NoamLR`` shape, written from
    its documented formula). ``constant``: 1.
    """
    if schedule == "constant":
        return 1.0
    warmup = max(round(warmup_epochs * steps_per_epoch), 0)
    total = max(max_epochs * steps_per_epoch, 1)
    if step < warmup:
        return start_ratio + (1.0 - start_ratio) * step / warmup
    decay_steps = max(total - warmup, 1)
    return math.exp(math.log(end_ratio) * min(step - warmup, decay_steps) / decay_steps)


def make_lr_scheduler(
    optimizer: torch.optim.Optimizer,
    schedule: LrSchedule,
    *,
    steps_per_epoch: int,
    max_epochs: int,
    warmup_epochs: float,
    start_ratio: float,
    end_ratio: float,
) -> torch.optim.lr_scheduler.LambdaLR:
    """A torch scheduler applying :func:`lr_factor`; call its ``step()`` after each ``optimizer.step()``."""

    def factor(step: int) -> float:
        return lr_factor(
            step,
            schedule,
            steps_per_epoch=steps_per_epoch,
            max_epochs=max_epochs,
            warmup_epochs=warmup_epochs,
            start_ratio=start_ratio,
            end_ratio=end_ratio,
        )

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
