"""The arithmetic of the Accuracy-Emission Ratio (AER), free of any state.

AN-GES compares how much the validation metric improved with how much the cumulative emissions grew over the
same epoch. Both are *percent* changes against the previous epoch, so the ratio is unit-free and comparable
between a light GNN and a heavy transformer. This module owns the exact definitions and every case where a
term is undefined; the rules in this package only decide what to do with the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class MetricDirection(StrEnum):
    """Whether a larger validation metric is better (ROC-AUC) or a smaller one (RMSE, MAE)."""

    MAXIMIZE = "max"
    MINIMIZE = "min"


@dataclass(frozen=True)
class AerTerms:
    """The three numbers of one epoch, or why they could not be computed.

    ``aer`` is ``None`` exactly when ``undefined_reason`` is set. The percent terms are kept even then, when
    they exist, so that a log shows what went wrong (for example a zero emission delta).
    """

    delta_perf_pct: float | None
    delta_emis_pct: float | None
    aer: float | None
    undefined_reason: str | None = None


def percent_improvement(previous: float, current: float, direction: MetricDirection) -> float | None:
    """Percent change of the metric vs the previous epoch, signed so that improvement is positive.

    For a maximised metric (ROC-AUC) this is ``100 * (current - previous) / |previous|``; for a minimised
    one (RMSE, MAE) it is the percent *reduction* ``100 * (previous - current) / |previous|``.

    Returns ``None`` when the change is undefined: a non-finite input, a previous value of zero with a
    different current value (no base to take a percentage of), or a percentage that overflows to infinity.
    Zero to zero is no change, ``0.0``.
    """
    if not (math.isfinite(previous) and math.isfinite(current)):
        return None
    maximize = MetricDirection(direction) is MetricDirection.MAXIMIZE
    change = current - previous if maximize else previous - current
    if previous == 0.0:
        return 0.0 if change == 0.0 else None
    percent = 100.0 * change / abs(previous)
    return percent if math.isfinite(percent) else None  # overflow from a subnormal base: no usable percentage


def percent_emission_increase(previous: float, current: float) -> float | None:
    """Percent increase of cumulative emissions ``100 * (E_i - E_{i-1}) / E_{i-1}``.

    Returns ``None`` when the previous total is not positive, either value is not finite, or the percentage
        overflows to infinity: the percentage has no usable base. A zero or negative result is returned as is;
    :func:`compute_aer` refuses to divide by it.
    """
    if not (math.isfinite(previous) and math.isfinite(current)) or previous <= 0.0:
        return None
    percent = 100.0 * (current - previous) / previous
    return percent if math.isfinite(percent) else None  # overflow from a subnormal base: no usable percentage


def compute_aer(
    previous_metric: float,
    metric: float,
    previous_emissions: float,
    emissions: float,
    direction: MetricDirection,
) -> AerTerms:
    """``AER_i = %ΔPerf_i / %ΔEmis_i`` with a reason whenever it is undefined.

    Undefined cases (each one is a documented decision, see ``docs/stopping.md``):

    * the metric change is undefined (non-finite metric, or a previous metric of exactly zero);
    * the previous cumulative emissions are zero, negative or non-finite (no percentage base);
    * the emission delta is zero: the tracker saw no energy over the epoch (its resolution), so the ratio
      would be an infinity carrying no information;
    * the emission delta is negative: cumulative emissions cannot fall, the reading is inconsistent;
    * the ratio overflows to infinity (a positive but subnormal emission delta).
    """
    delta_perf = percent_improvement(previous_metric, metric, direction)
    delta_emis = percent_emission_increase(previous_emissions, emissions)
    if delta_perf is None:
        return AerTerms(None, delta_emis, None, "metric change undefined (non-finite metric or zero base)")
    if delta_emis is None:
        return AerTerms(delta_perf, None, None, "emission change undefined (non-positive or non-finite base)")
    if delta_emis == 0.0:
        return AerTerms(delta_perf, delta_emis, None, "zero emission delta (below tracker resolution)")
    if delta_emis < 0.0:
        return AerTerms(delta_perf, delta_emis, None, "negative emission delta (non-monotone cumulative reading)")
    ratio = delta_perf / delta_emis
    if not math.isfinite(ratio):
        return AerTerms(delta_perf, delta_emis, None, "AER overflows (emission delta too small to divide by)")
    return AerTerms(delta_perf, delta_emis, ratio)


def effective_threshold_fraction(alpha: float, beta: float) -> float:
    """The fraction of the *previous* EMA below which AN-GES stops, once warmed up.

    AN-GES updates the EMA with the current AER before comparing: stop iff
    ``AER < beta * (alpha * AER + (1 - alpha) * EMA_prev)``. When ``alpha * beta < 1`` this rearranges to
    ``AER < k * EMA_prev`` with ``k = beta * (1 - alpha) / (1 - alpha * beta)``. With the draft's defaults
    (alpha 0.9, beta 0.2) ``k = 0.02 / 0.82 ≈ 0.0244``: the rule stops as soon as the AER falls below about
    2.4 % of the previous EMA, so in practice at the first epoch that does not improve the metric.

    Raises ``ValueError`` when ``alpha * beta >= 1`` (the rearrangement flips or degenerates).
    """
    if alpha * beta >= 1.0:
        raise ValueError(f"alpha*beta must be < 1 for a closed form, got alpha={alpha}, beta={beta}")
    return beta * (1.0 - alpha) / (1.0 - alpha * beta)
