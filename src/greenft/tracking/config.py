"""How emissions are measured: the ``tracking`` settings shared by fine-tuning trials and pretraining runs.

Declared once here, below both users, so that ``greenft train`` and ``greenft pretrain`` accept the same values
with the same bounds (pretraining's settings extend this model rather than re-declaring its fields).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Meter = Literal["codecarbon", "wallclock"]


class TrackingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meter: Meter = Field("codecarbon", description="wallclock measures time only (overhead benchmarks); no emissions")
    country_iso_code: str = Field("USA", min_length=3, max_length=3, description="grid carbon intensity")
    measure_power_secs: float = Field(5.0, gt=0.0)
