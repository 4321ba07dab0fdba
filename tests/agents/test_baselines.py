"""``greenft baseline``: cheap models on the data and split of a ``greenft train`` run, scored and measured.

The expected scores are computed here independently: fingerprints from RDKit's generator, scikit-learn models
fitted on the split indices greenft's splitter gives for the same config, the metric from scikit-learn / numpy.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from greenft.agents.baselines import fit_baseline, load_split, predict_baseline, run_baselines
from greenft.agents.config import TrialConfig
from greenft.cli import app
from greenft.data import LabelledMolecules, Split, SplitKind, TaskType, make_split
from greenft.schema.baseline import BaselineReport
from greenft.tracking import WallClockMeter, meter_for


def _config(dataset: str, **extra: object) -> TrialConfig:
    return TrialConfig.model_validate({"data": {"dataset": dataset, "limit": 300}, "threads": 1, **extra})


@pytest.fixture(scope="module")
def bbbp() -> tuple[TrialConfig, LabelledMolecules, Split]:
    config = _config("b3db", seed=1)
    return config, *load_split(config)


@pytest.fixture(scope="module")
def esol() -> tuple[TrialConfig, LabelledMolecules, Split]:
    config = _config("esol")
    return config, *load_split(config)


def _fingerprints(smiles: list[str]) -> np.ndarray:
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    return np.array([generator.GetFingerprintAsNumPy(Chem.MolFromSmiles(s)) for s in smiles])


def _greenft_split(config: TrialConfig, molecules: LabelledMolecules) -> Split:
    """The split `greenft train` makes for this config, read from the splitter itself."""
    return make_split(molecules.smiles, config.data.split, config.seed, config.data.split_fractions)


def test_random_forest_classifier_matches_an_independent_sklearn_fit(bbbp: tuple[TrialConfig, ...]) -> None:
    config, molecules, split = bbbp
    assert isinstance(config, TrialConfig) and isinstance(molecules, LabelledMolecules) and isinstance(split, Split)
    same = _greenft_split(config, molecules)
    assert all(np.array_equal(a, b) for a, b in zip(same.as_lists().values(), split.as_lists().values(), strict=True))
    x = _fingerprints(molecules.smiles)
    y = molecules.labels[:, 0]
    train = split.train[~np.isnan(y[split.train])]
    forest = RandomForestClassifier(n_jobs=1, random_state=config.seed).fit(x[train], y[train].astype(int))
    test = split.test[~np.isnan(y[split.test])]
    expected = roc_auc_score(y[test], forest.predict_proba(x[test])[:, 1])
    (row,) = run_baselines(config, molecules, split, WallClockMeter(), names=["morgan-rf"]).rows
    assert row.test_metric == pytest.approx(expected, abs=1e-12)
    assert 0.0 < row.test_metric < 1.0


def test_random_forest_regressor_matches_an_independent_sklearn_fit(esol: tuple[TrialConfig, ...]) -> None:
    config, molecules, split = esol
    assert isinstance(config, TrialConfig) and isinstance(molecules, LabelledMolecules) and isinstance(split, Split)
    x, y = _fingerprints(molecules.smiles), molecules.labels[:, 0]
    forest = RandomForestRegressor(n_jobs=1, random_state=config.seed).fit(x[split.train], y[split.train])
    expected = math.sqrt(float(np.mean((forest.predict(x[split.test]) - y[split.test]) ** 2)))
    (row,) = run_baselines(config, molecules, split, WallClockMeter(), names=["morgan-rf"]).rows
    assert row.test_metric == pytest.approx(expected, rel=1e-12)


def test_prior_scores_half_roc_auc_and_the_spread_around_the_train_mean(
    bbbp: tuple[TrialConfig, ...], esol: tuple[TrialConfig, ...]
) -> None:
    config, molecules, split = bbbp
    assert isinstance(config, TrialConfig) and isinstance(molecules, LabelledMolecules) and isinstance(split, Split)
    (row,) = run_baselines(config, molecules, split, WallClockMeter(), names=["prior"]).rows
    assert row.val_metric == 0.5 and row.test_metric == 0.5
    config, molecules, split = esol
    assert isinstance(config, TrialConfig) and isinstance(molecules, LabelledMolecules) and isinstance(split, Split)
    y = molecules.labels[:, 0]
    expected = math.sqrt(float(np.mean((y[split.test] - y[split.train].mean()) ** 2)))
    (row,) = run_baselines(config, molecules, split, WallClockMeter(), names=["prior"]).rows
    assert row.test_metric == pytest.approx(expected, rel=1e-12)


def test_a_task_with_one_class_in_train_is_answered_by_its_prior(esol: tuple[TrialConfig, ...]) -> None:
    molecules = esol[1]
    assert isinstance(molecules, LabelledMolecules)
    smiles = molecules.smiles[:40]
    mixed = np.array([i % 2 for i in range(40)], dtype=float)
    single = np.where(np.arange(40) % 3 == 0, np.nan, 1.0)  # one class (and missing labels) only
    fitted = fit_baseline("morgan-linear", smiles, np.stack([mixed, single], axis=1), TaskType.CLASSIFICATION, 0)
    assert fitted.prior_tasks == 1
    predictions = predict_baseline("morgan-linear", fitted, molecules.smiles[40:50])
    assert predictions.shape == (10, 2)
    assert np.all(predictions[:, 1] == 1.0) and np.all((predictions[:, 0] > 0) & (predictions[:, 0] < 1))


def test_codecarbon_measures_fit_and_predict_apart(esol: tuple[TrialConfig, ...]) -> None:
    config, molecules, split = esol
    assert isinstance(config, TrialConfig) and isinstance(molecules, LabelledMolecules) and isinstance(split, Split)
    report = run_baselines(config, molecules, split, meter_for(config.tracking, None))
    assert [row.baseline for row in report.rows] == ["morgan-rf", "morgan-linear", "prior"]
    assert report.meter["meter"] == "codecarbon-offline"
    for row in report.rows:
        for value in (row.fit_emissions_kg, row.fit_energy_kwh, row.fit_duration_s):
            assert value > 0, row
        for value in (row.predict_emissions_kg, row.predict_energy_kwh, row.predict_duration_s):
            assert value > 0, row
    forest, prior = report.rows[0], report.rows[2]
    assert forest.fit_duration_s > prior.fit_duration_s  # a forest of 100 trees costs more than a mean


def test_cli_prints_the_table_and_writes_the_rows(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    args = ["baseline", "--dataset", "esol", "--limit", "300", "--threads", "1", "--meter", "wallclock"]
    result = CliRunner().invoke(app, [*args, "--seed", "2", "--out", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "morgan-rf" in result.output and "test rmse" in result.output
    report = BaselineReport.model_validate(json.loads(out.read_text()))
    assert (report.dataset, report.split, report.seed, report.metric) == ("esol", "scaffold", 2, "rmse")
    assert sum(report.sizes) == 300 and [row.baseline for row in report.rows] == ["morgan-rf", "morgan-linear", "prior"]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--dataset", "no-such-set"], "no-such-set"),
        (["--dataset", "esol", "--limit", "4"], "data.limit = 4"),
        (["--dataset", "esol", "--set", "data.split_fractions=[0.5, 0.5, 0.5]"], "split_fractions"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(args: list[str], named: str) -> None:
    result = CliRunner().invoke(app, ["baseline", "--meter", "wallclock", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and len(result.output.strip().splitlines()) == 1, result.output
    assert named in result.output


def test_an_unwritable_out_is_told_before_any_fitting(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    args = ["baseline", "--dataset", "esol", "--meter", "wallclock", "--out", str(blocker / "rows.json")]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and len(result.output.strip().splitlines()) == 1, result.output
    assert "folder of --out" in result.output and "morgan-rf" not in result.output


def test_a_split_the_trainer_refuses_is_refused_in_one_line(tmp_path: Path, esol: tuple[TrialConfig, ...]) -> None:
    molecules = esol[1]
    assert isinstance(molecules, LabelledMolecules)
    smiles = molecules.smiles[:30]
    (negative, *_) = make_split(smiles, SplitKind.RANDOM, 0).train  # the one 0 label lands in train: test is all 1
    data = tmp_path / "one_class_in_test.csv"
    data.write_text("smiles,active\n" + "".join(f"{s},{int(i != negative)}\n" for i, s in enumerate(smiles)))
    args = ["baseline", "--data-file", str(data), "--smiles-column", "smiles", "--target-column", "active"]
    result = CliRunner().invoke(app, [*args, "--split", "random", "--seed", "0", "--meter", "wallclock"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and len(result.output.strip().splitlines()) == 1, result.output
    assert "one class only" in result.output
