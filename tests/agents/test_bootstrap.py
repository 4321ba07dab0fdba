"""Bootstrap standard errors: each resample's weighted statistic is the metric re-scored on the explicitly
resampled predictions by ``fit.score`` (sklearn's ROC-AUC, numpy's RMSE/MAE), an independent computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from greenft.agents.bootstrap import (
    bootstrap_se,
    counts_of,
    metric_statistics,
    resample_counts,
    resample_indices,
    weighted_mean_loss,
)
from greenft.agents.fit import score
from greenft.data import Metric


def _data(n: int, tasks: int, classification: bool, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if classification:
        targets = rng.integers(0, 2, size=(n, tasks)).astype(float)
        predictions = np.round(rng.random((n, tasks)), 1)  # rounded: many tied scores
    else:
        targets = rng.normal(size=(n, tasks))
        predictions = targets + rng.normal(scale=0.5, size=(n, tasks))
    targets[rng.random((n, tasks)) < 0.2] = np.nan  # missing labels, as in a merged assay table
    return predictions, targets


@pytest.mark.parametrize("metric", [Metric.ROC_AUC, Metric.RMSE, Metric.MAE])
def test_each_resample_is_the_metric_of_the_resampled_molecules(metric: Metric) -> None:
    predictions, targets = _data(40, 3, metric is Metric.ROC_AUC)
    indices = resample_indices(40, resamples=25, seed=7)
    weighted = metric_statistics(predictions, targets, metric, counts_of(indices, 40))
    explicit = [score(predictions[row], targets[row], metric) for row in indices]
    np.testing.assert_allclose(weighted, explicit, rtol=1e-12, atol=1e-12)


def test_roc_auc_resamples_with_one_class_are_nan_and_skipped() -> None:
    targets = np.array([[1.0], [0.0], [0.0], [0.0], [0.0]])
    predictions = np.array([[0.9], [0.1], [0.2], [0.3], [0.4]])
    indices = resample_indices(5, resamples=200, seed=0)
    stats = metric_statistics(predictions, targets, Metric.ROC_AUC, counts_of(indices, 5))
    one_class = np.array([len(np.unique(targets[row, 0])) < 2 for row in indices])
    assert one_class.any() and (~one_class).any()
    assert np.isnan(stats[one_class]).all() and (stats[~one_class] == 1.0).all()  # perfectly ranked otherwise
    assert bootstrap_se(stats) == 0.0  # the skipped resamples do not count; the rest agree


def test_the_loss_resamples_are_the_mean_labelled_loss_of_the_resampled_molecules() -> None:
    rng = np.random.default_rng(3)
    losses = rng.random((30, 2))
    losses[rng.random((30, 2)) < 0.3] = np.nan
    indices = resample_indices(30, resamples=10, seed=2)
    explicit = [np.nanmean(losses[row]) for row in indices]
    np.testing.assert_allclose(weighted_mean_loss(losses, counts_of(indices, 30)), explicit, rtol=1e-12)


def test_the_se_of_a_mean_is_close_to_the_textbook_value() -> None:
    """MAE is a mean of |error|: its bootstrap SE approaches ``std(|e|) / sqrt(n)`` (independent formula)."""
    rng = np.random.default_rng(5)
    errors = rng.normal(size=(400, 1))
    predictions, targets = errors, np.zeros_like(errors)
    se = bootstrap_se(metric_statistics(predictions, targets, Metric.MAE, resample_counts(400)))
    textbook = float(np.std(np.abs(errors)) / math.sqrt(400))
    assert se == pytest.approx(textbook, rel=0.15)


def test_fixed_seed_fewer_than_two_and_global_rng_untouched() -> None:
    np.random.seed(11)
    expected_next = np.random.random()
    np.random.seed(11)
    assert (resample_counts(10) == resample_counts(10)).all()
    assert np.random.random() == expected_next  # training's own random stream is not consumed
    assert math.isnan(bootstrap_se(np.array([0.5, np.nan])))
    assert math.isnan(bootstrap_se(np.array([])))
