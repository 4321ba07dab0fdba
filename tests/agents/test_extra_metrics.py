"""Several metrics at once (``data.extra_metrics``, ``--extra-metric``): real ``greenft train`` runs log each extra as
``val/<metric>`` and ``test/<metric>`` every epoch and at every summary point, with the values scikit-learn gives
on the predictions of the run's saved models (an independent computation: the saved file, its own predict path,
sklearn called here); any metric can be *the* metric (it then drives the best epoch); a metric that does not fit
the task is one ``error:`` line, exit 2, before training.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    matthews_corrcoef,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
)
from typer.testing import CliRunner

from greenft.agents.bootstrap import counts_of, metric_statistics, resample_indices
from greenft.agents.fit import score
from greenft.cli import app
from greenft.data import Metric, get_dataset_spec, load_molecules
from greenft.inference.metrics import dataset_metric
from greenft.models.saved import load_saved_model
from greenft.schema import EPOCHS_FILE, SPLIT_FILE, Point, point_key, read_jsonl, read_summary
from greenft.schema.keys import BEST_MODEL_FILE, STOP_MODEL_FILE
from greenft.schema.summary import AT_EPOCH, AT_TEST, AT_VAL

runner = CliRunner()
EXTRAS = ("prc_auc", "accuracy", "f1", "mcc")
LIMIT = 120
TINY = ["--limit", str(LIMIT), "--max-epochs", "2", "--layers", "2", "--emb-dim", "16", "--threads", "1"]
TINY += ["--wandb-mode", "disabled", "--meter", "wallclock"]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def sklearn_score(metric: str, y: np.ndarray, p: np.ndarray) -> float:
    """One task's score as scikit-learn computes it (probability >= 0.5: positive)."""
    positive = (p >= 0.5).astype(int)
    scorers: dict[str, Any] = {
        "roc_auc": lambda: roc_auc_score(y, p),
        "prc_auc": lambda: average_precision_score(y, p),
        "accuracy": lambda: accuracy_score(y, positive),
        "f1": lambda: f1_score(y, positive, zero_division=0),
        "mcc": lambda: matthews_corrcoef(y, positive),
        "r2": lambda: r2_score(y, p),
        "rmse": lambda: math.sqrt(float(np.mean((y - p) ** 2))),
        "mae": lambda: mean_absolute_error(y, p),
    }
    return float(scorers[metric]())


def train(tmp_path: Path, *flags: str) -> Path:
    """``greenft train`` in this process; the run's files folder (its output beside it, ``output.txt``)."""
    result = runner.invoke(app, ["train", *flags, *TINY, "--runs-dir", str(tmp_path / "runs")], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    (summary,) = (tmp_path / "runs").rglob("greenft_summary.json")
    (tmp_path / "output.txt").write_text(result.output)
    return summary.parent


def check_extras_are_sklearn_on_saved_predictions(files: Path, dataset: str, extras: list[str]) -> None:
    rows = read_jsonl(files / EPOCHS_FILE)
    summary = read_summary(files)
    split = json.loads((files / SPLIT_FILE).read_text())
    molecules = load_molecules(get_dataset_spec(dataset), limit=LIMIT)
    checked = 0
    for name in (BEST_MODEL_FILE, STOP_MODEL_FILE):
        model = load_saved_model(files / name)
        row = rows[model.header.epoch - 1]
        for part in ("val", "test"):
            indices = split[part]
            predicted = model.predict([molecules.smiles[i] for i in indices], batch_size=64).values[:, 0]
            labels = molecules.labels[indices, 0]
            for metric in [summary["metric"], *extras]:
                expected = sklearn_score(metric, labels, predicted)
                assert row[f"{part}/{metric}"] == pytest.approx(expected, rel=1e-5, abs=1e-7), (name, part, metric)
                checked += 1
    assert checked == 2 * 2 * (1 + len(extras))
    for point in (Point.STOP, Point.DEPLOYED, Point.BEST, Point.ORACLE):
        row = rows[summary[point_key(point, AT_EPOCH)] - 1]
        for metric in extras:
            assert summary[point_key(point, AT_VAL, metric)] == row[f"val/{metric}"]
            assert summary[point_key(point, AT_TEST, metric)] == row[f"test/{metric}"]
    for metric in extras:
        assert f"val/{metric}_se" not in rows[0]  # only the driving metric has a bootstrap SE


@pytest.fixture(scope="module")
def classification_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    extras = ["--extra-metric", "prc_auc", "--extra-metric", "accuracy", "--extra-metric", "f1"]
    return train(tmp_path_factory.mktemp("cls"), "--dataset", "bbbp", *extras, "--extra-metric", "mcc")


def test_classification_extras_are_logged_per_epoch_as_sklearn_scores_them(classification_run: Path) -> None:
    summary = read_summary(classification_run)
    assert summary["metric"] == "roc_auc"
    check_extras_are_sklearn_on_saved_predictions(classification_run, "bbbp", ["prc_auc", "accuracy", "f1", "mcc"])
    config = json.loads((classification_run / "greenft_config.json").read_text())
    assert config["data"]["extra_metrics"] == ["prc_auc", "accuracy", "f1", "mcc"]
    output = " ".join((classification_run.parents[1] / "output.txt").read_text().split())
    at = {part: {m: summary[point_key(Point.DEPLOYED, part, m)] for m in EXTRAS} for part in (AT_VAL, AT_TEST)}
    deployed = [f"{m} {at[AT_VAL][m]:.4f} / {at[AT_TEST][m]:.4f}" for m in EXTRAS]
    assert f"extra metrics at the deployed epoch (val / test): {', '.join(deployed)}" in output
    assert config["derived"]["dataset"]["extra_metrics"] == ["prc_auc", "accuracy", "f1", "mcc"]


def test_analysis_reads_the_runs_own_metric_with_the_extras_beside_it(classification_run: Path) -> None:
    from greenft.analysis.reader import epochs_frame, read_runs

    (record,) = read_runs(classification_run.parent, use_cache=False)
    assert record.metric == "roc_auc"
    frame = epochs_frame([record])
    rows = read_jsonl(classification_run / EPOCHS_FILE)
    assert frame["val_metric"].tolist() == [row["val/roc_auc"] for row in rows]
    assert frame["test/prc_auc"].tolist() == [row["test/prc_auc"] for row in rows]


def test_r2_can_drive_the_run_with_rmse_and_mae_beside_it(tmp_path: Path) -> None:
    files = train(tmp_path, "--dataset", "esol", "--metric", "r2", "--extra-metric", "rmse", "--extra-metric", "mae")
    summary, rows = read_summary(files), read_jsonl(files / EPOCHS_FILE)
    assert summary["metric"] == "r2"
    assert all(math.isfinite(row["val/r2_se"]) for row in rows)
    best = max(range(len(rows)), key=lambda i: (rows[i]["val/r2"], -i))  # r2 is maximised: ties, the earliest
    assert summary[point_key(Point.BEST, AT_EPOCH)] == best + 1
    check_extras_are_sklearn_on_saved_predictions(files, "esol", ["rmse", "mae"])


def error_line(tmp_path: Path, *flags: str) -> str:
    result = runner.invoke(app, ["train", *flags, *TINY, "--runs-dir", str(tmp_path / "runs")], env={"COLUMNS": "400"})
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert not list((tmp_path / "runs").rglob(EPOCHS_FILE))  # refused before any epoch
    return lines[0]


def test_a_metric_that_does_not_fit_the_task_is_one_line_before_training(tmp_path: Path) -> None:
    line = error_line(tmp_path, "--dataset", "bbbp", "--extra-metric", "rmse")  # a built-in set: before loading
    assert "data.extra_metrics" in line and "rmse" in line and "classification" in line and "roc_auc" in line
    user = ["--data-file", str(FIXTURES / "bbb_small.csv"), "--smiles-column", "smiles", "--target-column", "bbb"]
    line = error_line(tmp_path, *user, "--task-type", "regression", "--extra-metric", "f1")  # the config itself
    assert "data" in line and "f1" in line and "regression" in line
    line = error_line(tmp_path, *user, "--extra-metric", "r2")  # task type inferred from the file: after loading
    assert "data.extra_metrics" in line and "r2" in line and "classification" in line
    line = error_line(tmp_path, "--dataset", "esol", "--metric", "rmse", "--extra-metric", "rmse")
    assert "extra_metrics" in line and "data.metric already" in line
    line = error_line(tmp_path, "--dataset", "esol", "--extra-metric", "mae", "--extra-metric", "mae")
    assert "mae twice" in line
    line = error_line(tmp_path, "--dataset", "esol", "--extra-metric", "recall")
    assert "recall" in line and "prc_auc" in line


def _data(classification: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    if classification:
        targets = rng.integers(0, 2, size=(40, 3)).astype(float)
        predictions = np.round(rng.random((40, 3)), 1)
    else:
        targets = rng.normal(size=(40, 3))
        predictions = targets + rng.normal(scale=0.5, size=(40, 3))
    targets[rng.random((40, 3)) < 0.2] = np.nan
    return predictions, targets


EXTENDED = [Metric.PRC_AUC, Metric.ACCURACY, Metric.F1, Metric.MCC, Metric.R2]


@pytest.mark.parametrize("metric", EXTENDED)
def test_a_multi_task_score_is_the_mean_of_sklearns_per_task_scores(metric: Metric) -> None:
    predictions, targets = _data(metric is not Metric.R2)
    per_task = []
    for task in range(3):
        labelled = ~np.isnan(targets[:, task])
        per_task.append(sklearn_score(metric.value, targets[labelled, task], predictions[labelled, task]))
    assert score(predictions, targets, metric) == pytest.approx(np.mean(per_task), rel=1e-12)
    assert dataset_metric(predictions, targets, metric.value) == pytest.approx(np.mean(per_task), rel=1e-12)


@pytest.mark.parametrize("metric", EXTENDED)
def test_each_bootstrap_resample_is_the_metric_of_the_resampled_molecules(metric: Metric) -> None:
    predictions, targets = _data(metric is not Metric.R2)
    indices = resample_indices(40, resamples=15, seed=3)
    weighted = metric_statistics(predictions, targets, metric, counts_of(indices, 40))
    explicit = [score(predictions[row], targets[row], metric) for row in indices]
    np.testing.assert_allclose(weighted, explicit, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("metric", EXTENDED)
def test_resamples_of_a_tiny_set_hit_the_undefined_cases_as_the_explicit_score_does(metric: Metric) -> None:
    """Six molecules, 200 resamples: some draw one class (prc_auc NaN), one label value (r2 NaN), no predicted
    positive (f1 0, mcc 0); the vectorised resamples agree with scoring each resample explicitly."""
    if metric is Metric.R2:
        targets = np.array([[1.0], [2.0], [2.0], [3.0], [np.nan], [5.0]])
        predictions = np.array([[1.5], [2.0], [1.0], [3.5], [0.0], [4.0]])
    else:
        targets = np.array([[1.0], [0.0], [0.0], [1.0], [np.nan], [0.0]])
        predictions = np.array([[0.7], [0.2], [0.7], [0.4], [0.9], [0.2]])  # ties, and positives both sides of 0.5
    indices = resample_indices(6, resamples=200, seed=0)
    weighted = metric_statistics(predictions, targets, metric, counts_of(indices, 6))
    explicit = np.array([score(predictions[row], targets[row], metric) for row in indices])
    np.testing.assert_allclose(weighted, explicit, rtol=1e-9, atol=1e-12)
    assert np.isnan(explicit).any() or metric in (Metric.ACCURACY, Metric.F1, Metric.MCC)
    assert len(np.unique(explicit[np.isfinite(explicit)])) > 3  # resamples differ: the comparison is not vacuous


def test_a_sweep_or_a_yaml_names_the_extras_as_the_command_line_does(tmp_path: Path) -> None:
    from greenft.agents.config import load_trial_config
    from greenft.agents.overrides import apply_overrides

    swept = apply_overrides(None, {"extra_metric": ["mcc", "f1"], "dataset": "bbbp"}, "sweep")
    assert swept.data.extra_metrics == [Metric.MCC, Metric.F1]
    trial = tmp_path / "trial.yaml"
    trial.write_text("data: {dataset: esol, metric: mae, extra_metrics: [r2, rmse]}\n")
    config = load_trial_config(trial)
    assert (config.data.metric, config.data.extra_metrics) == (Metric.MAE, [Metric.R2, Metric.RMSE])
