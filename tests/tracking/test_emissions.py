from __future__ import annotations

import itertools
import time

import pytest

from greenft.tracking import CodeCarbonMeter, EmissionReading, PhaseLedger, WallClockMeter


def test_ledger_charges_intervals_to_phases() -> None:
    ledger = PhaseLedger()
    assert ledger.close("fit", EmissionReading(1.0, 10.0, 5.0)) == EmissionReading(1.0, 10.0, 5.0)
    assert ledger.close("test_eval", EmissionReading(1.5, 12.0, 6.0)) == EmissionReading(0.5, 2.0, 1.0)
    assert ledger.close("fit", EmissionReading(3.0, 20.0, 10.0)) == EmissionReading(2.5, 18.0, 9.0)
    assert ledger.grand_total() == EmissionReading(3.0, 20.0, 10.0)
    assert ledger.clamped_readings == 0


def test_ledger_never_decreases_and_counts_clamps() -> None:
    ledger = PhaseLedger()
    ledger.close("fit", EmissionReading(2.0, 2.0, 2.0))
    after_drop = ledger.close("fit", EmissionReading(1.0, 1.0, 3.0))  # a reading that went backwards
    assert after_drop == EmissionReading(2.0, 2.0, 3.0)
    assert ledger.clamped_readings == 1
    assert ledger.close("fit", EmissionReading(2.5, 2.5, 4.0)) == EmissionReading(2.5, 2.5, 4.0)


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1


def test_codecarbon_meter_readings_grow_with_work_even_between_scheduled_measurements() -> None:
    meter = CodeCarbonMeter(country_iso_code="ITA", measure_power_secs=60.0)  # scheduler would not fire
    meter.start()
    try:
        readings = []
        for _ in range(3):
            _busy(0.3)
            readings.append(meter.read())
    finally:
        final = meter.stop()
    kg = [r.emissions_kg for r in readings]
    assert all(b > a for a, b in itertools.pairwise(kg)), kg
    assert readings[-1].energy_kwh > 0 and readings[-1].duration_s >= 0.9
    assert final.emissions_kg >= kg[-1]
    info = meter.describe()
    assert info["meter"] == "codecarbon-offline" and info["country_iso_code"] == "ITA"
    assert isinstance(info["cpu_power_estimated"], bool)
    if info["cpu_power_estimated"]:
        assert "ESTIMATED" in info["note"]


def test_carbon_intensity_follows_the_country() -> None:
    totals = {}
    for country in ("SWE", "POL"):  # a low- and a high-carbon grid
        meter = CodeCarbonMeter(country_iso_code=country, measure_power_secs=60.0)
        meter.start()
        _busy(0.3)
        reading = meter.stop()
        totals[country] = reading.emissions_kg / reading.energy_kwh
    assert totals["POL"] > 3 * totals["SWE"]


def test_wallclock_meter_reports_time_only() -> None:
    meter = WallClockMeter()
    with pytest.raises(RuntimeError):
        meter.read()
    meter.start()
    reading = meter.read()
    assert reading.emissions_kg == 0.0 and reading.duration_s >= 0.0
