"""greenft.inference.metrics against values worked out by hand on tiny arrays, and against the trainer's own
scoring (greenft.agents.fit.score) for the dataset metric."""

from __future__ import annotations

import math

import numpy as np
import pytest

from greenft.agents.fit import score
from greenft.data.registry import Metric
from greenft.inference.metrics import CLASSIFICATION_METRICS, dataset_metric, score_predictions

NAN = float("nan")


def test_classification_metrics_match_hand_counts() -> None:
    # labels 0 0 0 1 1, probabilities .2 .7 .1 .8 .3 -> predicted 0 1 0 1 0: TP=1 FP=1 FN=1 TN=2.
    # ROC-AUC: positive .8 beats 3 negatives, .3 beats 2 of 3 -> 5/6. AP: positives ranked 1st (precision 1) and
    # 3rd (precision 2/3), each half the recall -> 5/6. Accuracy 3/5. Precision: positive 1/2, negative 2/3 ->
    # macro 7/12; recall: 1/2 and TN/(TN+FP) = 2/3 -> 7/12; F1: 1/2 and 2/3 -> 7/12.
    # MCC = (1*2 - 1*1) / sqrt(2*2*3*3) = 1/6.
    y = np.array([[0.0], [0.0], [0.0], [1.0], [1.0]])
    p = np.array([[0.2], [0.7], [0.1], [0.8], [0.3]])
    scores = score_predictions(p, y, "classification", ["bbb"])
    expected = {
        "roc_auc": 5 / 6,
        "pr_auc": 5 / 6,
        "accuracy": 3 / 5,
        "precision_macro": 7 / 12,
        "recall_macro": 7 / 12,
        "f1_macro": 7 / 12,
        "mcc": 1 / 6,
    }
    assert scores.metrics == CLASSIFICATION_METRICS
    assert scores.per_task["bbb"] == pytest.approx(expected)
    assert scores.mean == pytest.approx(expected)
    assert scores.labelled == {"bbb": 5}
    assert scores.notes == []


def test_one_class_task_has_nan_aucs_named_and_is_left_out_of_their_mean() -> None:
    # task a: the 5-molecule case above with one label missing (row 4: 0 0 0 1 -> AUC 3/3 = 1 for .8 only)
    # task b: labels all 1 -> AUCs undefined; accuracy 2/3 (predictions 1 1 0 on the labelled rows)
    y = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, NAN], [1.0, 1.0], [NAN, NAN]])
    p = np.array([[0.2, 0.9], [0.7, 0.6], [0.1, 0.5], [0.8, 0.1], [0.3, 0.4]])
    scores = score_predictions(p, y, "classification", ["a", "b"])
    assert scores.per_task["a"]["roc_auc"] == pytest.approx(1.0)
    assert math.isnan(scores.per_task["b"]["roc_auc"]) and math.isnan(scores.per_task["b"]["pr_auc"])
    assert scores.per_task["b"]["accuracy"] == pytest.approx(2 / 3)
    assert scores.mean["roc_auc"] == pytest.approx(1.0)  # b has none: the mean is a's alone
    assert scores.mean["accuracy"] == pytest.approx((3 / 4 + 2 / 3) / 2)  # a: predicted 0 1 0 1 vs 0 0 0 1
    assert scores.labelled == {"a": 4, "b": 3}
    assert any("task b" in note and "one class" in note for note in scores.notes)
    assert scores.as_dict()["per_task"]["b"]["roc_auc"] is None  # type: ignore[index]


def test_regression_metrics_match_hand_values_and_skip_invalid_rows() -> None:
    # labels 1 2 3, predictions 1 3 5: errors 0 1 2 -> RMSE sqrt(5/3), MAE 1, R2 = 1 - 5/2 = -1.5.
    # A 4th row with a NaN prediction (an invalid SMILES) is left out.
    y = np.array([[1.0], [2.0], [3.0], [10.0]])
    p = np.array([[1.0], [3.0], [5.0], [NAN]])
    scores = score_predictions(p, y, "regression", ["logS"])
    assert scores.per_task["logS"] == pytest.approx({"rmse": math.sqrt(5 / 3), "mae": 1.0, "r2": -1.5})
    assert scores.labelled == {"logS": 3}
    assert dataset_metric(p, y, "rmse") == pytest.approx(math.sqrt(5 / 3))
    assert dataset_metric(p, y, "mae") == pytest.approx(1.0)


def test_single_label_regression_r2_is_nan_and_named() -> None:
    scores = score_predictions(np.array([[2.0]]), np.array([[1.0]]), "regression", ["t"])
    assert scores.per_task["t"]["rmse"] == pytest.approx(1.0)
    assert math.isnan(scores.per_task["t"]["r2"])
    assert any("R2" in note for note in scores.notes)


@pytest.mark.parametrize("metric", [Metric.ROC_AUC, Metric.RMSE, Metric.MAE])
def test_dataset_metric_is_the_trainers_score(metric: Metric) -> None:
    rng = np.random.default_rng(3)
    targets = rng.integers(0, 2, size=(40, 3)).astype(float) if metric is Metric.ROC_AUC else rng.normal(size=(40, 3))
    targets[rng.random(targets.shape) < 0.2] = NAN
    targets[:, 2] = np.where(np.isnan(targets[:, 2]), NAN, 1.0) if metric is Metric.ROC_AUC else targets[:, 2]
    predictions = rng.random((40, 3))
    assert dataset_metric(predictions, targets, metric.value) == pytest.approx(score(predictions, targets, metric))


def test_shapes_and_names_are_checked() -> None:
    with pytest.raises(ValueError, match="same"):
        score_predictions(np.zeros((3, 1)), np.zeros((3, 2)), "regression")
    with pytest.raises(ValueError, match="task_type"):
        score_predictions(np.zeros((3, 1)), np.zeros((3, 1)), "ranking")
