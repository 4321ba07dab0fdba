"""How emissions are measured: the ``tracking`` settings shared by fine-tuning trials and pretraining runs.

Declared once here, below both users, so that ``greenft train`` and ``greenft pretrain`` accept the same values
with the same bounds (pretraining's settings extend this model rather than re-declaring its fields).
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

Meter = Literal["codecarbon", "wallclock"]

_ENERGY_MIX = Path("data", "private_infra", "global_energy_mix.json")


@cache
def codecarbon_energy_mix() -> dict[str, dict[str, object]]:
    """CodeCarbon's offline energy-mix table, by ISO-3 code (empty when it cannot be found): the countries its
    offline tracker knows, each with its ``carbon_intensity`` (g CO2/kWh), ``country_name`` and ``year``.

    Read from CodeCarbon's package data without importing CodeCarbon (seconds of imports for a lookup).
    """
    spec = importlib.util.find_spec("codecarbon")
    for root in (spec.submodule_search_locations or []) if spec is not None else []:
        table = Path(root) / _ENERGY_MIX
        if table.is_file():
            try:
                rows = json.loads(table.read_text())
            except (OSError, ValueError):
                return {}
            return {str(code): row for code, row in rows.items() if isinstance(row, dict)}
    return {}


def codecarbon_countries() -> frozenset[str]:
    """The ISO-3 codes CodeCarbon's offline tracker has an energy mix for (empty when that table cannot be found):
    for any other code the tracker logs an error nobody sees and uses the world average, so a run recorded as
    ``XYZ`` would carry the world's carbon intensity."""
    return frozenset(codecarbon_energy_mix())


class TrackingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meter: Meter = Field("codecarbon", description="wallclock measures time only (overhead benchmarks); no emissions")
    country_iso_code: str | None = Field(
        None,
        min_length=3,
        max_length=3,
        description="grid carbon intensity; unset: the user's CodeCarbon configuration, else USA (tracking.grid)",
    )
    measure_power_secs: float = Field(5.0, gt=0.0)

    @field_validator("country_iso_code")
    @classmethod
    def _known_country(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Upper case (CodeCarbon's table is), and a country CodeCarbon knows when it meters: an unknown one is
        refused rather than silently replaced by the world average (see :func:`codecarbon_countries`). Unset stays
        unset: the meter then takes the user's CodeCarbon configuration (:func:`greenft.tracking.grid.choose_grid`)."""
        if value is None:
            return None
        code = value.upper()
        known = codecarbon_countries() if info.data.get("meter", "codecarbon") == "codecarbon" else frozenset()
        if known and code not in known:
            raise ValueError(
                "CodeCarbon has no energy mix for this code and would use the world average; give an ISO 3166-1 "
                "alpha-3 code such as USA, FRA, DEU, ITA, SWE (or --meter wallclock, which measures no emissions)"
            )
        return code
