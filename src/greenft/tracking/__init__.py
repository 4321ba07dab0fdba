"""Measuring what training costs: CodeCarbon meters and the per-phase emissions ledger."""

from greenft.tracking.emissions import CodeCarbonMeter, EmissionMeter, EmissionTrackingError, WallClockMeter
from greenft.tracking.ledger import EmissionReading, PhaseLedger

__all__ = [
    "CodeCarbonMeter",
    "EmissionMeter",
    "EmissionReading",
    "EmissionTrackingError",
    "PhaseLedger",
    "WallClockMeter",
]
