"""An explicit country (``--country`` / ``tracking.country_iso_code``) means that country's energy mix: the keys of
the user's CodeCarbon configuration that would still decide the intensity (a forced value, a region, a cloud
region) are switched off for the tracker, measured here with CodeCarbon's real offline tracker."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from greenft.tracking import CodeCarbonMeter
from greenft.tracking.config import codecarbon_energy_mix
from greenft.tracking.grid import SOURCE_GREENFT, grid_line


@pytest.fixture
def forcing_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory whose .codecarbon.config forces 500 g CO2/kWh and names a US region."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for key in [k for k in os.environ if k.lower().startswith("codecarbon_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / ".codecarbon.config"
    path.write_text("[codecarbon]\ncountry_iso_code=USA\nregion=california\nforce_carbon_intensity_g_co2e_kwh=500\n")
    return path


def _measure(meter: CodeCarbonMeter) -> float:
    meter.start()
    end = time.perf_counter() + 0.2
    while time.perf_counter() < end:
        pass
    reading = meter.stop()
    return reading.emissions_kg / reading.energy_kwh  # kg per kWh = g per Wh... = intensity / 1000


def test_an_explicit_country_is_measured_with_its_own_mix_not_the_configs_forced_intensity(
    forcing_config: Path,
) -> None:
    fra_g_per_kwh = float(codecarbon_energy_mix()["FRA"]["carbon_intensity"])
    assert fra_g_per_kwh != 500.0
    explicit = CodeCarbonMeter(country_iso_code="fra", measure_power_secs=60.0)
    assert _measure(explicit) == pytest.approx(fra_g_per_kwh / 1000, rel=1e-6)
    described = explicit.describe()
    assert described["country_source"] == SOURCE_GREENFT and described["grid_g_co2_per_kwh"] == fra_g_per_kwh
    assert "forced" not in str(grid_line(described)) and "region" not in str(grid_line(described))
    # without an explicit country the user's file still decides everything, its forced intensity included
    configured = CodeCarbonMeter(measure_power_secs=60.0)
    assert _measure(configured) == pytest.approx(0.5, rel=1e-6)
    assert configured.describe()["grid_g_co2_per_kwh"] == 500.0
