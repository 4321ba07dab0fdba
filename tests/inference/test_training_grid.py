"""Inference is metered on the grid the model was trained on: a model trained under a FRA .codecarbon.config and
predicted where the configuration says DEU is measured with FRA's mix (break-even and precision rows compare kg
on one grid), and the printed grid line says the training run chose it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import small_trial
from greenft.agents.config import TrialConfig
from greenft.agents.trial import run_trial
from greenft.cli import app
from greenft.models.saved import load_saved_model
from greenft.tracking.config import codecarbon_energy_mix
from greenft.tracking.grid import SOURCE_TRAINING
from model_files import tiny_model


@pytest.fixture
def clean_codecarbon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    for key in [k for k in os.environ if k.lower().startswith("codecarbon_")]:
        monkeypatch.delenv(key)
    return tmp_path


def _config_dir(folder: Path, country: str) -> Path:
    folder.mkdir()
    (folder / ".codecarbon.config").write_text(f"[codecarbon]\ncountry_iso_code={country}\n")
    return folder


def test_a_trained_model_records_its_training_grid(
    tmp_path: Path, clean_codecarbon: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(_config_dir(tmp_path / "train", "FRA"))
    config = small_trial(
        tmp_path, data={"limit": 120}, model={"emb_dim": 16}, optim={"max_epochs": 1}, save_models="best"
    )
    result = run_trial(TrialConfig.model_validate(config))
    header = load_saved_model(result.files_dir / "model_best.pt").header
    assert header.training_config["tracking"]["country_iso_code"] is None  # the grid came from the file
    assert header.grid_country_iso_code == "FRA"


def test_predict_measures_on_the_training_grid_not_this_machines_config(
    tmp_path: Path, clean_codecarbon: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tiny_model(tmp_path / "model_best.pt", grid_country_iso_code="FRA")
    monkeypatch.chdir(_config_dir(tmp_path / "elsewhere", "DEU"))
    pd.DataFrame({"smiles": ["CCO", "c1ccccc1O"] * 20}).to_csv("in.csv", index=False)
    args = ["predict", "--model", str(model), "--data-file", "in.csv", "--out", "out.csv", "--device", "cpu"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    meter = json.loads(Path("out.csv.json").read_text())["emissions"]["meter"]
    assert meter["country_iso_code"] == "FRA" and meter["country_source"] == SOURCE_TRAINING
    assert meter["grid_g_co2_per_kwh"] == float(codecarbon_energy_mix()["FRA"]["carbon_intensity"])
    assert f"grid FRA from {SOURCE_TRAINING}" in " ".join(result.output.split())
    # a model saved before greenft kept the grid: this machine's configuration decides, and the line says so
    old = tiny_model(tmp_path / "old.pt")
    result = CliRunner().invoke(app, [*args[:2], str(old), *args[3:]], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert json.loads(Path("out.csv.json").read_text())["emissions"]["meter"]["country_iso_code"] == "DEU"


def test_quantize_meters_on_the_training_grid(
    tmp_path: Path, clean_codecarbon: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from greenft.inference.quantize import meter_factory

    model = tiny_model(tmp_path / "model_best.pt", grid_country_iso_code="FRA")
    monkeypatch.chdir(_config_dir(tmp_path / "elsewhere", "DEU"))
    meter = meter_factory(load_saved_model(model).header)()
    described = meter.describe()
    assert (described["country_iso_code"], described["country_source"]) == ("FRA", SOURCE_TRAINING)
