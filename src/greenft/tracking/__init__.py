"""Measuring what training costs: CodeCarbon meters and the per-phase emissions ledger.

Names are imported lazily, on first use, as in greenft.sweeps: `greenft --help` and a user error found before any
work must not pay for the heavy modules (torch, RDKit, pandas) that only some of these names need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greenft.tracking.emissions import (
        CodeCarbonMeter,
        EmissionMeter,
        EmissionTrackingError,
        WallClockMeter,
        make_emission_meter,
        meter_for,
    )
    from greenft.tracking.ledger import EmissionReading, PhaseLedger

_EXPORTS = {
    "CodeCarbonMeter": "greenft.tracking.emissions",
    "EmissionMeter": "greenft.tracking.emissions",
    "EmissionTrackingError": "greenft.tracking.emissions",
    "WallClockMeter": "greenft.tracking.emissions",
    "make_emission_meter": "greenft.tracking.emissions",
    "meter_for": "greenft.tracking.emissions",
    "EmissionReading": "greenft.tracking.ledger",
    "PhaseLedger": "greenft.tracking.ledger",
}

__all__ = [
    "CodeCarbonMeter",
    "EmissionMeter",
    "EmissionReading",
    "EmissionTrackingError",
    "PhaseLedger",
    "WallClockMeter",
    "make_emission_meter",
    "meter_for",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'greenft.tracking' has no attribute {name!r}")
