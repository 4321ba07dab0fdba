"""One epoch of training and one evaluation pass, for any graph property model and task type.

Classification uses a masked BCE-with-logits loss (missing labels are NaN and ignored) and mean ROC-AUC over
tasks that have both classes; regression trains on standardised targets (train-split mean/std, so the loss is
scale-free across datasets) with ``optim.loss`` (mse, l1 or huber: greenft.agents.objective) and reports RMSE or
MAE in the original units. A multiclass task (one column of class indices) trains K logits with a masked
cross-entropy and predicts their softmax.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from greenft.agents.objective import HUBER_DELTA, LossName, resolve_loss
from greenft.data.registry import Metric, TaskType
from greenft.data.scoring import EXTENDED_METRICS, is_multiclass, score_extended


@dataclass(frozen=True)
class TargetScaler:
    """Per-task mean/std of the training targets (identity for classification)."""

    mean: torch.Tensor
    std: torch.Tensor

    def to(self, device: torch.device) -> TargetScaler:
        return TargetScaler(self.mean.to(device), self.std.to(device))

    @staticmethod
    def fit(labels: np.ndarray, task_type: TaskType) -> TargetScaler:
        tasks = labels.shape[1]
        if task_type is not TaskType.REGRESSION:
            return TargetScaler(torch.zeros(tasks), torch.ones(tasks))
        labelled = ~np.isnan(labels).all(axis=0)  # a task may have no label in the training split: identity
        filled = np.where(labelled, labels, 0.0)
        mean = np.where(labelled, np.nanmean(filled, axis=0), 0.0)
        std = np.nanstd(filled, axis=0)
        std = np.where(labelled & (std > 0), std, 1.0)
        return TargetScaler(torch.tensor(mean, dtype=torch.float32), torch.tensor(std, dtype=torch.float32))


def entry_losses(name: LossName, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """torch's own loss ``name`` of every entry (no reduction): logits vs 0/1 labels for ``bce``, else
    predictions vs standardised targets (``cross_entropy`` takes class indices: :func:`elementwise_loss`)."""
    functional = nn.functional
    if name == "bce":
        return functional.binary_cross_entropy_with_logits(output, target, reduction="none")
    if name == "l1":
        return functional.l1_loss(output, target, reduction="none")
    if name == "huber":
        return functional.huber_loss(output, target, reduction="none", delta=HUBER_DELTA)
    return functional.mse_loss(output, target, reduction="none")


def elementwise_loss(
    output: torch.Tensor, target: torch.Tensor, task_type: TaskType, scaler: TargetScaler, loss: LossName | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The training loss of every (molecule, task) entry and the mask of the labelled ones.

    One definition for training and validation, so ``val/loss`` is the very objective the optimiser minimises.
    ``loss`` is the trial's resolved ``optim.loss`` (``None``: the task's default, bce or mse).
    """
    mask = ~torch.isnan(target)
    name = resolve_loss(loss, task_type, "this dataset")
    if task_type is TaskType.MULTICLASS:  # K logits against one class index (targets: molecules x 1)
        classes = torch.nan_to_num(target[:, 0]).long()
        return nn.functional.cross_entropy(output, classes, reduction="none").unsqueeze(1), mask
    if task_type is TaskType.CLASSIFICATION:
        return entry_losses(name, output, torch.nan_to_num(target)), mask
    scaled = (torch.nan_to_num(target) - scaler.mean) / scaler.std
    return entry_losses(name, output, scaled), mask


def masked_loss(
    output: torch.Tensor, target: torch.Tensor, task_type: TaskType, scaler: TargetScaler, loss: LossName | None = None
) -> torch.Tensor:
    losses, mask = elementwise_loss(output, target, task_type, scaler, loss)
    return (losses * mask).sum() / mask.sum().clamp(min=1)


def train_epoch(
    model: nn.Module,
    loader: Iterable[Any],
    optimizer: torch.optim.Optimizer,
    task_type: TaskType,
    scaler: TargetScaler,
    device: torch.device,
    on_batch: Callable[[], None] | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    loss_name: LossName | None = None,
) -> float:
    """Mean training loss over the epoch's batches (the model must already be on ``device``); ``scheduler`` (the
    trial's ``optim.lr_schedule``, greenft.agents.schedule) steps after every optimiser step; ``loss_name`` is
    the trial's ``optim.loss`` (``None``: the task's default)."""
    model.train()
    scaler = scaler.to(device)
    total, batches = 0.0, 0
    for cpu_batch in loader:
        batch = cpu_batch.to(device)
        optimizer.zero_grad(set_to_none=True)
        output = model(batch)
        loss = masked_loss(output, batch.y, task_type, scaler, loss_name)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total += float(loss.detach())
        batches += 1
        if on_batch is not None:
            on_batch()
    return total / max(batches, 1)


@torch.no_grad()
def predict_with_losses(
    model: nn.Module,
    loader: Iterable[Any],
    task_type: TaskType,
    scaler: TargetScaler,
    device: torch.device,
    loss: LossName | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predictions, targets and the per-entry training loss (NaN where unlabelled), from one forward pass.

    All three are (molecules x tasks); predictions are probabilities or values in original units. The losses
    come from the same outputs as the predictions, so the validation loss costs no second pass.
    """
    model.eval()
    scaler = scaler.to(device)
    outputs, targets, losses = [], [], []
    for cpu_batch in loader:
        batch = cpu_batch.to(device)
        raw = model(batch)
        entry_loss, mask = elementwise_loss(raw, batch.y, task_type, scaler, loss)
        losses.append(torch.where(mask, entry_loss, torch.nan).float().cpu())
        out = output_values(raw, task_type, scaler)
        outputs.append(out.float().cpu())
        targets.append(batch.y.cpu())
    return torch.cat(outputs).numpy(), torch.cat(targets).numpy(), torch.cat(losses).numpy()


def output_values(raw: torch.Tensor, task_type: TaskType, scaler: TargetScaler) -> torch.Tensor:
    """Raw outputs as predictions: probabilities (sigmoid per task; softmax over the K classes of a multiclass
    task), or values in original units."""
    if task_type is TaskType.MULTICLASS:
        return torch.softmax(raw, dim=1)
    if task_type is TaskType.CLASSIFICATION:
        return torch.sigmoid(raw)
    return raw * scaler.std + scaler.mean


def predict(
    model: nn.Module, loader: Iterable[Any], task_type: TaskType, scaler: TargetScaler, device: torch.device
) -> tuple[np.ndarray, np.ndarray]:
    """Predictions (probabilities, or values in original units) and targets, as (molecules x tasks)."""
    predictions, targets, _ = predict_with_losses(model, loader, task_type, scaler, device)
    return predictions, targets


def score(predictions: np.ndarray, targets: np.ndarray, metric: Metric) -> float:
    """The metric over non-missing labels; ROC-AUC is the mean over tasks with both classes (NaN if none).

    The metrics added later (``prc_auc``, ``accuracy``, ``f1``, ``mcc``, ``r2``) are scored by
    :func:`greenft.data.scoring.score_extended`, the one definition ``greenft evaluate`` uses too, and so is every
    metric of a multiclass task (K probabilities per molecule against one class index).
    """
    if metric in EXTENDED_METRICS or is_multiclass(predictions, targets):
        return score_extended(predictions, targets, metric)
    if metric is Metric.ROC_AUC:
        aucs = []
        for task in range(targets.shape[1]):
            mask = ~np.isnan(targets[:, task])
            y = targets[mask, task]
            if len(np.unique(y)) == 2:
                aucs.append(roc_auc_score(y, predictions[mask, task]))
        return float(np.mean(aucs)) if aucs else float("nan")
    mask = ~np.isnan(targets)
    if not mask.any():
        return float("nan")
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow gives inf, which the trial's guard names
        errors = predictions[mask] - targets[mask]
        if metric is Metric.RMSE:
            return float(np.sqrt(np.mean(errors**2)))
        return float(np.mean(np.abs(errors)))


def evaluate_metrics(
    model: nn.Module,
    loader: Iterable[Any],
    task_type: TaskType,
    metrics: Sequence[Metric],
    scaler: TargetScaler,
    device: torch.device,
) -> dict[Metric, float]:
    """Every metric of ``metrics`` from one prediction pass (a run's extra metrics cost no forward pass)."""
    predictions, targets = predict(model, loader, task_type, scaler, device)
    return {metric: score(predictions, targets, metric) for metric in metrics}


def evaluate(
    model: nn.Module,
    loader: Iterable[Any],
    task_type: TaskType,
    metric: Metric,
    scaler: TargetScaler,
    device: torch.device,
) -> float:
    predictions, targets = predict(model, loader, task_type, scaler, device)
    return score(predictions, targets, metric)
