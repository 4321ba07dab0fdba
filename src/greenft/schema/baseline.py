"""What ``greenft baseline --out FILE.json`` writes: one row per cheap baseline, beside the run's setting.

Why in schema: the analysis and the docs compare a fine-tuning run with these rows, so the row has one definition
that the writer (:mod:`greenft.agents.baselines`) and any reader import. Emissions are split as the trainer splits
them: ``fit`` (featurise the training molecules and fit) apart from ``predict`` (featurise and score val and test).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

BASELINE_FILE_VERSION = 1
"""Bumped when a field of :class:`BaselineRow` or :class:`BaselineReport` changes meaning."""


class BaselineRow(BaseModel):
    """One baseline's scores (the dataset's metric) and what fitting and predicting it cost."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    baseline: str
    val_metric: float
    test_metric: float
    fit_emissions_kg: float
    fit_energy_kwh: float
    fit_duration_s: float
    predict_emissions_kg: float
    predict_energy_kwh: float
    predict_duration_s: float
    prior_tasks: int = 0
    """Tasks answered by the prior because the training split had one class (or no label) there."""


class BaselineReport(BaseModel):
    """Every baseline of one dataset, split and seed: the same data and split ``greenft train`` would use."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = BASELINE_FILE_VERSION
    dataset: str
    split: str
    seed: int
    metric: str
    sizes: tuple[int, int, int]
    meter: dict[str, Any]
    rows: list[BaselineRow]
