"""The seed thesis' quality metrics of a saved model's predictions, per task and as the mean over tasks.

Why these: the seed (PyTorch vs TensorFlow, energy and quantization) judges a classifier by accuracy and macro
precision/recall/F1 beside the ranking metrics MoleculeNet uses (ROC-AUC; PR-AUC for imbalanced sets) and MCC; a
regressor by RMSE, MAE and R2. greenft's training logs one metric per dataset (:func:`dataset_metric`, computed
exactly as the trainer does); ``greenft evaluate`` prints them all, so a user sees what the single number hides.

Pure: numpy arrays in, dataclasses out; scikit-learn does the maths. Missing labels (NaN) are ignored per task.
A metric that is undefined on a task (ROC-AUC when its labels hold one class only, R2 with fewer than two labels)
is NaN and named in :attr:`Scores.notes`, never an exception: a small test split is common and still worth a table.
Threshold-based classification metrics use probability >= 0.5 as the positive class.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    matthews_corrcoef,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)

from greenft.data.scoring import EXTENDED_METRICS, score_extended

__all__ = [
    "CLASSIFICATION_METRICS",
    "REGRESSION_METRICS",
    "THRESHOLD",
    "Scores",
    "dataset_metric",
    "score_predictions",
]

THRESHOLD = 0.5
"""A probability at or above it is a positive prediction (accuracy, precision, recall, F1, MCC)."""

CLASSIFICATION_METRICS = ("roc_auc", "pr_auc", "accuracy", "precision_macro", "recall_macro", "f1_macro", "mcc")
REGRESSION_METRICS = ("rmse", "mae", "r2")


@dataclass(frozen=True)
class Scores:
    """Every metric per task (``per_task[task][metric]``) and its mean over the tasks where it is defined."""

    task_type: str
    metrics: tuple[str, ...]
    per_task: dict[str, dict[str, float]]
    mean: dict[str, float]
    labelled: dict[str, int]  # molecules with a label, per task
    notes: list[str] = field(default_factory=list)  # one line per undefined metric: which task and why

    def as_dict(self) -> dict[str, object]:
        """JSON-ready (NaN becomes None, which JSON can hold)."""

        def clean(values: dict[str, float]) -> dict[str, float | None]:
            return {k: (None if math.isnan(v) else v) for k, v in values.items()}

        return {
            "task_type": self.task_type,
            "metrics": list(self.metrics),
            "per_task": {task: clean(values) for task, values in self.per_task.items()},
            "mean": clean(self.mean),
            "labelled": dict(self.labelled),
            "notes": list(self.notes),
        }


def _classification(y: np.ndarray, p: np.ndarray, task: str, notes: list[str]) -> dict[str, float]:
    nan = float("nan")
    if len(y) == 0:
        notes.append(f"task {task}: no labelled molecule, every metric undefined")
        return dict.fromkeys(CLASSIFICATION_METRICS, nan)
    predicted = (p >= THRESHOLD).astype(int)
    truth = y.astype(int)
    out: dict[str, float] = {}
    if len(np.unique(truth)) == 2:
        out["roc_auc"] = float(roc_auc_score(truth, p))
        out["pr_auc"] = float(average_precision_score(truth, p))
    else:
        notes.append(f"task {task}: one class in the labels ({len(y)} molecules), ROC-AUC and PR-AUC undefined (NaN)")
        out["roc_auc"] = out["pr_auc"] = nan
    out["accuracy"] = float(accuracy_score(truth, predicted))
    both = [0, 1]  # macro over both classes, even when the labels or predictions hold only one of them
    out["precision_macro"] = float(precision_score(truth, predicted, labels=both, average="macro", zero_division=0))
    out["recall_macro"] = float(recall_score(truth, predicted, labels=both, average="macro", zero_division=0))
    out["f1_macro"] = float(f1_score(truth, predicted, labels=both, average="macro", zero_division=0))
    with warnings.catch_warnings():  # one class in labels or predictions: sklearn warns and returns 0
        warnings.simplefilter("ignore")
        out["mcc"] = float(matthews_corrcoef(truth, predicted))
    return out


def _regression(y: np.ndarray, p: np.ndarray, task: str, notes: list[str]) -> dict[str, float]:
    nan = float("nan")
    if len(y) == 0:
        notes.append(f"task {task}: no labelled molecule, every metric undefined")
        return dict.fromkeys(REGRESSION_METRICS, nan)
    out = {"rmse": math.sqrt(float(mean_squared_error(y, p))), "mae": float(mean_absolute_error(y, p))}
    if len(y) >= 2 and float(np.var(y)) > 0:
        out["r2"] = float(r2_score(y, p))
    else:
        notes.append(f"task {task}: R2 undefined ({len(y)} label(s), no variance), NaN")
        out["r2"] = nan
    return out


def score_predictions(
    predictions: np.ndarray, targets: np.ndarray, task_type: str, task_names: Sequence[str] | None = None
) -> Scores:
    """Per-task metrics of ``predictions`` (molecules x tasks: probabilities, or values in original units) against
    ``targets`` (same shape, NaN where unlabelled); rows whose prediction is NaN (an invalid molecule) are left
    out of that task. The mean of a metric is over the tasks where it is defined (NaN if none)."""
    predictions = np.asarray(predictions, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    if predictions.shape != targets.shape or predictions.ndim != 2:
        raise ValueError(f"predictions {predictions.shape} and targets {targets.shape} must be the same (n, tasks)")
    names = list(task_names) if task_names is not None else [f"task{i}" for i in range(targets.shape[1])]
    if len(names) != targets.shape[1]:
        raise ValueError(f"{len(names)} task names for {targets.shape[1]} tasks")
    if task_type not in ("classification", "regression"):
        raise ValueError(f"task_type {task_type!r}: expected 'classification' or 'regression'")
    metrics = CLASSIFICATION_METRICS if task_type == "classification" else REGRESSION_METRICS
    one_task = _classification if task_type == "classification" else _regression
    notes: list[str] = []
    per_task: dict[str, dict[str, float]] = {}
    labelled: dict[str, int] = {}
    for column, name in enumerate(names):
        mask = ~np.isnan(targets[:, column]) & ~np.isnan(predictions[:, column])
        labelled[name] = int(mask.sum())
        per_task[name] = one_task(targets[mask, column], predictions[mask, column], name, notes)
    mean: dict[str, float] = {}
    for metric in metrics:
        values = [per_task[name][metric] for name in names if not math.isnan(per_task[name][metric])]
        mean[metric] = float(np.mean(values)) if values else float("nan")
    return Scores(task_type, metrics, per_task, mean, labelled, notes)


def dataset_metric(predictions: np.ndarray, targets: np.ndarray, metric: str) -> float:
    """The dataset's own metric the way the trainer logs it (``greenft.agents.fit.score``): ROC-AUC is the mean
    over tasks whose labels hold both classes (NaN if none); RMSE and MAE pool every labelled entry of every task.

    Recomputed here rather than imported so that this module stays free of torch; a test holds the two equal.
    """
    predictions = np.asarray(predictions, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    if metric == "roc_auc":
        aucs = []
        for task in range(targets.shape[1]):
            mask = ~np.isnan(targets[:, task]) & ~np.isnan(predictions[:, task])
            if len(np.unique(targets[mask, task])) == 2:
                aucs.append(float(roc_auc_score(targets[mask, task], predictions[mask, task])))
        return float(np.mean(aucs)) if aucs else float("nan")
    extended = {m.value: m for m in EXTENDED_METRICS}
    if metric in extended:  # the trainer's own definition (greenft.data.scoring), molecules without one left out
        return score_extended(predictions, np.where(np.isnan(predictions), np.nan, targets), extended[metric])
    if metric not in ("rmse", "mae"):
        raise ValueError(f"metric {metric!r}: expected one of roc_auc, rmse, mae, {', '.join(extended)}")
    mask = ~np.isnan(targets) & ~np.isnan(predictions)
    if not mask.any():
        return float("nan")
    errors = predictions[mask] - targets[mask]
    return float(np.sqrt(np.mean(errors**2))) if metric == "rmse" else float(np.mean(np.abs(errors)))
