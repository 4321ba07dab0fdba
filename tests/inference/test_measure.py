"""greenft.inference.measure: the trainer's meter settings read from a model's training config, and the
per-1,000-molecule arithmetic on a real measurement."""

from __future__ import annotations

import math

import pytest

from greenft.agents.config import TrialConfig
from greenft.inference.measure import make_inference_meter, measure, tracking_of
from greenft.tracking.emissions import CodeCarbonMeter, WallClockMeter


def test_the_trainers_tracking_settings_are_read_back_from_the_training_config() -> None:
    config = TrialConfig.model_validate({"tracking": {"country_iso_code": "FRA", "measure_power_secs": 2.0}})
    tracking = tracking_of(config.model_dump(mode="json"))
    assert (tracking.meter, tracking.country_iso_code, tracking.measure_power_secs) == ("codecarbon", "FRA", 2.0)
    assert tracking_of({}) == TrialConfig().tracking  # a config without the section: the trainer's defaults
    wallclock = tracking_of({"tracking": {"meter": "wallclock"}})
    assert isinstance(make_inference_meter(wallclock), WallClockMeter)
    assert isinstance(make_inference_meter(tracking), CodeCarbonMeter)


def test_measure_returns_the_work_and_its_cost_per_1000_molecules() -> None:
    measured = measure(lambda: sum(range(200_000)), 40, tracking_of({"tracking": {"measure_power_secs": 1.0}}))
    assert measured.result == sum(range(200_000))
    assert measured.seconds > 0 and measured.emissions_kg >= 0 and measured.energy_kwh >= 0
    assert measured.kg_co2_per_1000 == pytest.approx(measured.emissions_kg * 25)  # 1000 / 40 molecules
    assert measured.kwh_per_1000 == pytest.approx(measured.energy_kwh * 25)
    assert measured.molecules_per_second == pytest.approx(40 / measured.seconds)
    assert measured.meter["meter"] == "codecarbon-offline"
    assert "codecarbon-offline" in measured.power_method()
    empty = measure(lambda: None, 0, tracking_of({"tracking": {"meter": "wallclock"}}))
    assert math.isnan(empty.kg_co2_per_1000) and empty.emissions_kg == 0.0  # a cost per no molecule is undefined
