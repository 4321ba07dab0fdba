"""Signal pre-processors: what may be done to the monitored value and its AER before a rule decides on it.

Why: with its defaults the exact AN-GES rule stops at the first epoch whose validation metric does not improve
once warm-up is over, so on a small, noisy validation set one unlucky epoch ends the run (on 45 shadow runs the
median stop cost 21.6 % of test quality). Each function here removes one source of such false stops, and each is
switched off by its neutral value, under which it returns its input unchanged (the rule ``anges-pp`` with every
pre-processor off decides exactly as ``anges``; a property test holds it):

* :func:`smooth` (EMA of the monitored value): a one-epoch blip moves the smoothed value by a fraction only;
* :func:`window_reference` (AER over K epochs): compare with epoch ``i - K`` instead of ``i - 1``, so a slow
  trend is not lost in epoch-to-epoch noise;
* :class:`Streak` (act only after ``k`` consecutive triggers);
* :func:`dead_band`: a change smaller than the metric's bootstrap standard error is no change (``%ΔPerf = 0``);
* :func:`warmup_epochs`: a warm-up given as a fraction of the epoch budget, so long budgets warm up longer.

Pure: standard library only, no state beyond what the caller keeps (a rule's whole state stays a JSON dict).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from greenft.stopping.aer import AerTerms

__all__ = ["DeadBand", "Streak", "dead_band", "smooth", "warmup_epochs", "window_reference"]


def smooth(previous: float | None, value: float, smoothing: float) -> float:
    """One EMA step of the monitored value: ``s~_i = smoothing * s~_{i-1} + (1 - smoothing) * s_i``.

    ``smoothing`` is the weight of the past (TensorBoard's convention): ``0`` is off and returns ``value``
    itself (bit for bit), ``0.6`` keeps 60 % of the history. The first value (``previous is None``) starts the
    EMA unchanged, so the smoothed curve has no bias towards zero.
    """
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    if previous is None or smoothing == 0.0:
        return value
    return smoothing * previous + (1.0 - smoothing) * value


def window_reference(history: Sequence[tuple[float, float]], window: int) -> tuple[float, float]:
    """The (value, cumulative emissions) that epoch ``i`` is compared with: ``K = window`` epochs back.

    ``history`` holds the finite epochs seen so far, oldest first, the current one last. The reference is the
    entry ``K`` places before the current one, or the oldest entry while fewer than ``K`` precede it (epochs
    ``2..K`` compare with epoch 1 rather than waiting). ``K = 1`` is the previous epoch, as in Algorithm 1.
    """
    if window < 1:
        raise ValueError(f"window K must be >= 1, got {window}")
    if len(history) < 2:
        raise ValueError("a reference needs at least one epoch before the current one")
    return history[max(0, len(history) - 1 - window)]


@dataclass(frozen=True)
class DeadBand:
    """What :func:`dead_band` did: the terms to use and, when it zeroed the change, the numbers it compared."""

    terms: AerTerms
    zeroed: bool
    raw_delta_perf_pct: float | None = None
    se_pct: float | None = None


def dead_band(terms: AerTerms, standard_error: float | None, reference: float) -> DeadBand:
    """``%ΔPerf`` counts as 0 (so the AER as 0) when ``|%ΔPerf| < 100 * SE / |reference|``.

    ``SE`` is the bootstrap standard error of the current epoch's monitored value and ``reference`` the value
    the percentage was taken of, so both sides are percent of the same base. An unknown SE (``None``, NaN), a
    zero reference or an undefined ``%ΔPerf`` leave the terms as they are. An AER undefined for an emission
    reason stays undefined (only ``%ΔPerf`` is zeroed); a defined one becomes exactly ``0.0``.
    """
    delta = terms.delta_perf_pct
    if delta is None or standard_error is None or not math.isfinite(standard_error) or reference == 0.0:
        return DeadBand(terms, False)
    se_pct = 100.0 * abs(standard_error) / abs(reference)
    if not (math.isfinite(se_pct) and abs(delta) < se_pct):
        return DeadBand(terms, False)
    aer = None if terms.aer is None else 0.0
    zeroed = AerTerms(0.0, terms.delta_emis_pct, aer, terms.undefined_reason)
    return DeadBand(zeroed, True, delta, se_pct)


@dataclass
class Streak:
    """Act only after ``needed`` consecutive triggers.

    :meth:`feed` is called for epochs where the rule could act (past warm-up, AER defined): a trigger adds one,
    a non-trigger resets to 0. Epochs where the rule could not act (warm-up, undefined AER, skipped non-finite
    metric) are not fed: they neither count nor break a streak. ``needed = 1`` acts on the first trigger.
    """

    needed: int
    count: int = 0

    def __post_init__(self) -> None:
        if self.needed < 1:
            raise ValueError(f"consecutive k must be >= 1, got {self.needed}")

    def feed(self, triggered: bool) -> bool:
        """Record one epoch's trigger; True when the rule should act now."""
        self.count = self.count + 1 if triggered else 0
        return self.count >= self.needed


def warmup_epochs(warmup: int, fraction: float | None, budget_epochs: int | None) -> int:
    """The warm-up ``W`` a rule uses: ``max(warmup, ceil(fraction * budget))``, or ``warmup`` without a fraction.

    The product is taken on the fraction's decimal value (``0.3 * 10`` is 3, not the float's 3.0000000000000004
    rounded up to 4). ``warmup`` stays a floor, so a fraction can only lengthen the warm-up. A fraction without a
    budget is a ``ValueError``: the rule cannot know what it is a fraction of.
    """
    if fraction is None:
        return warmup
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"warmup_fraction must be in (0, 1], got {fraction}")
    if budget_epochs is None or budget_epochs < 1:
        raise ValueError(f"warmup_fraction {fraction} needs the epoch budget (budget_epochs), got {budget_epochs}")
    return max(warmup, math.ceil(Fraction(repr(fraction)) * budget_epochs))
