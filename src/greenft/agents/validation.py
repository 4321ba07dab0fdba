"""The epoch's validation pass: the metric the rules see, the validation loss, and their bootstrap errors.

Why one function: ``val/loss`` must be the training objective on the validation set and must not cost a second
forward pass, and the standard errors must describe the very predictions that were scored. So one pass
(:func:`greenft.agents.fit.predict_with_losses`) yields predictions, targets and per-entry losses, and
everything the epoch logs about validation is computed from them here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from greenft.agents.bootstrap import bootstrap_se, metric_statistics, resample_counts, weighted_mean_loss
from greenft.agents.fit import TargetScaler, predict_with_losses, score
from greenft.agents.objective import LossName
from greenft.data.registry import Metric, TaskType

__all__ = ["Validation", "mean_loss", "validate"]


@dataclass(frozen=True)
class Validation:
    """One validation pass: ``metric`` and ``loss`` (NaN when no entry is labelled) and their bootstrap SEs, and
    the run's extra metrics (``data.extra_metrics``, by name) scored on the same predictions."""

    metric: float
    loss: float
    metric_se: float
    loss_se: float
    extras: dict[str, float] = field(default_factory=dict)


def mean_loss(losses: np.ndarray) -> float:
    """The masked loss over the whole set: the mean over labelled (molecule, task) entries, as in training."""
    labelled = ~np.isnan(losses)
    return float(losses[labelled].astype(np.float64).mean()) if labelled.any() else float("nan")


def validate(
    model: nn.Module,
    loader: Iterable[Any],
    task_type: TaskType,
    metric: Metric,
    scaler: TargetScaler,
    device: torch.device,
    extras: Sequence[Metric] = (),
    loss: LossName | None = None,
) -> Validation:
    """Score the validation split once: metric, loss (the trial's ``optim.loss``; ``None``: the task's default)
    and both standard errors (see the module docstring)."""
    predictions, targets, losses = predict_with_losses(model, loader, task_type, scaler, device, loss)
    counts = resample_counts(len(targets))
    return Validation(
        metric=score(predictions, targets, metric),
        loss=mean_loss(losses),
        metric_se=bootstrap_se(metric_statistics(predictions, targets, metric, counts)),
        loss_se=bootstrap_se(weighted_mean_loss(losses, counts)),
        extras={extra.value: score(predictions, targets, extra) for extra in extras},
    )
