"""Multiclass classification (``task_type: multiclass``): a column of K classes read as indices with the class names
recorded, K logits trained with a masked cross-entropy, softmax predictions scored as scikit-learn scores them,
and the whole path through real ``greenft train``, the saved model and ``greenft predict`` on a small fixture
(tests/fixtures/freesolv_classes.csv: FreeSolv hydration energies binned into weak / moderate / strong).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef, roc_auc_score
from typer.testing import CliRunner

from greenft.agents.bootstrap import counts_of, metric_statistics, resample_indices
from greenft.agents.fit import TargetScaler, elementwise_loss, score
from greenft.cli import app
from greenft.data import DatasetFileError, Metric, TaskType, load_molecules, user_dataset_spec
from greenft.data.multiclass import class_labels
from greenft.models.saved import load_saved_model
from greenft.schema import EPOCHS_FILE, SPLIT_FILE, read_jsonl, read_summary
from greenft.schema.keys import BEST_MODEL_FILE, STOP_MODEL_FILE

runner = CliRunner()
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "freesolv_classes.csv"
CLASSES = ["moderate", "strong", "weak"]  # sorted distinct labels of the fixture
USER = ["--data-file", str(FIXTURE), "--smiles-column", "smiles", "--target-column", "solvation"]
TINY = ["--max-epochs", "2", "--layers", "2", "--emb-dim", "16", "--threads", "1", "--split", "random"]
TINY += ["--wandb-mode", "disabled", "--meter", "wallclock"]


def sklearn_scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    chosen = p.argmax(axis=1)
    return {
        "accuracy": float(accuracy_score(y, chosen)),
        "roc_auc": float(roc_auc_score(y, p, multi_class="ovr", average="macro", labels=list(range(p.shape[1])))),
        "f1": float(f1_score(y, chosen, average="macro", zero_division=0)),
        "mcc": float(matthews_corrcoef(y, chosen)),
    }


def test_classes_are_the_sorted_labels_of_the_file_numbers_as_numbers(tmp_path: Path) -> None:
    frame = pd.DataFrame({"smiles": ["C"] * 6, "y": [10, 2, None, 0, 2, 10]})
    spec = user_dataset_spec(write(tmp_path / "n.csv", frame), "smiles", ["y"], TaskType.MULTICLASS)
    labels, spec = class_labels(tmp_path / "n.csv", frame, spec)
    assert spec.classes == ("0", "2", "10")  # 10 after 2: numbers sort as numbers, not as text
    np.testing.assert_array_equal(labels[:, 0], [2.0, 1.0, np.nan, 0.0, 1.0, 2.0])
    words = pd.DataFrame({"smiles": ["C"] * 3, "y": ["b", "a", "c"]})
    assert class_labels(tmp_path / "w.csv", words, spec.model_copy(update={"target_columns": ("y",)}))[1].classes == (
        "a",
        "b",
        "c",
    )
    assert spec.metric is Metric.ACCURACY  # multiclass's default metric


def write(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_one_class_or_two_columns_are_refused(tmp_path: Path) -> None:
    frame = pd.DataFrame({"smiles": ["C", "CC"], "y": ["a", "a"], "z": ["a", "b"]})
    spec = user_dataset_spec(write(tmp_path / "f.csv", frame), "smiles", ["y"], TaskType.MULTICLASS)
    with pytest.raises(DatasetFileError, match=r"one class \('a'\); multiclass needs at least two classes"):
        class_labels(tmp_path / "f.csv", frame, spec)
    with pytest.raises(DatasetFileError, match="one target column, got 2"):
        class_labels(tmp_path / "f.csv", frame, spec.model_copy(update={"target_columns": ("y", "z")}))


def test_the_loss_is_the_cross_entropy_of_the_labelled_molecules() -> None:
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 0.0, 0.0], [1.0, 3.0, 0.0]])
    target = torch.tensor([[0.0], [float("nan")], [2.0]])
    losses, mask = elementwise_loss(
        logits, target, TaskType.MULTICLASS, TargetScaler.fit(np.zeros((1, 1)), TaskType.MULTICLASS)
    )
    z = logits.numpy().astype(np.float64)
    by_hand = [math.log(np.exp(z[i]).sum()) - z[i, c] for i, c in ((0, 0), (2, 2))]  # -log softmax of the label
    assert mask[:, 0].tolist() == [True, False, True]
    np.testing.assert_allclose(losses[[0, 2], 0].numpy(), by_hand, rtol=1e-6)


def _predictions(n: int = 60, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(n, classes))
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    targets = rng.integers(0, classes, size=(n, 1)).astype(float)
    targets[::7] = np.nan
    return probabilities, targets


@pytest.mark.parametrize("metric", [Metric.ACCURACY, Metric.ROC_AUC, Metric.F1, Metric.MCC])
def test_multiclass_scores_are_sklearns(metric: Metric) -> None:
    probabilities, targets = _predictions()
    labelled = ~np.isnan(targets[:, 0])
    expected = sklearn_scores(targets[labelled, 0].astype(int), probabilities[labelled])[metric.value]
    assert score(probabilities, targets, metric) == pytest.approx(expected, rel=1e-12)
    indices = resample_indices(60, resamples=10, seed=1)
    weighted = metric_statistics(probabilities, targets, metric, counts_of(indices, 60))
    explicit = [score(probabilities[row], targets[row], metric) for row in indices]
    np.testing.assert_allclose(weighted, explicit, rtol=1e-9)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    runs = tmp_path_factory.mktemp("multiclass") / "runs"
    extras = ["--extra-metric", "roc_auc", "--extra-metric", "f1", "--extra-metric", "mcc"]
    args = ["train", *USER, "--task-type", "multiclass", *extras, *TINY, "--runs-dir", str(runs)]
    result = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    (summary,) = runs.rglob("greenft_summary.json")
    return summary.parent


def test_train_logs_sklearns_scores_of_the_saved_models_probabilities(run: Path) -> None:
    assert read_summary(run)["metric"] == "accuracy"
    config = json.loads((run / "greenft_config.json").read_text())
    assert config["derived"]["dataset"]["classes"] == CLASSES and config["derived"]["dataset"]["tasks"] == 1
    rows = read_jsonl(run / EPOCHS_FILE)
    split = json.loads((run / SPLIT_FILE).read_text())
    molecules = load_molecules(user_dataset_spec(FIXTURE, "smiles", ["solvation"], TaskType.MULTICLASS))
    for name in (BEST_MODEL_FILE, STOP_MODEL_FILE):
        model = load_saved_model(run / name)
        assert model.header.classes == CLASSES and model.header.task_type == "multiclass"
        for part in ("val", "test"):
            indices = split[part]
            p = model.predict([molecules.smiles[i] for i in indices]).values
            assert p.shape == (len(indices), 3)
            np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
            expected = sklearn_scores(molecules.labels[indices, 0].astype(int), p)
            row = rows[model.header.epoch - 1]
            for metric, value in expected.items():
                assert row[f"{part}/{metric}"] == pytest.approx(value, rel=1e-5, abs=1e-7), (name, part, metric)


def test_predict_writes_a_probability_per_class_and_the_predicted_class(run: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "in.csv"
    inputs.write_text("smiles\nCCO\nnot-a-smiles\nc1ccccc1Cl\n")
    out = tmp_path / "out.csv"
    model_file = run / BEST_MODEL_FILE
    args = ["predict", "--model", str(model_file), "--data-file", str(inputs), "--out", str(out)]
    result = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, keep_default_na=False)
    columns = [f"solvation_prob_{name}" for name in CLASSES]
    assert list(table.columns) == ["smiles", *columns, "solvation", "error"]
    expected = load_saved_model(model_file).predict(["CCO", "c1ccccc1Cl"]).values
    np.testing.assert_allclose(table.loc[[0, 2], columns].astype(float).to_numpy(), expected, rtol=1e-6)
    assert table["solvation"].tolist() == [CLASSES[expected[0].argmax()], "", CLASSES[expected[1].argmax()]]
    assert table["error"][1] and not table["error"][0]


def error_line(tmp_path: Path, command: str, *flags: str) -> str:
    runs = tmp_path / "runs"
    result = runner.invoke(app, [command, *flags, "--runs-dir", str(runs)] if command == "train" else [command, *flags])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert not list(runs.rglob(EPOCHS_FILE))
    return lines[0]


def test_what_multiclass_cannot_do_is_one_line(tmp_path: Path) -> None:
    line = error_line(tmp_path, "train", *USER, "--task-type", "multiclass", "--metric", "prc_auc", *TINY)
    assert "prc_auc" in line and "multiclass" in line
    line = error_line(tmp_path, "train", *USER, "--task-type", "multiclass", "--extra-metric", "rmse", *TINY)
    assert "rmse" in line and "multiclass" in line
    two = ["--target-column", "smiles"]
    line = error_line(tmp_path, "train", *USER, *two, "--task-type", "multiclass", *TINY)
    assert "one target column" in line
    line = error_line(
        tmp_path, "baseline", *USER, "--task-type", "multiclass", "--split", "random", "--meter", "wallclock"
    )
    assert "multiclass" in line and "baseline" in line


def test_evaluate_refuses_a_multiclass_model_in_one_line(run: Path, tmp_path: Path) -> None:
    line = error_line(tmp_path, "evaluate", "--model", str(run / BEST_MODEL_FILE))
    assert "multiclass" in line and "greenft predict" in line
