"""What using a model costs: one piece of work (predicting, evaluating) measured by the trainer's own meter.

Why the trainer's meter and settings: inference emissions are compared with the training emissions the run
logged (the break-even point of the analysis), so both must come from the same tracker (CodeCarbon offline)
with the same country (grid carbon intensity) and sampling period. The settings are read from the saved model's
training config (``tracking`` section); a model trained with ``meter: wallclock`` is measured the same way (time
only). Per-1,000-molecule figures make runs of different sizes comparable.

CodeCarbon's ``stop()`` takes a last sample, so even work shorter than its sampling period is measured; where no
RAPL/NVML sensor is readable (containers, this CI box) CPU power is *estimated* from load x TDP, which
:attr:`Measured.meter` (``describe()``) says and the commands print.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from greenft.tracking.config import TrackingConfig
from greenft.tracking.emissions import EmissionMeter, make_emission_meter
from greenft.tracking.grid import SOURCE_TRAINING

if TYPE_CHECKING:
    from greenft.models.saved import SavedModelHeader

__all__ = ["Measured", "make_inference_meter", "measure", "tracking_of"]

T = TypeVar("T")


@dataclass(frozen=True)
class Measured(Generic[T]):
    """The work's result and what it cost (seconds, kg CO2-eq, kWh), with per-1,000-molecule figures."""

    result: T
    molecules: int
    seconds: float
    emissions_kg: float
    energy_kwh: float
    meter: dict[str, Any] = field(default_factory=dict)

    def per_1000(self, value: float) -> float:
        """``value`` per 1,000 molecules (NaN for no molecule: a cost per nothing is undefined)."""
        return value * 1000.0 / self.molecules if self.molecules > 0 else float("nan")

    @property
    def kg_co2_per_1000(self) -> float:
        return self.per_1000(self.emissions_kg)

    @property
    def kwh_per_1000(self) -> float:
        return self.per_1000(self.energy_kwh)

    @property
    def seconds_per_1000(self) -> float:
        return self.per_1000(self.seconds)

    @property
    def molecules_per_second(self) -> float:
        return self.molecules / self.seconds if self.seconds > 0 else float("nan")

    def power_method(self) -> str:
        """One line: which meter, and whether CPU power was read or estimated."""
        note = self.meter.get("note")
        return f"{self.meter.get('meter', 'unknown meter')}" + (f": {note}" if note else "")

    def emissions_dict(self) -> dict[str, Any]:
        """The cost as JSON-ready data (the ``emissions`` entry of the commands' JSON outputs)."""
        return {
            "molecules": self.molecules,
            "seconds": self.seconds,
            "emissions_kg": self.emissions_kg,
            "energy_kwh": self.energy_kwh,
            "kg_co2_per_1000": self.kg_co2_per_1000,
            "kwh_per_1000": self.kwh_per_1000,
            "seconds_per_1000": self.seconds_per_1000,
            "molecules_per_second": self.molecules_per_second,
            "meter": self.meter,
        }


def tracking_of(training_config: Mapping[str, Any]) -> TrackingConfig:
    """The ``tracking`` settings a model was trained with (defaults where a config predates a field)."""
    section = training_config.get("tracking") if isinstance(training_config, Mapping) else None
    return TrackingConfig.model_validate(section if isinstance(section, Mapping) else {})


def model_grid(header: SavedModelHeader) -> tuple[str | None, str | None]:
    """The country (and where it came from, None: greenft's own setting) a saved model's inference is metered
    for: its training config's ``tracking.country_iso_code`` when set, else the grid its training run recorded
    (``grid_country_iso_code``), so break-even and precision rows compare kg on the training grid; (None, None)
    for a model saved before greenft kept it: this machine's CodeCarbon configuration, else USA, decides."""
    explicit = tracking_of(header.training_config).country_iso_code
    if explicit is None and header.grid_country_iso_code:
        return header.grid_country_iso_code, SOURCE_TRAINING
    return explicit, None


def make_inference_meter(
    tracking: TrackingConfig, output_dir: Path | None = None, header: SavedModelHeader | None = None
) -> EmissionMeter:
    """The meter :func:`greenft.agents.trial.make_meter` builds for training, from the same settings, on the
    saved model's training grid when ``header`` is given (:func:`model_grid`); ``output_dir`` None keeps
    CodeCarbon from writing its CSV (a prediction writes its own JSON)."""
    country, source = model_grid(header) if header is not None else (tracking.country_iso_code, None)
    return make_emission_meter(
        tracking.meter,
        country,
        tracking.measure_power_secs,
        output_dir,
        "greenft-inference",
        country_source=source,
    )


def measure(
    work: Callable[[], T],
    molecules: int,
    tracking: TrackingConfig,
    meter: EmissionMeter | None = None,
    header: SavedModelHeader | None = None,
) -> Measured[T]:
    """Run ``work`` under the meter and return its result with seconds (wall clock, ``perf_counter``), kg CO2-eq
    and kWh. ``molecules`` is the count the per-1,000 figures divide by (the molecules actually predicted)."""
    active = meter if meter is not None else make_inference_meter(tracking, header=header)
    active.start()
    described = active.describe()  # after start: CodeCarbon settles its hardware methods there
    started = time.perf_counter()
    try:
        result = work()
    finally:
        seconds = time.perf_counter() - started
        reading = active.stop()
    return Measured(result, molecules, seconds, reading.emissions_kg, reading.energy_kwh, described)
