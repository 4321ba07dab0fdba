"""``optim.loss`` and ``optim.optimizer``: the masked losses against torch's own loss modules and hand values, the
two weight decays on one hand-computed step, the misfit loss as one line, and real tiny trainings whose logged
``val/loss`` is tied to the logged metric by an identity (l1: MAE / sd; mse: RMSE^2 / sd^2)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from conftest import FIXTURES, small_trial
from greenft.agents import TrialConfig, run_trial
from greenft.agents.config import OptimConfig
from greenft.agents.fit import TargetScaler, elementwise_loss, masked_loss
from greenft.agents.objective import HUBER_DELTA, LossTaskError, resolve_loss
from greenft.agents.optimizers import make_optimizer
from greenft.agents.preflight import check_loss_fits_task
from greenft.cli import app
from greenft.data import TaskType, get_dataset_spec, load_molecules
from greenft.schema import CONFIG_FILE, EPOCHS_FILE, SPLIT_FILE

TINY = ["--limit", "120", "--max-epochs", "2", "--layers", "2", "--emb-dim", "16", "--threads", "1"]

# one batch of 4 molecules x 2 tasks, two labels missing; the scaler standardises each task
OUTPUT = torch.tensor([[0.5, -1.0], [2.0, 0.0], [-0.5, 3.0], [0.0, 1.5]])
TARGET = torch.tensor([[1.0, float("nan")], [4.0, 10.0], [float("nan"), 30.0], [-2.0, 20.0]])
SCALER = TargetScaler(mean=torch.tensor([1.0, 20.0]), std=torch.tensor([2.0, 10.0]))


def _independent(loss: torch.nn.Module) -> float:
    """torch's loss module (mean reduction) on the labelled entries only, standardised here by hand."""
    mask = ~torch.isnan(TARGET)
    scaled = (TARGET - SCALER.mean) / SCALER.std
    return float(loss(OUTPUT[mask], scaled[mask]))


@pytest.mark.parametrize(
    ("name", "module"),
    [("mse", torch.nn.MSELoss()), ("l1", torch.nn.L1Loss()), ("huber", torch.nn.HuberLoss(delta=1.0))],
)
def test_masked_regression_loss_is_torchs_own_loss_over_the_labelled_entries(
    name: str, module: torch.nn.Module
) -> None:
    got = float(masked_loss(OUTPUT, TARGET, TaskType.REGRESSION, SCALER, name))  # type: ignore[arg-type]
    assert got == pytest.approx(_independent(module), rel=1e-6)


def test_huber_entries_by_hand_quadratic_within_one_sd_linear_beyond() -> None:
    # task 1 standardised: (1-1)/2=0, (4-1)/2=1.5, (-2-1)/2=-1.5, errors 0.5, 0.5, 1.5 -> 0.5e^2, 0.5e^2, |e|-0.5
    # task 2 standardised: (10-20)/10=-1, (30-20)/10=1, (20-20)/10=0, errors 1.0, 2.0, 1.5 -> 0.5, 1.5, 1.0
    losses, mask = elementwise_loss(OUTPUT, TARGET, TaskType.REGRESSION, SCALER, "huber")
    assert HUBER_DELTA == 1.0
    expected = {(0, 0): 0.125, (1, 0): 0.125, (3, 0): 1.0, (1, 1): 0.5, (2, 1): 1.5, (3, 1): 1.0}
    for (row, task), value in expected.items():
        assert float(losses[row, task]) == pytest.approx(value)
    assert mask.sum() == 6


def test_classification_keeps_bce_and_the_default_loss_is_the_tasks() -> None:
    logits = torch.tensor([[2.0], [-1.0], [0.5]])
    labels = torch.tensor([[1.0], [0.0], [float("nan")]])
    identity = TargetScaler(torch.zeros(1), torch.ones(1))
    expected = float(torch.nn.BCEWithLogitsLoss()(logits[:2], labels[:2]))
    assert float(masked_loss(logits, labels, TaskType.CLASSIFICATION, identity)) == pytest.approx(expected)
    assert resolve_loss(None, TaskType.CLASSIFICATION, "x") == "bce"
    assert resolve_loss(None, TaskType.REGRESSION, "x") == "mse"
    assert resolve_loss(None, TaskType.MULTICLASS, "x") == "cross_entropy"
    for wrong, task in (("l1", TaskType.CLASSIFICATION), ("bce", TaskType.REGRESSION)):
        with pytest.raises(LossTaskError, match=f"optim.loss = '{wrong}' does not fit dataset x"):
            resolve_loss(wrong, task, "x")  # type: ignore[arg-type]


def test_adam_decays_through_the_gradient_adamw_decouples_it_one_step_by_hand() -> None:
    # zero gradient, w = 1, lr 0.1, weight_decay 0.5. Adam: g = wd*w = 0.5, first step lr * g/|g| = 0.1 -> 0.9.
    # AdamW: w *= 1 - lr*wd = 0.95, and a zero gradient moves it no further.
    after = {}
    for name in ("adam", "adamw"):
        weight = torch.nn.Parameter(torch.ones(1))
        optimizer = make_optimizer([weight], OptimConfig(lr=0.1, weight_decay=0.5, optimizer=name))  # type: ignore[arg-type]
        weight.grad = torch.zeros(1)
        optimizer.step()
        after[name] = float(weight.detach())
    assert after["adam"] == pytest.approx(0.9, abs=1e-6)
    assert after["adamw"] == pytest.approx(0.95, abs=1e-7)  # float32
    assert isinstance(make_optimizer([torch.nn.Parameter(torch.ones(1))], OptimConfig()), torch.optim.Adam)


def test_a_loss_that_does_not_fit_is_one_line_before_any_run(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    result = CliRunner().invoke(app, ["train", "--loss", "l1", "--runs-dir", str(runs)])  # b3db: classification
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: optim.loss = 'l1' does not fit dataset b3db (classification): a classification task trains with "
        "bce (leave --loss out for bce)"
    ]
    result = CliRunner().invoke(app, ["train", "--dataset", "freesolv", "--loss", "bce", "--runs-dir", str(runs)])
    assert result.exit_code == 2 and "'bce' does not fit dataset freesolv (regression)" in result.output
    result = CliRunner().invoke(app, ["train", "--loss", "cosine", "--runs-dir", str(runs)])
    assert result.exit_code == 2 and "--loss" in result.output and "cosine" in result.output
    assert not runs.exists()


def test_a_user_file_of_inferred_classification_refuses_a_regression_loss_before_the_run(tmp_path: Path) -> None:
    data = {"file": str(FIXTURES / "bbb_small.csv"), "smiles_column": "smiles", "target_columns": ["bbb"]}
    config = TrialConfig.model_validate(small_trial(tmp_path, data=data, optim={"loss": "huber", "max_epochs": 1}))
    with pytest.raises(LossTaskError, match="'huber' does not fit dataset bbb_small"):
        run_trial(config)
    assert not (tmp_path / "runs").exists()


def _train_std(files: Path, dataset: str, limit: int) -> float:
    """The training split's target sd as TargetScaler computes it (population sd), from the run's own split."""
    labels = load_molecules(get_dataset_spec(dataset), limit=limit).labels
    train = json.loads((files / SPLIT_FILE).read_text())["train"]
    return float(np.nanstd(labels[train, 0].astype(np.float32)))


def test_cli_training_with_l1_and_adamw_records_them_and_val_loss_is_the_val_mae_over_the_sd(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    args = ["train", "--dataset", "freesolv", "--metric", "mae", "--loss", "l1", "--optimizer", "adamw"]
    args += ["--weight-decay", "0.01"]
    result = CliRunner().invoke(app, [*args, *TINY, "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    files = next(runs.glob("wandb/*/files"))
    optim = json.loads((files / CONFIG_FILE).read_text())["optim"]
    assert (optim["loss"], optim["optimizer"], optim["weight_decay"]) == ("l1", "adamw", 0.01)
    rows = [json.loads(line) for line in (files / EPOCHS_FILE).read_text().splitlines()]
    assert len(rows) == 2
    std = _train_std(files, "freesolv", 120)
    for row in rows:  # one task: mean |pred - y| = sd * mean |pred_s - y_s|
        assert row["val/loss"] * std == pytest.approx(row["val/mae"], rel=1e-4)
        assert math.isfinite(row["train/loss"])


@pytest.mark.parametrize("loss", [None, "mse", "huber"])
def test_trials_with_mse_and_huber_record_what_trained(tmp_path: Path, loss: str | None) -> None:
    optim = {"max_epochs": 2, **({"loss": loss} if loss else {})}
    data = {"dataset": "freesolv", "limit": 120, "metric": "rmse"}
    config = TrialConfig.model_validate(small_trial(tmp_path, data=data, optim=optim))
    result = run_trial(config)
    recorded = json.loads((result.files_dir / CONFIG_FILE).read_text())["optim"]
    assert recorded["loss"] == (loss or "mse") and recorded["optimizer"] == "adam"
    std = _train_std(result.files_dir, "freesolv", 120)
    for record in result.epochs:
        if loss != "huber":  # mse: RMSE^2 = sd^2 * mean (pred_s - y_s)^2
            assert record.val_loss * std**2 == pytest.approx(record.val_metric**2, rel=1e-4)
        else:  # huber <= mse / 2 entrywise (equal within one sd), so val/loss <= RMSE^2 / (2 sd^2)
            assert record.val_loss <= record.val_metric**2 / (2 * std**2) * (1 + 1e-5)


def test_a_multiclass_task_trains_with_cross_entropy_and_refuses_a_regression_loss(tmp_path: Path) -> None:
    data = {
        "file": str(FIXTURES / "freesolv_classes.csv"),
        "smiles_column": "smiles",
        "target_columns": ["solvation"],
        "task_type": "multiclass",
        "split": "random",
    }
    with pytest.raises(LossTaskError, match=r"'mse' does not fit dataset .*freesolv_classes\.csv \(multiclass\)"):
        check_loss_fits_task(TrialConfig.model_validate(small_trial(tmp_path, data=data, optim={"loss": "mse"})))
    config = TrialConfig.model_validate(small_trial(tmp_path, data=data, optim={"max_epochs": 1}))
    result = run_trial(config)
    assert json.loads((result.files_dir / CONFIG_FILE).read_text())["optim"]["loss"] == "cross_entropy"
    assert math.isfinite(result.epochs[0].val_loss)
