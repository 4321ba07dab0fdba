"""Multi-task classification with missing labels, as a user's Tox21/SIDER/ToxCast file has them, end to end.

The file is made of real molecules: slices of BBBP, BACE and ClinTox side by side, each row labelled for its
own task only (the others empty), which is exactly the sparsity pattern of a merged assay table.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from conftest import small_trial
from greenft.agents.config import parse_trial_config
from greenft.agents.fit import TargetScaler, masked_loss, score
from greenft.agents.trial import run_trial
from greenft.cli import app
from greenft.data import Metric, TaskType, get_dataset_spec, load_molecules, user_dataset_spec

TASKS = {"bbbp": "p_np", "bace": "Class", "clintox": "Y"}


@pytest.fixture(scope="module")
def merged_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("multitask") / "assays.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["smiles", *TASKS.values()])
        for index, name in enumerate(TASKS):
            data = load_molecules(get_dataset_spec(name), limit=120)
            for smiles, label in zip(data.smiles, data.labels[:, 0], strict=True):
                row = ["", "", ""]
                row[index] = str(int(label))
                writer.writerow([smiles, *row])
        writer.writerow(["CCO", "", "", ""])  # a molecule without any label: reported and dropped
    return path


def test_missing_labels_are_nan_and_the_task_type_is_inferred(merged_file: Path) -> None:
    spec = user_dataset_spec(merged_file, "smiles", list(TASKS.values()))
    assert spec.task_type is TaskType.CLASSIFICATION and spec.metric is Metric.ROC_AUC
    data = load_molecules(spec)
    assert data.labels.shape == (360, 3) and data.num_tasks == 3
    assert (np.isnan(data.labels).sum(axis=1) == 2).all()  # one label per molecule
    assert [(d.row, d.why) for d in data.dropped] == [(361, "no label")]


def test_masked_loss_ignores_missing_labels() -> None:
    output = torch.tensor([[2.0, -1.0], [0.5, 3.0]])
    target = torch.tensor([[1.0, float("nan")], [float("nan"), 0.0]])
    scaler = TargetScaler.fit(np.zeros((2, 2)), TaskType.CLASSIFICATION)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor([2.0, 3.0]), torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(masked_loss(output, target, TaskType.CLASSIFICATION, scaler), expected)


def test_roc_auc_is_the_mean_over_tasks_with_both_classes() -> None:
    targets = np.array([[1.0, 1.0, np.nan], [0.0, 1.0, 0.0], [1.0, np.nan, np.nan], [0.0, 1.0, 1.0]])
    predictions = np.array([[0.9, 0.2, 0.5], [0.1, 0.3, 0.2], [0.8, 0.5, 0.5], [0.2, 0.9, 0.1]])
    # task 0: AUC 1.0; task 1: one class only -> left out; task 2: AUC 0.0
    assert score(predictions, targets, Metric.ROC_AUC) == pytest.approx(0.5)


def test_fine_tune_on_a_sparse_multitask_file(merged_file: Path, tmp_path: Path) -> None:
    config = parse_trial_config(
        small_trial(
            tmp_path,
            data={"dataset": "file", "file": str(merged_file), "smiles_column": "smiles",
                  "target_columns": list(TASKS.values()), "split": "random"},
            optim={"max_epochs": 2, "batch_size": 64},
            tracking={"meter": "wallclock"},
            logging={"runs_dir": str(tmp_path / "runs"), "wandb_mode": "disabled"},
        )
    )  # fmt: skip
    result = run_trial(config)
    assert result.status == "finished"
    assert all(np.isfinite(e.val_metric) and np.isfinite(e.train_loss) for e in result.epochs)
    assert (result.files_dir / "greenft_split.json").is_file()


def test_cli_fine_tune_with_repeated_target_columns(merged_file: Path, tmp_path: Path) -> None:
    args = ["train", "--data-file", str(merged_file), "--smiles-column", "smiles"]
    for column in TASKS.values():
        args += ["--target-column", column]
    args += ["--split", "random", "--max-epochs", "1", "--layers", "1", "--emb-dim", "16", "--meter", "wallclock"]
    args += ["--runs-dir", str(tmp_path), "--wandb-mode", "disabled", "--threads", "1"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "3 task(s)" in result.output and "1 rows dropped" in result.output
