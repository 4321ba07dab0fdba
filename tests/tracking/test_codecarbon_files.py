"""CodeCarbon's own outputs as a CodeCarbon user reads them (real CodeCarbon tracker, real trainer, real CLI).

- ``emissions.csv`` sums to the run's total (one row per meter session, CodeCarbon's update mode), its rows carry
  the W&B project and run id;
- the grid country follows the user's ``.codecarbon.config`` / ``CODECARBON_COUNTRY_ISO_CODE`` unless greenft's
  own setting overrides it, and the run records (and prints) which one it used and why.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import small_trial
from greenft.agents.config import TrialConfig
from greenft.agents.trial import run_trial
from greenft.cli import app
from greenft.schema import EPOCHS_FILE, SUMMARY_FILE
from greenft.schema.history import EMISSIONS, ENERGY, TEST_EVAL_EMISSIONS, TEST_EVAL_ENERGY, TEST_EVAL_TIME, TIME
from greenft.schema.summary import (
    METER_COUNTRY,
    METER_COUNTRY_SOURCE,
    TOTAL_EMISSIONS,
    TOTAL_ENERGY,
    TOTAL_METERED_EMISSIONS,
    TOTAL_METERED_ENERGY,
    TOTAL_TEST_EVAL_EMISSIONS,
    TOTAL_TEST_EVAL_ENERGY,
)
from greenft.tracking import CodeCarbonMeter
from greenft.tracking.config import codecarbon_energy_mix
from greenft.tracking.grid import SOURCE_DEFAULT, SOURCE_GREENFT, CodeCarbonConfigError, choose_grid, grid_line


@pytest.fixture
def no_user_codecarbon_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home and working directory, no CODECARBON_* variables: only what a test writes configures CodeCarbon."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for key in list(os.environ):
        if key.lower().startswith("codecarbon_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(work)
    return work


def _write_config(folder: Path, **keys: str) -> Path:
    path = folder / ".codecarbon.config"
    path.write_text("[codecarbon]\n" + "".join(f"{k}={v}\n" for k, v in keys.items()))
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_emissions_csv_has_one_row_per_session_and_sums_to_the_meters_totals(
    tmp_path: Path, no_user_codecarbon_config: Path
) -> None:
    """Two sessions in one folder (a resumed pretraining run): two rows, each its session's final reading; the
    column's sum is their sum. CodeCarbon's default, append mode, left one cumulative row per read here (8)."""
    finals = []
    for session in range(2):
        meter = CodeCarbonMeter(
            country_iso_code="DEU", measure_power_secs=60.0, output_dir=tmp_path, experiment_id="run-abc"
        )
        meter.start()
        for _ in range(3):
            _busy(0.1)
            meter.read()
        finals.append(meter.stop())
        rows = _rows(tmp_path / "emissions.csv")
        assert len(rows) == session + 1
    by_id = {row["run_id"]: row for row in rows}
    assert len(by_id) == 2  # one CodeCarbon run id per session
    assert {row["experiment_id"] for row in rows} == {"run-abc"}
    assert {row["project_name"] for row in rows} == {"greenft"}
    assert {row["country_iso_code"] for row in rows} == {"DEU"}
    total_kg = sum(f.emissions_kg for f in finals)
    total_kwh = sum(f.energy_kwh for f in finals)
    assert sum(float(r["emissions"]) for r in rows) == pytest.approx(total_kg, rel=1e-9)
    assert sum(float(r["energy_consumed"]) for r in rows) == pytest.approx(total_kwh, rel=1e-9)
    info = meter.describe()
    assert info["codecarbon_experiment_id"] == "run-abc" and info["codecarbon_run_id"] in by_id
    assert info["emissions_csv"] == str(tmp_path / "emissions.csv")


def test_a_trained_runs_emissions_csv_sums_to_its_total_and_joins_its_wandb_run(
    tmp_path: Path, no_user_codecarbon_config: Path
) -> None:
    """A real trial (offline W&B) in a folder whose .codecarbon.config says FRA: emissions.csv sums to the meter's
    total at stop (the summary's total/metered_*) within 1 %, which covers the epochs' totals (fit + test
    evaluation) and the closing after the last epoch; the CSV's experiment_id is the W&B run id and project_name
    the W&B project; the run records FRA and the file that chose it."""
    local = _write_config(no_user_codecarbon_config, country_iso_code="FRA")
    config = small_trial(
        tmp_path,
        data={"limit": 120},
        model={"emb_dim": 16},
        optim={"max_epochs": 2},
        logging={"wandb_mode": "offline", "project": "cc-join"},
    )
    started = time.perf_counter()
    result = run_trial(TrialConfig.model_validate(config))
    wall_s = time.perf_counter() - started  # an independent clock around the whole run
    summary = json.loads((result.files_dir / SUMMARY_FILE).read_text())
    rows = _rows(result.files_dir / "emissions.csv")
    assert len(rows) == 1
    (row,) = rows
    assert row["experiment_id"] == result.run_id and row["project_name"] == "cc-join"
    metered_kg, metered_kwh = summary[TOTAL_METERED_EMISSIONS], summary[TOTAL_METERED_ENERGY]
    assert sum(float(r["emissions"]) for r in rows) == pytest.approx(metered_kg, rel=0.01)
    assert sum(float(r["energy_consumed"]) for r in rows) == pytest.approx(metered_kwh, rel=0.01)
    epochs_kg = summary[TOTAL_EMISSIONS] + summary[TOTAL_TEST_EVAL_EMISSIONS]
    epochs_kwh = summary[TOTAL_ENERGY] + summary[TOTAL_TEST_EVAL_ENERGY]
    assert 0 < epochs_kg <= metered_kg * (1 + 1e-9) and 0 < epochs_kwh <= metered_kwh * (1 + 1e-9)  # float sums
    assert (summary[METER_COUNTRY], summary[METER_COUNTRY_SOURCE]) == ("FRA", str(local.resolve()))
    assert row["country_iso_code"] == "FRA"
    # Independent of total/metered_*: the row is greenft's own ledger at its last epoch reading (the epochs file's
    # cumulative fit + test evaluation) plus the closing measured after it. So, per quantity, the row is at least
    # the ledger; the closing's kg / kWh is the grid's (FRA) intensity like the whole row's; and the row's seconds fit
    # inside the test's own wall clock around the run (one cumulative row per reading, summed, would not).
    last = json.loads((result.files_dir / EPOCHS_FILE).read_text().splitlines()[-1])
    ledger_kg, ledger_kwh = last[EMISSIONS] + last[TEST_EVAL_EMISSIONS], last[ENERGY] + last[TEST_EVAL_ENERGY]
    ledger_s = last[TIME] + last[TEST_EVAL_TIME]
    csv_kg, csv_kwh, csv_s = float(row["emissions"]), float(row["energy_consumed"]), float(row["duration"])
    assert ledger_kg <= csv_kg * (1 + 1e-9) and ledger_kwh <= csv_kwh * (1 + 1e-9) and ledger_s <= csv_s + 1e-6
    assert csv_s <= wall_s
    fra = float(codecarbon_energy_mix()["FRA"]["carbon_intensity"]) / 1000  # kg per kWh
    assert csv_kg / csv_kwh == pytest.approx(fra, rel=1e-6) and ledger_kg / ledger_kwh == pytest.approx(fra, rel=1e-6)
    if csv_kwh - ledger_kwh > 1e-3 * csv_kwh:  # a closing large enough for its ratio to be above rounding
        assert (csv_kg - ledger_kg) / (csv_kwh - ledger_kwh) == pytest.approx(fra, rel=1e-3)
    if csv_s - ledger_s < 0.01 * csv_s:  # a negligible closing: the row is the ledger's total within 1 %
        assert csv_kg == pytest.approx(ledger_kg, rel=0.01)


def test_the_grid_follows_the_users_codecarbon_config_unless_greenft_sets_it(
    no_user_codecarbon_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CodeCarbon's own reader and order: home file < working-directory file < environment; greenft's explicit
    setting above all; greenft's default only when nothing sets it. The intensity printed is the table's."""
    work = no_user_codecarbon_config
    mix = codecarbon_energy_mix()
    assert choose_grid(None).country_iso_code == "USA" and choose_grid(None).source == SOURCE_DEFAULT
    home_file = _write_config(Path(os.environ["HOME"]), country_iso_code="SWE")
    assert (choose_grid(None).country_iso_code, choose_grid(None).source) == ("SWE", str(home_file.resolve()))
    local = _write_config(work, country_iso_code="fra")
    grid = choose_grid(None)
    assert (grid.country_iso_code, grid.source) == ("FRA", str(local.resolve()))
    assert grid.g_co2_per_kwh == mix["FRA"]["carbon_intensity"]
    assert f"{grid.g_co2_per_kwh:.0f} g CO2/kWh" in grid.intensity and "France" in grid.intensity
    monkeypatch.setenv("CODECARBON_COUNTRY_ISO_CODE", "POL")
    assert (choose_grid(None).country_iso_code, choose_grid(None).source) == ("POL", "CODECARBON_COUNTRY_ISO_CODE")
    assert (choose_grid("deu").country_iso_code, choose_grid("deu").source) == ("DEU", SOURCE_GREENFT)
    monkeypatch.setenv("CODECARBON_FORCE_CARBON_INTENSITY_G_CO2E_KWH", "123")
    forced = choose_grid(None)
    assert forced.g_co2_per_kwh == 123.0 and "CODECARBON_FORCE_CARBON_INTENSITY_G_CO2E_KWH" in forced.intensity
    monkeypatch.setenv("CODECARBON_COUNTRY_ISO_CODE", "XYZ")
    with pytest.raises(CodeCarbonConfigError, match=r"'XYZ' \(from CODECARBON_COUNTRY_ISO_CODE\)"):
        choose_grid(None)


def test_a_forced_intensity_in_the_users_config_reaches_codecarbon(
    no_user_codecarbon_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys greenft does not set go to CodeCarbon untouched: kg / kWh is the forced intensity."""
    path = _write_config(no_user_codecarbon_config, country_iso_code="FRA", force_carbon_intensity_g_co2e_kwh="500")
    meter = CodeCarbonMeter(measure_power_secs=60.0)
    meter.start()
    _busy(0.2)
    reading = meter.stop()
    assert reading.emissions_kg / reading.energy_kwh == pytest.approx(0.5, rel=1e-6)
    assert meter.describe()["grid_g_co2_per_kwh"] == 500.0
    where = path.resolve()  # the run-start line of train / pretrain / baseline
    assert grid_line(meter.describe()) == f"FRA from {where}; intensity: forced to 500 g CO2/kWh by {where}"
    assert grid_line({"meter": "wall-clock"}) is None


_TINY = ["--dataset", "b3db", "--limit", "120", "--max-epochs", "1", "--layers", "2", "--emb-dim", "16"]
_TINY += ["--threads", "1", "--wandb-mode", "disabled", "--runs-dir", "runs"]


def _summary(work: Path) -> dict[str, object]:
    (path,) = (work / "runs").glob(f"*/{SUMMARY_FILE}")
    summary: dict[str, object] = json.loads(path.read_text())
    (work / "read").mkdir(exist_ok=True)
    path.parent.rename(work / "read" / path.parent.name)  # out of runs/: the next run's summary is the only one
    return summary


@pytest.mark.slow
def test_train_cli_records_and_prints_the_country_of_a_codecarbon_config_and_the_flag_overrides_it(
    no_user_codecarbon_config: Path,
) -> None:
    """`greenft train` in a folder holding .codecarbon.config (FRA): the run records FRA and that file, and prints
    the grid; --country DEU overrides it; an unknown code in the file is one error line, exit 2."""
    work = no_user_codecarbon_config
    config = _write_config(work, country_iso_code="FRA")
    runner = CliRunner()
    result = runner.invoke(app, ["train", *_TINY], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    summary = _summary(work)
    assert (summary[METER_COUNTRY], summary[METER_COUNTRY_SOURCE]) == ("FRA", str(config.resolve()))
    assert f"grid FRA from {config.resolve()}; intensity: CodeCarbon's offline energy mix for FRA" in result.output
    (csv_file,) = (work / "read").glob("*/emissions.csv")
    assert [row["country_iso_code"] for row in _rows(csv_file)] == ["FRA"]

    result = runner.invoke(app, ["train", *_TINY, "--country", "DEU"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    summary = _summary(work)
    assert (summary[METER_COUNTRY], summary[METER_COUNTRY_SOURCE]) == ("DEU", SOURCE_GREENFT)

    _write_config(work, country_iso_code="XYZ")
    result = runner.invoke(app, ["train", *_TINY], env={"COLUMNS": "250"})
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "country_iso_code = 'XYZ'" in errors[0] and ".codecarbon.config" in errors[0]
    assert not list((work / "runs").glob("greenft-run-*"))  # told before any run folder (agents.preflight)


@pytest.mark.slow
def test_the_installed_greenft_command_honours_the_environment_variable(
    no_user_codecarbon_config: Path,
) -> None:
    """The real `greenft` executable in its own process, its country from CODECARBON_COUNTRY_ISO_CODE."""
    work = no_user_codecarbon_config
    env = {**os.environ, "CODECARBON_COUNTRY_ISO_CODE": "SWE", "COLUMNS": "250"}
    exe = Path(sys.executable).with_name("greenft")
    done = subprocess.run([str(exe), "train", *_TINY], cwd=work, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = _summary(work)
    assert (summary[METER_COUNTRY], summary[METER_COUNTRY_SOURCE]) == ("SWE", "CODECARBON_COUNTRY_ISO_CODE")
    assert "grid SWE from CODECARBON_COUNTRY_ISO_CODE" in done.stdout
