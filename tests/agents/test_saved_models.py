"""A trial's saved models (model_best.pt, model_stop.pt): the epochs they hold, the summary keys, and predictions
that reproduce the logged test metric, in this process and after a restart (a new Python process).

Tiny real trials: a 2x16 GIN on ESOL (regression, lr 0.02 so the validation RMSE jumps and patience 1 stops in
shadow mode before the budget) and a 2x16 SMILES transformer on BBBP (classification). Every expectation comes
from the run's own log and greenft's metric code, none is hard-coded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import small_trial
from greenft.agents import TrialConfig, run_trial
from greenft.agents.fit import score
from greenft.agents.trial import EpochRecord, TrialContext, TrialResult, load_data
from greenft.data import Metric
from greenft.models.saved import load_saved_model
from greenft.schema import EPOCHS_FILE, SPLIT_FILE, Point, point_key, read_jsonl, read_summary
from greenft.schema.keys import BEST_MODEL_FILE, STOP_MODEL_FILE
from greenft.schema.summary import (
    AT_EPOCH,
    MODEL_BEST_EPOCH,
    MODEL_BEST_FILE,
    MODEL_BEST_FILE_BYTES,
    MODEL_PARAMETERS,
    MODEL_STOP_EPOCH,
    MODEL_STOP_FILE,
    MODEL_STOP_FILE_BYTES,
)

TINY: dict[str, Any] = {
    "model": {"num_layers": 2, "emb_dim": 16, "dropout": 0.0},
    "optim": {"max_epochs": 5, "batch_size": 64, "lr": 0.02},
    "tracking": {"meter": "wallclock"},
}
GIN_ESOL: dict[str, Any] = {
    **TINY,
    "data": {"dataset": "esol", "limit": 120},
    "stopping": {"rule": "patience", "patience": 1},
    "mode": "shadow",
}
TRANSFORMER_BBBP: dict[str, Any] = {
    **TINY,
    "data": {"dataset": "bbbp", "limit": 120},
    "model": {**TINY["model"], "name": "smiles-transformer"},
    "optim": {**TINY["optim"], "max_epochs": 3, "lr": 0.001},
}


def trial(tmp: Path, setup: dict[str, Any], **changes: Any) -> TrialConfig:
    return TrialConfig.model_validate(small_trial(tmp, **{**setup, **changes}))


@pytest.fixture(scope="module")
def gin_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrialConfig, TrialResult]:
    config = trial(tmp_path_factory.mktemp("gin"), GIN_ESOL)
    return config, run_trial(config)


@pytest.fixture(scope="module")
def transformer_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrialConfig, TrialResult]:
    config = trial(tmp_path_factory.mktemp("transformer"), TRANSFORMER_BBBP)
    return config, run_trial(config)


def test_files_hold_the_best_epoch_up_to_the_stop_and_the_stop(gin_run: tuple[TrialConfig, TrialResult]) -> None:
    config, result = gin_run
    rows = read_jsonl(result.files_dir / EPOCHS_FILE)
    summary = read_summary(result.files_dir)
    stop = summary[point_key(Point.STOP, AT_EPOCH)]
    assert stop < len(rows) == config.optim.max_epochs  # shadow mode trained past the live stop: not vacuous
    best = min((row["val/rmse"], row["epoch"]) for row in rows if row["epoch"] <= stop)[1]
    for name, which, epoch in ((BEST_MODEL_FILE, "best", best), (STOP_MODEL_FILE, "stop", stop)):
        header = load_saved_model(result.files_dir / name).header
        row = rows[epoch - 1]
        assert (header.which, header.epoch) == (which, epoch)
        assert (header.val_metric, header.test_metric) == (row["val/rmse"], row["test/rmse"])
        assert (header.emissions_kg, header.energy_kwh) == (
            row["emissions/cumulative_kg"],
            row["energy/cumulative_kwh"],
        )
        assert header.run_id == result.run_id and header.family == "gin" and header.dataset == "esol"
        assert header.model["checkpoint"] is None and header.training_config["mode"] == "shadow"
    parameters = json.loads((result.files_dir / "greenft_config.json").read_text())["derived"]["model"]["parameters"]
    assert (
        summary[MODEL_PARAMETERS]
        == parameters
        == load_saved_model(result.files_dir / BEST_MODEL_FILE).header.parameters
    )
    assert (summary[MODEL_BEST_EPOCH], summary[MODEL_STOP_EPOCH]) == (best, stop)
    for file_key, bytes_key in ((MODEL_BEST_FILE, MODEL_BEST_FILE_BYTES), (MODEL_STOP_FILE, MODEL_STOP_FILE_BYTES)):
        assert Path(summary[file_key]).stat().st_size == summary[bytes_key] > 0


def check_predictions_score_the_logged_metric(config: TrialConfig, result: TrialResult) -> None:
    molecules = load_data(config)
    test = json.loads((result.files_dir / SPLIT_FILE).read_text())["test"]
    rows = read_jsonl(result.files_dir / EPOCHS_FILE)
    metric = Metric(read_summary(result.files_dir)["metric"])
    for name in (BEST_MODEL_FILE, STOP_MODEL_FILE):
        model = load_saved_model(result.files_dir / name)
        predictions = model.predict([molecules.smiles[i] for i in test], batch_size=config.optim.batch_size)
        assert predictions.invalid == {}
        logged = rows[model.header.epoch - 1][f"test/{metric.value}"]
        assert score(predictions.values, molecules.labels[test], metric) == pytest.approx(logged, rel=1e-6, abs=1e-9)


def test_gin_predictions_reproduce_the_logged_test_metric(gin_run: tuple[TrialConfig, TrialResult]) -> None:
    check_predictions_score_the_logged_metric(*gin_run)


@pytest.mark.slow
def test_transformer_predictions_reproduce_the_logged_test_metric(
    transformer_run: tuple[TrialConfig, TrialResult],
) -> None:
    config, result = transformer_run
    assert load_saved_model(result.files_dir / BEST_MODEL_FILE).header.vocabulary
    check_predictions_score_the_logged_metric(config, result)


RESTART = """
import json, sys
import numpy as np
from greenft.models.saved import load_saved_model
predictions = load_saved_model(sys.argv[1]).predict(json.loads(sys.argv[2]), batch_size=7)
np.save(sys.argv[3], predictions.values)
print(json.dumps(predictions.invalid))
"""


def check_restart(result: TrialResult, tmp_path: Path) -> None:
    """A new Python process loads the file and predicts exactly what this process predicts."""
    molecules = ["CCO", "c1ccccc1O", "not-a-smiles", "", "CC(=O)Nc1ccc(O)cc1", "C1CC", "O=C(O)c1ccccc1C(=O)O"]
    path = result.files_dir / STOP_MODEL_FILE
    here = load_saved_model(path).predict(molecules, batch_size=7)
    out = tmp_path / "restart.npy"
    done = subprocess.run(
        [sys.executable, "-c", RESTART, str(path), json.dumps(molecules), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    there = json.loads(done.stdout.strip().splitlines()[-1])
    assert {int(k): v for k, v in there.items()} == here.invalid and sorted(here.invalid) == [2, 3, 5]
    np.testing.assert_array_equal(np.load(out), here.values)
    assert np.isnan(here.values[[2, 3, 5]]).all() and np.isfinite(here.values[[0, 1, 4, 6]]).all()


@pytest.mark.slow  # a second Python process imports torch, RDKit and PyG: ~30 s on a shared CPU
def test_gin_model_predicts_the_same_after_a_restart(gin_run: tuple[TrialConfig, TrialResult], tmp_path: Path) -> None:
    check_restart(gin_run[1], tmp_path)


@pytest.mark.slow
def test_transformer_model_predicts_the_same_after_a_restart(
    transformer_run: tuple[TrialConfig, TrialResult], tmp_path: Path
) -> None:
    check_restart(transformer_run[1], tmp_path)


def test_interrupted_run_saves_only_the_stop_model_it_was_asked_for(tmp_path: Path) -> None:
    """save_models: stop, and Ctrl-C after epoch 2 of 5: model_stop.pt holds epoch 2, model_best.pt is absent."""

    def interrupt(record: EpochRecord, context: TrialContext) -> str | None:
        if record.epoch == 2:
            raise KeyboardInterrupt
        return None

    config = trial(tmp_path, GIN_ESOL, mode="live", save_models="stop")
    with pytest.raises(KeyboardInterrupt):
        run_trial(config, on_epoch=interrupt)
    (summary_file,) = (tmp_path / "runs").rglob("greenft_summary.json")
    files = summary_file.parent
    summary = read_summary(files)
    assert summary["status"] == "interrupted"
    assert not (files / BEST_MODEL_FILE).exists() and MODEL_BEST_FILE not in summary
    assert summary[MODEL_STOP_EPOCH] == 2 == load_saved_model(files / STOP_MODEL_FILE).header.epoch


def test_save_models_refuses_an_unknown_choice(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="save_models"):
        trial(tmp_path, GIN_ESOL, save_models="sometimes")
