"""Cumulative emissions split by phase, kept monotone: pure bookkeeping, no CodeCarbon here.

The tracker yields one ever-growing total. The stopping rule must see only what training itself spends
(train + validation), not the test-set evaluation greenft adds for analysis, so each interval between two
readings is charged to the phase that just ended. Cumulative values never decrease: a reading below the
previous one (float noise, a tracker hiccup) adds zero, and that is counted in ``clamped_readings``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EmissionReading:
    """A cumulative reading: kg CO2-eq, kWh, seconds."""

    emissions_kg: float = 0.0
    energy_kwh: float = 0.0
    duration_s: float = 0.0

    def plus(self, other: EmissionReading) -> EmissionReading:
        return EmissionReading(
            self.emissions_kg + other.emissions_kg,
            self.energy_kwh + other.energy_kwh,
            self.duration_s + other.duration_s,
        )


class PhaseLedger:
    """Charge the interval since the previous reading to a named phase; totals per phase are monotone."""

    def __init__(self) -> None:
        self._last = EmissionReading()
        self.totals: dict[str, EmissionReading] = {}
        self.clamped_readings = 0

    def close(self, phase: str, reading: EmissionReading) -> EmissionReading:
        """Charge ``reading - previous reading`` (each component floored at 0) to ``phase``; its new total."""
        delta = EmissionReading(
            max(0.0, reading.emissions_kg - self._last.emissions_kg),
            max(0.0, reading.energy_kwh - self._last.energy_kwh),
            max(0.0, reading.duration_s - self._last.duration_s),
        )
        if (
            reading.emissions_kg < self._last.emissions_kg
            or reading.energy_kwh < self._last.energy_kwh
            or reading.duration_s < self._last.duration_s
        ):
            self.clamped_readings += 1
        self._last = EmissionReading(
            max(reading.emissions_kg, self._last.emissions_kg),
            max(reading.energy_kwh, self._last.energy_kwh),
            max(reading.duration_s, self._last.duration_s),
        )
        total = self.totals.get(phase, EmissionReading()).plus(delta)
        self.totals[phase] = total
        return total

    def total(self, phase: str) -> EmissionReading:
        return self.totals.get(phase, EmissionReading())

    def grand_total(self) -> EmissionReading:
        out = EmissionReading()
        for reading in self.totals.values():
            out = out.plus(reading)
        return out
