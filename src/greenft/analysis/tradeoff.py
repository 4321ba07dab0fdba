"""The trade-off maths: what a stopping strategy saves in CO2 and what it costs in metric, per run and overall.

Definitions (also in ``docs/analysis.md``); every number is measured against the same run's **full budget**
(its last epoch), because that is what training without early stopping would have spent and delivered:

* **emissions saved %** ``= 100 * (E_full - E_stop) / E_full`` with ``E`` the cumulative training emissions
  (``emissions/cumulative_kg``: train + validation, the scope the rule sees; test evaluation excluded).
  0 % for the full budget itself, up to 100 %.
* **metric change %** ``= 100 * (m_stop - m_full) / |m_full|`` for a maximised metric (ROC-AUC) and
  ``100 * (m_full - m_stop) / |m_full|`` for a minimised one (RMSE, MAE): *positive means better* than the
  full budget, negative means the early stop cost performance. Computed on the **test** metric (the
  deployed model's quality, never seen by any rule) and, separately, on the validation metric.
* **epochs saved** ``= N_full - stop_epoch``.

Strategies: ``full_budget``; each stopping rule, replayed (``anges_...``, ``patience_...``); ``oracle``, the
epoch with the best *test* metric in hindsight (the limit no rule can beat on the test set; ties: earliest);
and ``best_val``, the epoch with the best *validation* metric in hindsight (the checkpoint a user who keeps
the best-validation weights would deploy; that user still pays the full budget's emissions, the emissions
shown for ``best_val`` are those of stopping right there, an unreachable limit for a rule that cannot see
the future).

Pure: no files, no W&B, no pandas.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from greenft.analysis.records import Curve
from greenft.analysis.replay import ReplayResult, RuleConfig, replay
from greenft.schema import hindsight_best
from greenft.stopping import AnGesConfig, MetricDirection, Monitor, effective_threshold_fraction, percent_improvement

__all__ = [
    "BEST_VAL",
    "FULL_BUDGET",
    "ORACLE",
    "AggregateRow",
    "AngesStopCheck",
    "Comparison",
    "RuleScore",
    "Spread",
    "aggregate",
    "classify_anges_stop",
    "compare_curve",
    "emissions_saved_pct",
    "hindsight_epoch",
    "metric_change_pct",
    "score_rule",
    "spread",
]

FULL_BUDGET = "full_budget"
ORACLE = "oracle"
BEST_VAL = "best_val"


def emissions_saved_pct(stop_kg: float, full_kg: float) -> float:
    """``100 * (full - stop) / full``; NaN when either is not finite or the full budget emitted nothing."""
    if not (math.isfinite(stop_kg) and math.isfinite(full_kg)) or full_kg <= 0.0:
        return math.nan
    return 100.0 * (full_kg - stop_kg) / full_kg


def metric_change_pct(value: float, reference: float, direction: MetricDirection) -> float:
    """Signed percent change vs ``reference`` (the full budget's), positive = better; NaN when undefined."""
    if not (math.isfinite(value) and math.isfinite(reference)) or reference == 0.0:
        return math.nan
    sign = 1.0 if MetricDirection(direction) is MetricDirection.MAXIMIZE else -1.0
    return 100.0 * sign * (value - reference) / abs(reference)


def hindsight_epoch(values: Sequence[float], direction: MetricDirection) -> int | None:
    """1-based epoch of the best finite value (ties: the earliest), as the run summary's ``best``/``oracle``."""
    best = hindsight_best(values, direction)
    return None if best is None else best + 1


@dataclass(frozen=True)
class Comparison:
    """One strategy on one run, against that run's full budget (one row of ``tradeoff_runs.csv``)."""

    run_id: str
    model: str
    dataset: str
    seed: int | None
    group: str | None
    metric: str
    strategy: str
    kind: str  # budget | rule | hindsight
    stop_epoch: int
    full_epochs: int
    epochs_saved: int
    triggered: bool
    censored: bool
    emissions_kg: float
    full_emissions_kg: float
    emissions_saved_pct: float
    val_metric: float
    full_val_metric: float
    val_metric_change_pct: float
    test_metric: float
    full_test_metric: float
    metric_change_pct: float

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _row(curve: Curve, strategy: str, kind: str, stop_epoch: int, triggered: bool, censored: bool) -> Comparison:
    n = curve.n_epochs
    i, last = stop_epoch - 1, n - 1
    return Comparison(
        run_id=curve.run_id,
        model=curve.model,
        dataset=curve.dataset,
        seed=curve.seed,
        group=curve.group,
        metric=curve.metric,
        strategy=strategy,
        kind=kind,
        stop_epoch=stop_epoch,
        full_epochs=n,
        epochs_saved=n - stop_epoch,
        triggered=triggered,
        censored=censored,
        emissions_kg=curve.emissions_kg[i],
        full_emissions_kg=curve.emissions_kg[last],
        emissions_saved_pct=emissions_saved_pct(curve.emissions_kg[i], curve.emissions_kg[last]),
        val_metric=curve.val[i],
        full_val_metric=curve.val[last],
        val_metric_change_pct=metric_change_pct(curve.val[i], curve.val[last], curve.direction),
        test_metric=curve.test[i],
        full_test_metric=curve.test[last],
        metric_change_pct=metric_change_pct(curve.test[i], curve.test[last], curve.direction),
    )


def compare_curve(
    curve: Curve,
    rules: Sequence[RuleConfig],
    *,
    hindsight: bool = True,
    replays: dict[str, ReplayResult] | None = None,
) -> list[Comparison]:
    """Full budget, every rule (replayed) and, with ``hindsight``, the oracle and best-validation epochs.

    ``curve`` should be complete (a shadow or full-budget run): on a truncated curve the "full budget" is the
    last logged epoch and rules that did not stop are flagged ``censored``. Pass a dict as ``replays`` to get
    every :class:`ReplayResult` back (keyed by rule label), e.g. for plotting the AER/EMA traces.
    """
    rows = [_row(curve, FULL_BUDGET, "budget", curve.n_epochs, False, False)]
    for config in rules:
        result = replay(curve, config)
        if replays is not None:
            replays[result.label] = result
        rows.append(_row(curve, result.label, "rule", result.stop_epoch, result.triggered, result.censored))
    if hindsight:
        for strategy, values in ((ORACLE, curve.test), (BEST_VAL, curve.val)):
            epoch = hindsight_epoch(values, curve.direction)
            if epoch is not None:
                rows.append(_row(curve, strategy, "hindsight", epoch, False, False))
    return rows


# ----------------------------------------------------------------------------------------------- aggregation


@dataclass(frozen=True)
class Spread:
    """Mean, sample standard deviation, min, max over the finite values; ``n`` counts them (NaNs are skipped)."""

    mean: float
    std: float
    min: float
    max: float
    n: int

    def text(self, digits: int = 1) -> str:
        """``mean ± std`` (``mean`` alone for a single value, ``-`` for none), for Markdown tables."""
        if self.n == 0:
            return "-"
        if self.n == 1 or not math.isfinite(self.std):
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"


def spread(values: Iterable[float]) -> Spread:
    finite = [float(v) for v in values if math.isfinite(v)]
    if not finite:
        return Spread(math.nan, math.nan, math.nan, math.nan, 0)
    std = statistics.stdev(finite) if len(finite) > 1 else math.nan
    return Spread(statistics.fmean(finite), std, min(finite), max(finite), len(finite))


@dataclass(frozen=True)
class AggregateRow:
    """One strategy over a group of runs (e.g. all seeds of one model on one dataset)."""

    key: dict[str, Any]
    strategy: str
    kind: str
    n_runs: int
    stop_rate: float  # fraction of runs where the rule actually fired (rules only; NaN otherwise)
    censored: int
    emissions_saved_pct: Spread
    metric_change_pct: Spread
    val_metric_change_pct: Spread
    epochs_saved: Spread

    def as_flat_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {**self.key, "strategy": self.strategy, "kind": self.kind, "n_runs": self.n_runs}
        out["stop_rate"] = self.stop_rate
        out["censored"] = self.censored
        for name in ("emissions_saved_pct", "metric_change_pct", "val_metric_change_pct", "epochs_saved"):
            s: Spread = getattr(self, name)
            out.update({f"{name}_mean": s.mean, f"{name}_std": s.std, f"{name}_min": s.min, f"{name}_max": s.max})
        return out


def aggregate(comparisons: Iterable[Comparison], by: Sequence[str] = ("model", "dataset")) -> list[AggregateRow]:
    """Group rows by ``by`` (attributes of :class:`Comparison`) and strategy; spread over the runs of a group.

    Censored rule rows (the rule never stopped on a truncated curve) are counted but left out of the numbers:
    what the rule would have cost is unknown there.
    """
    groups: dict[tuple[Any, ...], list[Comparison]] = {}
    for row in comparisons:
        groups.setdefault((*(getattr(row, name) for name in by), row.strategy), []).append(row)
    out: list[AggregateRow] = []
    for key, rows in groups.items():
        usable = [r for r in rows if not r.censored]
        kind = rows[0].kind
        out.append(
            AggregateRow(
                key=dict(zip(by, key[:-1], strict=True)),
                strategy=key[-1],
                kind=kind,
                n_runs=len(rows),
                stop_rate=(sum(r.triggered for r in rows) / len(rows)) if kind == "rule" else math.nan,
                censored=len(rows) - len(usable),
                emissions_saved_pct=spread(r.emissions_saved_pct for r in usable),
                metric_change_pct=spread(r.metric_change_pct for r in usable),
                val_metric_change_pct=spread(r.val_metric_change_pct for r in usable),
                epochs_saved=spread(float(r.epochs_saved) for r in usable),
            )
        )
    return out


# ------------------------------------------------------------------------------------------- rule scoring


@dataclass(frozen=True)
class RuleScore:
    """A rule's mean trade-off over a set of curves: the objectives of the tuner, and the report's columns."""

    label: str
    n_curves: int
    emissions_spent_pct: float  # 100 - emissions saved %, i.e. the share of the full budget's CO2 still spent
    emissions_saved_pct: float
    metric_change_pct: float  # test
    val_metric_change_pct: float
    epochs_saved: float
    stop_rate: float


def _mean(values: Iterable[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return statistics.fmean(finite) if finite else math.nan


def score_rule(curves: Sequence[Curve], config: RuleConfig) -> RuleScore:
    """Replay ``config`` on every curve and average the trade-off (curves are weighted equally)."""
    rows = [row for curve in curves for row in compare_curve(curve, [config], hindsight=False)[1:]]
    usable = [r for r in rows if not r.censored]
    saved = _mean(r.emissions_saved_pct for r in usable)
    label = rows[0].strategy if rows else "none"
    return RuleScore(
        label=label,
        n_curves=len(usable),
        emissions_spent_pct=100.0 - saved if math.isfinite(saved) else math.nan,
        emissions_saved_pct=saved,
        metric_change_pct=_mean(r.metric_change_pct for r in usable),
        val_metric_change_pct=_mean(r.val_metric_change_pct for r in usable),
        epochs_saved=_mean(float(r.epochs_saved) for r in usable),
        stop_rate=(sum(r.triggered for r in rows) / len(rows)) if rows else math.nan,
    )


# -------------------------------------------------------------------- AN-GES: "stops at the first flat epoch"

FIRST_NON_IMPROVING = "first_non_improving"
LATER_NON_IMPROVING = "later_non_improving"
IMPROVING = "improving_epoch"
NON_FINITE = "non_finite"
NEVER = "never"


@dataclass(frozen=True)
class AngesStopCheck:
    """Where AN-GES stopped on a curve relative to the first epoch after warm-up that did not improve.

    ``category``: ``first_non_improving`` (the stop is that epoch: the common case with the defaults, since
    ``AER <= 0 < k * EMA_prev`` as soon as the metric does not improve and the EMA is positive),
    ``later_non_improving`` (a non-improving epoch that was not the first one eligible: possible when the EMA
    went negative), ``improving_epoch`` (the metric improved but its AER fell under ``k * EMA_prev``),
    ``non_finite`` (the metric was NaN/inf) or ``never``.
    """

    run_id: str
    label: str
    k: float
    stop_epoch: int | None
    first_non_improving: int | None
    category: str


def first_non_improving_epoch(curve: Curve, warmup: int, monitor: Monitor = Monitor.METRIC) -> int | None:
    """First epoch ``i >= max(W, 2)`` whose monitored value did not improve on epoch ``i-1`` (%ΔPerf <= 0)."""
    values, direction = curve.monitored(monitor)
    for epoch in range(max(warmup, 2), curve.n_epochs + 1):
        change = percent_improvement(values[epoch - 2], values[epoch - 1], direction)
        if change is not None and change <= 0.0:
            return epoch
    return None


def classify_anges_stop(curve: Curve, config: AnGesConfig, result: ReplayResult | None = None) -> AngesStopCheck:
    """Classify the AN-GES stop on ``curve`` (replayed unless ``result`` is given); see :class:`AngesStopCheck`."""
    result = result if result is not None else replay(curve, config)
    try:
        k = effective_threshold_fraction(config.alpha, config.beta)
    except ValueError:
        k = math.nan  # alpha * beta >= 1: no closed form
    first = first_non_improving_epoch(curve, config.warmup, config.monitor)
    stop = result.stop_epoch if result.triggered else None
    category: str
    if stop is None:
        category = NEVER
    elif not math.isfinite(curve.monitored(config.monitor)[0][stop - 1]):
        category = NON_FINITE
    elif stop == first:
        category = FIRST_NON_IMPROVING
    else:
        change = result.decisions[-1].delta_perf_pct
        category = LATER_NON_IMPROVING if change is not None and change <= 0.0 else IMPROVING
    return AngesStopCheck(curve.run_id, result.label, k, stop, first, category)


def count_by(items: Iterable[Any], key: Callable[[Any], str]) -> dict[str, int]:
    """A tiny ``Counter`` keyed by ``key(item)``, kept ordered by first appearance for stable tables."""
    out: dict[str, int] = {}
    for item in items:
        name = key(item)
        out[name] = out.get(name, 0) + 1
    return out
