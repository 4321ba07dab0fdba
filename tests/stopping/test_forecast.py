"""The emission forecaster on hand-computed cumulative series: constant epochs, a start-up heavy first epoch, noise.

Every expected number below is worked out by hand in the comment beside it from the formulas of
docs/stopping.md ("Forecast and CO2 budget"); the series use binary-exact values so equality is exact.
"""

from __future__ import annotations

import math

import pytest

from greenft.stopping import EmissionForecaster, Forecast, forecast_error, forecast_totals, per_epoch_increment
from greenft.stopping.forecast import forecast_error_pct, forecast_total
from greenft.tracking.ledger import EmissionReading


def readings(kg: list[float], kwh: list[float] | None = None, s: list[float] | None = None) -> list[EmissionReading]:
    kwh = kwh if kwh is not None else [2 * x for x in kg]
    s = s if s is not None else [10 * x for x in kg]
    return [EmissionReading(a, b, c) for a, b, c in zip(kg, kwh, s, strict=True)]


def test_constant_epochs_forecast_the_exact_total_from_epoch_two() -> None:
    # 1 kg per epoch, budget 5: epoch 2 rate (2-1)/1 = 1 -> 2 + 3*1 = 5; epoch 3: 3 + 2*1 = 5
    forecasts = forecast_totals(readings([1.0, 2.0, 3.0]), budget_epochs=5)
    assert forecasts[0] is None  # default k = 2: no forecast after epoch 1
    assert forecasts[1] == Forecast(2, 5, 5.0, 10.0, 50.0)
    assert forecasts[2] == Forecast(3, 5, 5.0, 10.0, 50.0)


def test_a_start_up_heavy_first_epoch_is_left_out_of_the_rate() -> None:
    # epoch 1 costs 3 kg (start-up), later epochs 1 kg: C = 3, 4, 5, 6 over N = 4
    kg = [3.0, 4.0, 5.0, 6.0]
    forecasts = forecast_totals(readings(kg), budget_epochs=4)
    # epoch 2: rate (4-3)/1 = 1 -> 4 + 2*1 = 6, the actual total; carbontracker's N * C_1 would say 12
    assert forecasts[1] is not None and forecasts[1].emissions_kg == 6.0
    assert [f.emissions_kg for f in forecasts[1:] if f is not None] == [6.0, 6.0, 6.0]
    error = forecast_error(forecasts, readings(kg)[-1], last_epoch=4)
    assert error is not None and (error.epoch, error.emissions_pct, error.energy_pct, error.time_pct) == (2, 0, 0, 0)


def test_noisy_epochs() -> None:
    # C = 4, 5, 8, 8.5, 10.5 over N = 5 (increments 1, 3, 0.5, 2)
    kg = [4.0, 5.0, 8.0, 8.5, 10.5]
    got = [f.emissions_kg if f is not None else None for f in forecast_totals(readings(kg), 5)]
    # epoch 2: rate 1 -> 5 + 3*1 = 8; epoch 3: rate (8-4)/2 = 2 -> 8 + 2*2 = 12;
    # epoch 4: rate (8.5-4)/3 = 1.5 -> 8.5 + 1*1.5 = 10; epoch 5: 10.5 (nothing left)
    assert got == [None, 8.0, 12.0, 10.0, 10.5]
    error = forecast_error(forecast_totals(readings(kg), 5), readings(kg)[-1], last_epoch=5)
    assert error is not None and error.epoch == 2
    assert error.emissions_pct == pytest.approx(100 * (8.0 - 10.5) / 10.5)  # -23.8 %: the forecast was too low


def test_each_quantity_has_its_own_series() -> None:
    # kg constant 1/epoch; kWh start-up heavy (5, 6, 7); seconds noisy (2, 6, 8): budget 4
    data = readings([1.0, 2.0, 3.0], kwh=[5.0, 6.0, 7.0], s=[2.0, 6.0, 8.0])
    forecast = forecast_totals(data, 4)[2]
    # kg 3 + 1*1 = 4; kWh rate (7-5)/2 = 1 -> 7 + 1 = 8; s rate (8-2)/2 = 3 -> 8 + 3 = 11
    assert forecast == Forecast(3, 4, 4.0, 8.0, 11.0)


def test_k_one_is_carbontrackers_forecast_and_k_three_waits() -> None:
    # k = 1: epoch 1 rate C_1 = 2 -> 2 + 2*2 = 6 = N * C_1, carbontracker's prediction for N = 3
    assert forecast_totals(readings([2.0]), 3, after=1) == [Forecast(1, 3, 6.0, 12.0, 60.0)]
    assert [f is None for f in forecast_totals(readings([1.0, 2.0, 3.0]), 3, after=3)] == [True, True, False]


def test_no_rate_no_forecast() -> None:
    assert per_epoch_increment([]) is None
    assert per_epoch_increment([2.0, 1.0]) is None  # went backwards: no honest rate
    assert per_epoch_increment([1.0, math.nan]) is None
    assert per_epoch_increment([0.0, 0.0, 0.0]) == 0.0  # a wall-clock meter's kg: zero is a rate
    forecast = EmissionForecaster(3).update(EmissionReading(1.0, 1.0, 1.0))
    assert forecast is None
    fed = EmissionForecaster(3)
    fed.update(EmissionReading(2.0, 1.0, 1.0))
    got = fed.update(EmissionReading(1.0, 2.0, 2.0))  # kg backwards, kWh and seconds fine
    assert got is not None and math.isnan(got.emissions_kg) and got.energy_kwh == 3.0 and got.duration_s == 3.0


def test_error_only_when_the_budget_was_trained() -> None:
    kg = [3.0, 4.0, 5.0]
    forecasts = forecast_totals(readings(kg), budget_epochs=4)
    assert forecast_error(forecasts, readings(kg)[-1], last_epoch=3) is None  # stopped at 3 of 4: no actual
    assert forecast_error([None, None], readings([1.0, 2.0])[-1], last_epoch=2) is None  # never forecast
    zero = forecast_error(forecast_totals(readings([0.0, 0.0]), 2), EmissionReading(0.0, 0.0, 4.0), last_epoch=2)
    assert zero is not None and math.isnan(zero.emissions_pct)  # nothing to divide by
    assert forecast_error_pct(12.0, 10.0) == pytest.approx(20.0)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="budget_epochs"):
        EmissionForecaster(0)
    with pytest.raises(ValueError, match="after"):
        EmissionForecaster(3, after=0)
    with pytest.raises(ValueError, match="3 readings for a budget of 2"):
        forecast_total([1.0, 2.0, 3.0], 2)
