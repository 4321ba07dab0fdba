"""The metrics added beside greenft's first three (``prc_auc``, ``accuracy``, ``f1``, ``mcc``, ``r2``), scored from
predictions an evaluation pass already made.

Why here, below the trainer and the inference code: both score them (the trainer each epoch, ``greenft evaluate``
from a saved model), and a metric defined twice drifts. Pure numpy and scikit-learn, no torch.

How they are scored, as chemprop's ``--metrics`` do: per task over its labelled molecules, then the mean over
the tasks where the metric is defined (NaN when none is). Classification thresholds a probability at
:data:`THRESHOLD` (at or above: the positive class); ``f1`` is the F1 of the positive class; ``prc_auc`` (average
precision) needs both classes in a task's labels, ``r2`` two labels with some variance. ``weights`` (a count per
molecule) scores a bootstrap resample without copying the arrays (:mod:`greenft.agents.bootstrap`).

Multiclass (one task, predictions = K class probabilities per molecule, targets = class indices, so the two
arrays differ in width: :func:`is_multiclass`): ``accuracy`` of the most probable class, macro ``f1`` over the
classes found in the labels or predictions, multiclass ``mcc``, and ``roc_auc`` as the macro one-vs-rest mean over
the classes that are both present and absent in the labels (scikit-learn's ``multi_class="ovr"`` when every class
is present, defined also when one is missing from a small split).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    matthews_corrcoef,
    r2_score,
    roc_auc_score,
)

from greenft.data.registry import Metric

__all__ = ["EXTENDED_METRICS", "THRESHOLD", "is_multiclass", "score_extended"]

THRESHOLD = 0.5
"""A probability at or above it is a positive prediction (accuracy, F1, MCC), as in ``greenft evaluate``."""

TaskScorer = Callable[[np.ndarray, np.ndarray, np.ndarray | None], float]
"""``(labels, predictions, weights or None) -> score`` of one task's labelled molecules (NaN: undefined)."""


def _prc_auc(y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> float:
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(average_precision_score(y, p, sample_weight=w))


def _accuracy(y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> float:
    return float(accuracy_score(y.astype(int), (p >= THRESHOLD).astype(int), sample_weight=w))


def _f1(y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> float:
    return float(f1_score(y.astype(int), (p >= THRESHOLD).astype(int), sample_weight=w, zero_division=0))


def _mcc(y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> float:
    with warnings.catch_warnings():  # one class in labels or predictions: sklearn warns and returns 0
        warnings.simplefilter("ignore")
        return float(matthews_corrcoef(y.astype(int), (p >= THRESHOLD).astype(int), sample_weight=w))


def _r2(y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> float:
    if len(y) < 2 or float(np.var(y)) == 0.0 or not np.isfinite(p).all():
        return float("nan")
    return float(r2_score(y, p, sample_weight=w))


EXTENDED_METRICS: dict[Metric, TaskScorer] = {
    Metric.PRC_AUC: _prc_auc,
    Metric.ACCURACY: _accuracy,
    Metric.F1: _f1,
    Metric.MCC: _mcc,
    Metric.R2: _r2,
}
"""The per-task scorer of each metric scored here (roc_auc, rmse and mae keep the trainer's own code)."""


def is_multiclass(predictions: np.ndarray, targets: np.ndarray) -> bool:
    """Whether these are a multiclass task's K probabilities against its class indices (widths K and 1)."""
    return predictions.ndim == 2 and targets.ndim == 2 and predictions.shape[1] != targets.shape[1]


def _multiclass(predictions: np.ndarray, targets: np.ndarray, metric: Metric, weights: np.ndarray | None) -> float:
    if targets.shape[1] != 1:
        raise ValueError(f"multiclass scores one task; got targets of shape {targets.shape}")
    mask = ~np.isnan(targets[:, 0])
    if weights is not None:
        mask &= weights > 0
    if not mask.any():
        return float("nan")
    y, p = targets[mask, 0].astype(int), predictions[mask]
    w = None if weights is None else weights[mask]
    chosen = p.argmax(axis=1)
    if metric is Metric.ACCURACY:
        return float(accuracy_score(y, chosen, sample_weight=w))
    if metric is Metric.F1:
        return float(f1_score(y, chosen, average="macro", sample_weight=w, zero_division=0))
    if metric is Metric.MCC:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(matthews_corrcoef(y, chosen, sample_weight=w))
    if metric is Metric.ROC_AUC:
        aucs = [
            float(roc_auc_score(y == k, p[:, k], sample_weight=w))
            for k in range(p.shape[1])
            if 0 < int((y == k).sum()) < len(y)
        ]
        return float(np.mean(aucs)) if aucs else float("nan")
    raise ValueError(f"metric {metric.value} does not score a multiclass task")


def score_extended(
    predictions: np.ndarray, targets: np.ndarray, metric: Metric, weights: np.ndarray | None = None
) -> float:
    """``metric`` of ``predictions`` against ``targets`` (molecules x tasks, NaN: unlabelled), the mean over the
    tasks where it is defined; ``weights`` (one count per molecule) weighs molecules, a zero leaves one out.
    Multiclass predictions (:func:`is_multiclass`) are scored as the module docstring says, ``roc_auc`` too."""
    if is_multiclass(predictions, targets):
        return _multiclass(predictions, targets, metric, weights)
    one_task = EXTENDED_METRICS[metric]
    values = []
    for task in range(targets.shape[1]):
        mask = ~np.isnan(targets[:, task])
        if weights is not None:
            mask &= weights > 0
        if not mask.any():
            continue
        w = None if weights is None else weights[mask]
        value = one_task(targets[mask, task], predictions[mask, task], w)
        if np.isfinite(value):
            values.append(value)
    return float(np.mean(values)) if values else float("nan")
