"""Emission meters: CodeCarbon offline (the real one), and a wall-clock meter for overhead benchmarks.

CodeCarbon measures power on a schedule (``measure_power_secs``); ``flush()`` takes a fresh measurement when
the last one is older than 50 ms and returns the cumulative total, so reading at every epoch end works even
when an epoch is shorter than the schedule. We also force that sample for intervals under 50 ms, so even a
tiny epoch adds its (small, positive) energy instead of a zero that would leave AN-GES without an AER.
We capture the full reading (kg, kWh, seconds) through CodeCarbon's public output-handler hook rather than
its private fields. The offline tracker needs no network: the grid's carbon intensity comes from the country code.
On a GPU box the same tracker reads NVML.
Where no RAPL/NVML sensor is readable (containers, this CI machine), CodeCarbon *estimates* CPU power from
load and TDP; :meth:`CodeCarbonMeter.describe` says so and greenft prints and logs it.

CodeCarbon's own file, ``emissions.csv`` in the run's folder, is written in its ``update`` mode: every reading
rewrites one row per meter session (CodeCarbon's ``run_id``, fresh per tracker), holding that session's running
total. Appending, CodeCarbon's default, added one cumulative row per epoch, so summing the column, as CodeCarbon's
dashboards do, counted the run many times over. Its ``project_name`` is the W&B project and its ``experiment_id``
the W&B run id, so its rows join W&B's runs. The grid country follows :func:`greenft.tracking.grid.choose_grid`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from greenft.tracking.ledger import EmissionReading

if TYPE_CHECKING:
    from greenft.tracking.config import TrackingConfig


class EmissionMeter(Protocol):
    def start(self) -> None: ...
    def read(self) -> EmissionReading: ...
    def stop(self) -> EmissionReading: ...
    def describe(self) -> dict[str, Any]: ...


class EmissionTrackingError(RuntimeError):
    pass


class WallClockMeter:
    """Seconds only (zero kg, zero kWh): the baseline for measuring CodeCarbon's own overhead."""

    def __init__(self) -> None:
        self._t0: float | None = None

    def start(self) -> None:
        self._t0 = time.perf_counter()

    def read(self) -> EmissionReading:
        if self._t0 is None:
            raise EmissionTrackingError("meter not started")
        return EmissionReading(0.0, 0.0, time.perf_counter() - self._t0)

    def stop(self) -> EmissionReading:
        return self.read()

    def describe(self) -> dict[str, Any]:
        return {"meter": "wall-clock", "note": "no emissions measured"}


class CodeCarbonMeter:
    """CodeCarbon's ``OfflineEmissionsTracker`` read at every call of :meth:`read`."""

    def __init__(
        self,
        country_iso_code: str | None = None,
        measure_power_secs: float = 5.0,
        output_dir: Path | None = None,
        project_name: str = "greenft",
        experiment_id: str | None = None,
        country_source: str | None = None,
    ) -> None:
        """``country_iso_code`` None: the user's CodeCarbon configuration decides, else greenft's default
        (:func:`~greenft.tracking.grid.choose_grid`). ``experiment_id``: the W&B run id the CSV row joins to
        (None keeps CodeCarbon's, from the user's configuration or its built-in default). ``country_source``: where a
        given ``country_iso_code`` came from (default: greenft's own setting; a saved model's training grid)."""
        from codecarbon import OfflineEmissionsTracker
        from codecarbon.output_methods.base_output import BaseOutput

        from greenft.tracking.grid import SOURCE_GREENFT, choose_grid

        meter = self

        class _Capture(BaseOutput):
            def out(self, total: Any, delta: Any) -> None:
                meter._last_data = total

        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        self._last_data: Any = None
        self._grid = choose_grid(country_iso_code, explicit_source=country_source or SOURCE_GREENFT)
        self._country = self._grid.country_iso_code
        joined: dict[str, Any] = {} if experiment_id is None else {"experiment_id": experiment_id}
        self._tracker = OfflineEmissionsTracker(
            **self._grid.tracker_arguments(),  # the country; an explicit one also switches off region etc.
            measure_power_secs=measure_power_secs,
            project_name=project_name,
            save_to_file=output_dir is not None,
            output_dir=str(output_dir) if output_dir is not None else ".",
            on_csv_write="update",  # one row per session, rewritten at each reading: the column sums right
            output_handlers=[_Capture()],
            log_level="error",
            tracking_mode="process",
            allow_multiple_runs=True,
            **joined,
        )
        # CodeCarbon's file name: emissions.csv unless the user's configuration renames it (output_file)
        csv_name = str(getattr(self._tracker, "_output_file", None) or "emissions.csv")
        self._csv = output_dir / csv_name if output_dir is not None else None

    def start(self) -> None:
        self._tracker.start()

    def read(self) -> EmissionReading:
        # flush() measures only when the last sample is older than 50 ms; a tiny epoch (small data, a GPU)
        # would then add exactly zero and leave its AER undefined. Take a fresh sample first, whatever its age.
        measure = getattr(self._tracker, "_measure_power_and_energy_if_stale", None)
        if callable(measure):
            measure(min_interval_s=0.0)
        self._tracker.flush()
        return self._reading()

    def stop(self) -> EmissionReading:
        self._tracker.stop()
        return self._reading()

    def _reading(self) -> EmissionReading:
        data = self._last_data
        if data is None:
            raise EmissionTrackingError(
                f"CodeCarbon gave no reading (country {self._country!r} unknown to its offline energy mix?)"
            )
        return EmissionReading(float(data.emissions), float(data.energy_consumed), float(data.duration))

    def describe(self) -> dict[str, Any]:
        """How energy is obtained: CPU/GPU/RAM method, models, country; flags estimated (load-based) power."""
        conf = getattr(self._tracker, "_conf", {}) or {}
        hardware = [str(h) for h in conf.get("hardware", [])]
        estimated = any("Load" in h or "TDP" in h or "constant" in h.lower() for h in hardware if h.startswith("CPU"))
        note = (
            "CPU power is ESTIMATED from CPU load x TDP (no RAPL/powercap sensor readable); absolute kg CO2 are "
            "estimates, relative per-epoch changes (what AN-GES uses) follow the load"
            if estimated
            else "CPU power read from hardware counters"
        )
        return {
            "meter": "codecarbon-offline",
            "codecarbon_version": conf.get("codecarbon_version"),
            **self._grid.describe(),
            "codecarbon_project_name": getattr(self._tracker, "_project_name", None),
            "codecarbon_experiment_id": str(getattr(self._tracker, "_experiment_id", "")) or None,
            "codecarbon_run_id": str(getattr(self._tracker, "run_id", "")) or None,
            "emissions_csv": str(self._csv) if self._csv is not None else None,
            "hardware": hardware,
            "cpu_model": conf.get("cpu_model"),
            "gpu_model": conf.get("gpu_model") or None,
            "gpu_count": conf.get("gpu_count"),
            "cpu_power_estimated": estimated,
            "note": note,
        }


def make_emission_meter(
    meter: str,
    country_iso_code: str | None,
    measure_power_secs: float,
    output_dir: Path | None,
    project_name: str = "greenft",
    experiment_id: str | None = None,
    country_source: str | None = None,
) -> EmissionMeter:
    """The meter a ``tracking``-style setting names: ``wallclock`` (seconds only) or else CodeCarbon's, with the
    given grid country (None: the user's CodeCarbon configuration, else greenft's default) and sampling interval.
    The one factory training, pretraining and inference share. ``project_name``/``experiment_id`` label the rows
    of CodeCarbon's ``emissions.csv`` so they join the W&B project and run."""
    if meter == "wallclock":
        return WallClockMeter()
    return CodeCarbonMeter(
        country_iso_code=country_iso_code,
        measure_power_secs=measure_power_secs,
        output_dir=output_dir,
        project_name=project_name,
        experiment_id=experiment_id,
        country_source=country_source,
    )


def meter_for(
    tracking: TrackingConfig, output_dir: Path | None, project_name: str = "greenft", run_id: str | None = None
) -> EmissionMeter:
    """The meter a ``tracking`` section asks for: one definition for greenft's trainer and its Lightning callback
    (:mod:`greenft.integrations.lightning`), so both measure a run the same way; ``project_name`` and ``run_id``
    (the W&B project and run id) become the CodeCarbon rows' ``project_name`` and ``experiment_id``."""
    return make_emission_meter(
        tracking.meter, tracking.country_iso_code, tracking.measure_power_secs, output_dir, project_name, run_id
    )


#: The keys :func:`with_final_reading` adds to a meter description (the summary's ``total/metered_*``).
FINAL_EMISSIONS, FINAL_ENERGY, FINAL_DURATION = "final_emissions_kg", "final_energy_kwh", "final_duration_s"


def with_final_reading(meter_info: dict[str, Any], final: EmissionReading) -> dict[str, Any]:
    """``meter_info`` plus the meter's reading at stop: everything it measured, the closing after the last epoch
    (saving weights) included, which is what CodeCarbon's ``emissions.csv`` holds and sums to; the epoch totals
    stop at the last epoch's reading."""
    return {
        **meter_info,
        FINAL_EMISSIONS: final.emissions_kg,
        FINAL_ENERGY: final.energy_kwh,
        FINAL_DURATION: final.duration_s,
    }
