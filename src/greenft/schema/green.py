"""The metric-free "green" view of a run: where it stopped, what that saved in CO2 and what it cost in quality.

Why a separate group: ``stop/test_roc_auc`` and ``stop/test_rmse`` are different keys, so one W&B
parallel-coordinates or sweep panel cannot show runs of a classification and a regression dataset side by side,
and no summary key held the CO2 saved or the quality lost. The ``green/*`` keys (table in
:mod:`greenft.schema.summary`) have the same names for every metric, and a sign that does not depend on the
metric's direction.

The two percentages are defined here, once, and are the very functions the analysis' trade-off tables use
(:mod:`greenft.analysis.tradeoff` imports them): ``green/co2_saved_pct`` of a run is the ``emissions_saved_pct`` of
its live rule's row and ``green/quality_change_pct`` its ``test_vs_best_val_pct``.

Pure: no files, no W&B.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from greenft.schema.inputs import EpochLike
from greenft.stopping import MetricDirection

__all__ = ["FullSource", "GreenView", "emissions_saved_pct", "metric_change_pct"]


def emissions_saved_pct(stop_kg: float, full_kg: float) -> float:
    """``100 * (full - stop) / full``; NaN when either is not finite or the full budget emitted nothing."""
    if not (math.isfinite(stop_kg) and math.isfinite(full_kg)) or full_kg <= 0.0:
        return math.nan
    return 100.0 * (full_kg - stop_kg) / full_kg


def metric_change_pct(value: float, reference: float, direction: MetricDirection) -> float:
    """Signed percent change vs ``reference``, positive = better, negative = worse; NaN when undefined.

    ``100 * (m - ref) / |ref|`` for a maximised metric, ``100 * (ref - m) / |ref|`` for a minimised one.
    """
    if not (math.isfinite(value) and math.isfinite(reference)) or reference == 0.0:
        return math.nan
    sign = 1.0 if MetricDirection(direction) is MetricDirection.MAXIMIZE else -1.0
    return 100.0 * sign * (value - reference) / abs(reference)


class FullSource(StrEnum):
    """Where ``green/kg_full`` comes from (``green/kg_full_source``)."""

    MEASURED = "measured"  # the run trained its whole budget (shadow mode, or a live rule that never fired)
    FORECAST = "forecast"  # a live run that ended early: the forecast of the budget made at its last epoch


@dataclass(frozen=True)
class GreenView:
    """What the ``green/*`` keys read, from the summary's own epochs (built by :mod:`greenft.schema.summary`).

    ``stop``: the epoch the live rule stopped at (the last epoch trained when it never did); ``deployed``: the
    epoch whose weights that stop hands over (run's deploy policy); ``best``: the best-validation epoch of the
    epochs trained (None: no finite value); ``complete``: the epochs are the whole budget, so ``best`` is
    best-val (hindsight) and the full budget's kg were measured; ``last``: the last epoch trained.
    """

    stop: EpochLike
    deployed: EpochLike
    best: EpochLike | None
    last: EpochLike
    complete: bool
    direction: MetricDirection

    @property
    def full_source(self) -> FullSource | None:
        if self.complete:
            return FullSource.MEASURED
        forecast = self.last.forecast
        if forecast is not None and math.isfinite(forecast.emissions_kg):
            return FullSource.FORECAST
        return None

    def kg_full(self) -> float:
        """The full budget's training kg (train + validation): measured, else forecast (see :class:`FullSource`)."""
        source = self.full_source
        if source is FullSource.MEASURED:
            return self.last.fit.emissions_kg
        if source is FullSource.FORECAST and self.last.forecast is not None:
            return self.last.forecast.emissions_kg
        return math.nan

    def co2_saved_pct(self) -> float:
        return emissions_saved_pct(self.stop.fit.emissions_kg, self.kg_full())

    def quality_best(self) -> float:
        """The best-validation epoch's test metric (NaN: no finite validation value)."""
        return self.best.test_metric if self.best is not None else math.nan

    def quality_change_pct(self) -> float:
        """Deployed-at-stop test metric vs best-val (hindsight)'s: meant for a complete curve only."""
        return metric_change_pct(self.deployed.test_metric, self.quality_best(), self.direction)
