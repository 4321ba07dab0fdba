"""What the row and summary builders read, described by shape rather than by class.

Why protocols: the trainer's epoch record, the stopping rules' decisions and the emission readings live in
layers that already depend on torch or grow their own features. The schema only needs a handful of their
attributes, so it names those here and imports none of the classes; mypy checks at the trainer's call site
that the real objects fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

# A cumulative reading and a forecast are the forecaster's protocols (stopping, below schema): one definition.
from greenft.stopping.forecast import CumulativeReading as ReadingLike
from greenft.stopping.forecast import ForecastLike

__all__ = ["DecisionLike", "EpochLike", "ForecastLike", "ReadingLike", "RuleLike"]


class DecisionLike(Protocol):
    """One rule's answer for one epoch (``greenft.stopping.StopDecision``)."""

    @property
    def should_stop(self) -> bool: ...

    @property
    def reason(self) -> str: ...

    @property
    def phase(self) -> str: ...

    @property
    def delta_perf_pct(self) -> float | None: ...

    @property
    def delta_emis_pct(self) -> float | None: ...

    @property
    def aer(self) -> float | None: ...

    @property
    def ema(self) -> float | None: ...

    @property
    def threshold(self) -> float | None: ...


class EpochLike(Protocol):
    """One trained epoch as the trainer measured it (``greenft.agents.trial.EpochRecord``)."""

    @property
    def epoch(self) -> int: ...

    @property
    def train_loss(self) -> float: ...

    @property
    def val_metric(self) -> float: ...

    @property
    def val_loss(self) -> float: ...

    @property
    def val_metric_se(self) -> float: ...

    @property
    def val_loss_se(self) -> float: ...

    @property
    def test_metric(self) -> float: ...

    @property
    def val_extras(self) -> Mapping[str, float]:
        """The run's extra metrics (``data.extra_metrics``) on the validation split, by name (empty: none)."""
        ...

    @property
    def test_extras(self) -> Mapping[str, float]:
        """The same on the test split."""
        ...

    @property
    def fit(self) -> ReadingLike: ...

    @property
    def test_eval(self) -> ReadingLike: ...

    @property
    def decisions(self) -> Mapping[str, DecisionLike]: ...

    @property
    def forecast(self) -> ForecastLike | None: ...


class RuleLike(Protocol):
    """A stopping rule after the run (``greenft.stopping.StoppingRule``): where and why it stopped, if it did."""

    @property
    def stopped_epoch(self) -> int | None: ...

    @property
    def stop_reason(self) -> str | None: ...
