"""Labels a model cannot learn from, in process: what is refused, what is warned about, and the epoch guard.

The same cases run end to end through the CLI in tests/faults/test_data_faults.py; these pin the pieces.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import FIXTURES
from greenft.agents.finite import NonFiniteError, check_finite
from greenft.agents.fit import TargetScaler, score
from greenft.data import DatasetFileError, Metric, TaskType, load_molecules, user_dataset_spec
from greenft.data.labels import infer_task_type
from greenft.data.quality import duplicate_warnings


def _frame(values: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"y": values}, dtype=str)


@pytest.mark.parametrize(
    ("values", "task", "noted"),
    [
        (["0", "1", "1", "0"], TaskType.CLASSIFICATION, None),
        (["0", "1", "2", "1"], TaskType.REGRESSION, "0/1/2"),
        (["1", "2", "2"], TaskType.REGRESSION, "1/2"),
        (["0.5", "1.25", "-3"], TaskType.REGRESSION, None),
        ([str(v) for v in range(20)], TaskType.REGRESSION, None),  # many integers: a count, not classes
    ],
)
def test_task_type_inference_says_when_integers_became_regression(
    values: list[str], task: TaskType, noted: str | None
) -> None:
    inferred, note = infer_task_type(Path("f.csv"), _frame(values), ["y"])
    assert inferred is task
    if noted is None:
        assert note is None
    else:
        assert note is not None and f"integers {noted}" in note and "--task-type classification" in note


def test_repeated_molecules_are_grouped_by_rows_conflicting_apart_from_identical() -> None:
    smiles = ["CCO", "CCN", "CCO", "CCC", "CCN", "CCO"]
    labels = np.array([[1.0], [2.0], [1.0], [3.0], [2.0], [5.0]])
    rows = [1, 2, 4, 5, 7, 9]  # data rows of the valid molecules (row 3, 6, 8 were dropped)
    conflicting, identical = duplicate_warnings(Path("d.csv"), smiles, labels, rows)
    assert "1 molecule(s) appear in several rows with different labels (3 rows; rows 1/4/9)" in conflicting
    assert "1 molecule(s) appear in several rows with the same labels (rows 2/7); kept" in identical


def test_a_task_without_training_labels_scales_to_identity_without_nan_or_warnings() -> None:
    labels = np.array([[1.0, np.nan], [3.0, np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaler = TargetScaler.fit(labels, TaskType.REGRESSION)
    assert torch.isfinite(scaler.mean).all() and torch.isfinite(scaler.std).all()
    assert scaler.mean.tolist() == [2.0, 0.0] and scaler.std.tolist() == [1.0, 1.0]


def test_an_overflowing_rmse_is_inf_without_numpy_warnings() -> None:
    targets = np.array([[3e38], [1.0]], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert score(np.zeros_like(targets), targets, Metric.RMSE) == float("inf")


def _huge_file(tmp_path: Path) -> Path:
    rows = (FIXTURES / "freesolv_small.csv").read_text().strip().splitlines()
    rows[4] = rows[4].rsplit(",", 1)[0] + ",3e38"  # data row 4
    path = tmp_path / "huge.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_the_epoch_guard_names_the_label_rows_or_the_learning_rate(tmp_path: Path) -> None:
    molecules = load_molecules(user_dataset_spec(_huge_file(tmp_path), "smiles", ["dG_hyd"]))
    assert any("labels above 1.84e+19 in column 'dG_hyd' rows [4]" in w for w in molecules.warnings)
    check_finite(1, 0.5, 1.0, 1.0, molecules, lr=1e-3)  # all finite: nothing to say
    with pytest.raises(NonFiniteError, match=r"epoch 3: the validation rmse became inf: .*'dG_hyd' rows \[4\]"):
        check_finite(3, 0.5, float("inf"), 1.0, molecules, lr=1e-3)
    plain = load_molecules(user_dataset_spec(FIXTURES / "freesolv_small.csv", "smiles", ["dG_hyd"]))
    with pytest.raises(NonFiniteError, match=r"epoch 2: the training loss became nan: .*learning rate 0\.5"):
        check_finite(2, float("nan"), 1.0, 1.0, plain, lr=0.5)


def test_a_limited_sample_keeps_each_molecule_s_file_row(tmp_path: Path) -> None:
    full = load_molecules(user_dataset_spec(FIXTURES / "bbb_small.csv", "smiles", ["bbb"]))
    sample = load_molecules(user_dataset_spec(FIXTURES / "bbb_small.csv", "smiles", ["bbb"]), limit=20)
    by_row = dict(zip(full.rows, full.smiles, strict=True))
    assert len(sample.rows) == 20 and all(by_row[r] == s for r, s in zip(sample.rows, sample.smiles, strict=True))
    assert 11 not in full.rows and 12 not in full.rows  # the two broken SMILES rows were dropped


def test_values_beyond_float32_are_refused_with_their_rows(tmp_path: Path) -> None:
    path = tmp_path / "over.csv"
    path.write_text("smiles,y\nCCO,1\nCCN,-1e39\nCCC,2\nCCCl,Infinity\n")
    with pytest.raises(DatasetFileError, match=r"column 'y' has labels that are infinite .* rows \[2, 4\]"):
        load_molecules(user_dataset_spec(path, "smiles", ["y"]))
