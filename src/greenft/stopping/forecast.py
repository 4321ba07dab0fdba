"""Emission forecast: after the first epochs, what the whole epoch budget will cost (kg CO2, kWh, seconds).

carbontracker (Anthony et al. 2020) measures the first epoch(s) and predicts the full run as the number of
epochs times the mean per-epoch consumption. greenft reads cumulative totals at every epoch end (the ``fit``
phase: train + validation, exactly what the stopping rules see) and predicts from those, with one change: the
first epoch carries start-up costs (the tracker's and the data loader's warm-up, first-touch allocations), so
once a second epoch exists the per-epoch rate is the mean increment of epochs ``2..i`` and epoch 1 is counted
once, as it was measured:

    rate_i     = C_1                          i = 1 (carbontracker's estimate: nothing better is known)
    rate_i     = (C_i - C_1) / (i - 1)        i >= 2
    forecast_i = C_i + (N - i) * rate_i       the cumulative total after the budget of N epochs

``forecast_N = C_N`` exactly. The same ``rate`` is what :mod:`greenft.stopping.co2_budget` expects the next
epoch to cost (:func:`per_epoch_increment` is the one definition of it).

Pure: no torch, no meter, no files. The trainer feeds a :class:`EmissionForecaster`; analysis can call
:func:`forecast_totals` on a logged curve and get the very numbers the trainer logged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "DEFAULT_FORECAST_AFTER",
    "CumulativeReading",
    "EmissionForecaster",
    "Forecast",
    "ForecastError",
    "ForecastLike",
    "forecast_error",
    "forecast_error_pct",
    "forecast_total",
    "forecast_totals",
    "per_epoch_increment",
]

DEFAULT_FORECAST_AFTER = 2
"""Epochs measured before the first forecast: epoch 1 alone holds the start-up costs, epoch 2 gives a rate."""


class CumulativeReading(Protocol):
    """A cumulative reading (``greenft.tracking.EmissionReading`` fits): kg CO2-eq, kWh, seconds so far."""

    @property
    def emissions_kg(self) -> float: ...

    @property
    def energy_kwh(self) -> float: ...

    @property
    def duration_s(self) -> float: ...


@dataclass(frozen=True)
class Forecast:
    """The cumulative totals predicted for the whole budget, made at the end of ``epoch`` (readings ``1..epoch``)."""

    epoch: int
    budget_epochs: int
    emissions_kg: float
    energy_kwh: float
    duration_s: float


def per_epoch_increment(cumulative: Sequence[float]) -> float | None:
    """The expected cost of one more epoch from cumulative readings ``C_1..C_i`` (see the module docstring).

    ``None`` when there is no reading, or when the rate is not a finite number ``>= 0`` (a reading that went
    backwards or is NaN/inf): no estimate is better than a wrong one.
    """
    if not cumulative:
        return None
    first, current, count = float(cumulative[0]), float(cumulative[-1]), len(cumulative)
    rate = first if count == 1 else (current - first) / (count - 1)
    return rate if math.isfinite(rate) and rate >= 0.0 else None


def forecast_total(cumulative: Sequence[float], budget_epochs: int) -> float | None:
    """``C_i + (N - i) * rate_i``: the cumulative total after ``budget_epochs`` epochs; None without a rate."""
    if len(cumulative) > budget_epochs:
        raise ValueError(f"{len(cumulative)} readings for a budget of {budget_epochs} epochs")
    rate = per_epoch_increment(cumulative)
    if rate is None or not math.isfinite(cumulative[-1]):
        return None
    return float(cumulative[-1]) + (budget_epochs - len(cumulative)) * rate


class EmissionForecaster:
    """Fed the cumulative reading of every epoch, in order; from epoch ``after`` on it returns a forecast.

    ``after`` (k, default 2) is the number of epochs measured before the first forecast. Every later epoch gets
    a fresh forecast from all readings so far; the summary judges the first one (made at epoch k).
    """

    def __init__(self, budget_epochs: int, after: int = DEFAULT_FORECAST_AFTER) -> None:
        if budget_epochs < 1:
            raise ValueError(f"budget_epochs must be >= 1, got {budget_epochs}")
        if after < 1:
            raise ValueError(f"after (epochs before the forecast) must be >= 1, got {after}")
        self.budget_epochs = int(budget_epochs)
        self.after = int(after)
        self._kg: list[float] = []
        self._kwh: list[float] = []
        self._s: list[float] = []

    def update(self, reading: CumulativeReading) -> Forecast | None:
        """Add the next epoch's cumulative reading; the forecast made with it, or None (too early, no rate)."""
        self._kg.append(reading.emissions_kg)
        self._kwh.append(reading.energy_kwh)
        self._s.append(reading.duration_s)
        epoch = len(self._kg)
        if epoch < self.after:
            return None
        totals = [forecast_total(series, self.budget_epochs) for series in (self._kg, self._kwh, self._s)]
        kg, kwh, seconds = (math.nan if t is None else t for t in totals)
        return Forecast(epoch, self.budget_epochs, kg, kwh, seconds)


def forecast_totals(
    readings: Sequence[CumulativeReading], budget_epochs: int, after: int = DEFAULT_FORECAST_AFTER
) -> list[Forecast | None]:
    """The forecast of every epoch of a curve, as a live trial logs them (replay of the forecaster)."""
    forecaster = EmissionForecaster(budget_epochs, after)
    return [forecaster.update(reading) for reading in readings]


def forecast_error_pct(forecast: float, actual: float) -> float:
    """``100 * (forecast - actual) / actual``: positive when the forecast was too high; NaN when ``actual <= 0``
    (a wall-clock meter's zero kg) or either number is not finite."""
    if not (math.isfinite(forecast) and math.isfinite(actual)) or actual <= 0.0:
        return math.nan
    return 100.0 * (forecast - actual) / actual


@dataclass(frozen=True)
class ForecastError:
    """How far the first forecast (made at ``epoch``) was from what the full budget actually cost, in %."""

    epoch: int
    emissions_pct: float
    energy_pct: float
    time_pct: float


class ForecastLike(Protocol):
    """What :func:`forecast_error` reads of a forecast (``Forecast`` fits)."""

    @property
    def epoch(self) -> int: ...

    @property
    def budget_epochs(self) -> int: ...

    @property
    def emissions_kg(self) -> float: ...

    @property
    def energy_kwh(self) -> float: ...

    @property
    def duration_s(self) -> float: ...


def forecast_error(
    forecasts: Sequence[ForecastLike | None], actual: CumulativeReading, last_epoch: int
) -> ForecastError | None:
    """The error of the first forecast against ``actual``, the cumulative reading of ``last_epoch``.

    Only a run that trained its whole budget has an actual total to compare with: ``None`` when no forecast was
    made or the run ended before ``budget_epochs`` (stopped by a rule, interrupted, failed).
    """
    first = next((f for f in forecasts if f is not None), None)
    if first is None or last_epoch != first.budget_epochs:
        return None
    return ForecastError(
        first.epoch,
        forecast_error_pct(first.emissions_kg, actual.emissions_kg),
        forecast_error_pct(first.energy_kwh, actual.energy_kwh),
        forecast_error_pct(first.duration_s, actual.duration_s),
    )
