"""The trade-off maths: what a stopping strategy saves in CO2 and what it costs in metric, per run and overall.

Definitions (also in ``docs/analysis.md``). Two references, because they answer two questions:

* **best-val (hindsight)**: the test metric of the run's best-validation checkpoint over the whole budget
  (ties: earliest), i.e. the weights a careful user who trains the full budget and keeps the best-validation
  checkpoint deploys. Quality changes against it are the headline: they say what early stopping costs that user.
* **last epoch** (the full budget's last epoch), what training without early stopping and without checkpoint
  selection delivers, and the emissions every saving is measured against.

* **emissions saved %** ``= 100 * (E_full - E_stop) / E_full`` with ``E`` the cumulative training emissions
  (``emissions/cumulative_kg``: train + validation, the scope the rule sees; test evaluation excluded).
  0 % for the full budget itself, up to 100 %.
* **metric change %** ``= 100 * (m - m_ref) / |m_ref|`` for a maximised metric (ROC-AUC) and
  ``100 * (m_ref - m) / |m_ref|`` for a minimised one (RMSE, MAE): *positive means better* than the
  reference, negative means the early stop cost performance. Computed on the **test** metric (never seen by
  any rule) of two sets of weights: the **deployed** (best-so-far) checkpoint at the stop
  (:func:`greenft.schema.deployed_index`, the trainer's own definition) and the weights of the stop epoch
  itself (``last``); and, separately, on the validation metric of the stop epoch vs the last epoch.
* **within 1 %**: the deployed checkpoint's test metric is at most 1 % worse than best-val (hindsight)'s.
* **epochs saved** ``= N_full - stop_epoch``.
* **stopped early** (``triggered``): the rule stopped *before* the budget's last epoch. A stop decided at the
  last epoch saves nothing and is not counted as one (``stopped_at_budget`` says it happened).

Strategies: ``full budget``; each stopping rule, replayed (``anges_...``, ``patience_...``); and three
hindsight references no rule can reach, since each needs the future or the test set: ``best-val (hindsight)``
(stopping right at the best validation epoch; that user really pays the full budget, the emissions shown are
those of stopping there), ``best-test (limit)`` (the epoch with the best *test* metric, ties: earliest; the
limit no rule can beat on the test set) and ``hindsight-1%`` (the earliest epoch whose best-so-far checkpoint
is within 1 % of best-val (hindsight)'s test metric: the most CO2 any rule deploying best-so-far could save at
that quality).

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
from greenft.schema import Deploy, deployed_index, hindsight_best
from greenft.schema.green import emissions_saved_pct, metric_change_pct  # shared with the summary's green/* keys
from greenft.stopping import AnGesConfig, MetricDirection, Monitor, effective_threshold_fraction, percent_improvement

__all__ = [
    "BEST_TEST",
    "BEST_VAL",
    "FULL_BUDGET",
    "HINDSIGHT_1PCT",
    "ORACLE",
    "WITHIN_PCT",
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
    "hindsight_within_epoch",
    "is_within",
    "metric_change_pct",
    "score_rule",
    "spread",
]

# Strategy names are what every table, CSV, plot and docs page shows; the run summary keeps its own keys
# (``best/*`` = best-val (hindsight), ``oracle/*`` = best-test (limit)), which are log schema.
FULL_BUDGET = "full_budget"
BEST_VAL = "best-val (hindsight)"
BEST_TEST = "best-test (limit)"
ORACLE = BEST_TEST  # the former name of the best-test reference, kept for code that imports it
HINDSIGHT_1PCT = "hindsight-1%"
#: The quality loss a run may take against best-val (hindsight) and still count as "within" (percent).
WITHIN_PCT = 1.0
_ROUNDING = 1e-9  # 0.792 vs 0.8 is -1 % exactly by hand, -1.0000000000000009 in floats: within


def hindsight_epoch(values: Sequence[float], direction: MetricDirection) -> int | None:
    """1-based epoch of the best finite value (ties: the earliest), as the run summary's ``best``/``oracle``."""
    best = hindsight_best(values, direction)
    return None if best is None else best + 1


def is_within(change_pct: float, tolerance_pct: float = WITHIN_PCT) -> bool:
    """A metric change (positive = better) that loses at most ``tolerance_pct`` percent; NaN is not within."""
    return math.isfinite(change_pct) and change_pct >= -tolerance_pct - _ROUNDING


def hindsight_within_epoch(curve: Curve, tolerance_pct: float = WITHIN_PCT) -> tuple[int, int] | None:
    """``(stop epoch, deployed epoch)`` of the hindsight-1% strategy (1-based), None without a finite val metric.

    The earliest epoch ``e`` whose best-so-far checkpoint (``deployed_index`` over epochs ``1..e``, the epoch a
    run stopped at ``e`` deploys) has a test metric within ``tolerance_pct`` of the test metric of best-val
    (hindsight), the run's best validation epoch. That checkpoint itself always qualifies, so ``e`` is at most
    the best validation epoch: the limit of what stopping with best-so-far deploy can save at that quality.
    """
    best = hindsight_best(curve.val, curve.direction)
    if best is None:
        return None
    reference = curve.test[best]
    for end in range(curve.n_epochs):
        deployed = deployed_index(curve.val, curve.direction, end, Deploy.BEST)
        change = metric_change_pct(curve.test[deployed], reference, curve.direction)
        if deployed == best or is_within(change, tolerance_pct):
            return end + 1, deployed + 1
    return None  # unreachable: the best epoch's own end index deploys it


@dataclass(frozen=True)
class Comparison:
    """One strategy on one run, against that run's best-val (hindsight) and last epoch (a ``tradeoff_runs.csv`` row)."""

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
    triggered: bool  # stopped before the budget's last epoch (a stop at the last epoch saves nothing)
    stopped_at_budget: bool  # the rule said stop at the budget's last epoch: shown, not counted as stopped
    censored: bool
    emissions_kg: float
    full_emissions_kg: float
    emissions_saved_pct: float
    val_metric: float
    full_val_metric: float
    val_metric_change_pct: float
    test_metric: float
    full_test_metric: float
    metric_change_pct: float  # stop epoch's weights vs the last epoch (the full budget without selection)
    deployed_epoch: int  # best-so-far checkpoint at the stop (hindsight strategies: their own epoch)
    deployed_test_metric: float
    deployed_metric_change_pct: float  # deployed weights vs the last epoch
    best_val_epoch: int | None  # best-val (hindsight) of the whole run
    best_val_test_metric: float
    test_vs_best_val_pct: float  # deployed weights vs best-val (hindsight): the headline
    test_vs_best_val_last_pct: float  # stop epoch's weights vs best-val (hindsight)
    within_1pct: bool  # deployed weights lose at most WITHIN_PCT % vs best-val (hindsight)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _row(
    curve: Curve,
    strategy: str,
    kind: str,
    stop_epoch: int,
    deployed_epoch: int,
    *,
    stopped: bool = False,
    censored: bool = False,
) -> Comparison:
    """One row; ``stopped``: the rule said stop at ``stop_epoch`` (only counted as a stop before the budget end)."""
    n = curve.n_epochs
    i, last, d = stop_epoch - 1, n - 1, deployed_epoch - 1
    best = hindsight_best(curve.val, curve.direction)
    reference = curve.test[best] if best is not None else math.nan
    vs_best_val = metric_change_pct(curve.test[d], reference, curve.direction)
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
        triggered=stopped and stop_epoch < n,
        stopped_at_budget=stopped and stop_epoch == n,
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
        deployed_epoch=deployed_epoch,
        deployed_test_metric=curve.test[d],
        deployed_metric_change_pct=metric_change_pct(curve.test[d], curve.test[last], curve.direction),
        best_val_epoch=None if best is None else best + 1,
        best_val_test_metric=reference,
        test_vs_best_val_pct=vs_best_val,
        test_vs_best_val_last_pct=metric_change_pct(curve.test[i], reference, curve.direction),
        within_1pct=is_within(vs_best_val),
    )


def compare_curve(
    curve: Curve,
    rules: Sequence[RuleConfig],
    *,
    hindsight: bool = True,
    replays: dict[str, ReplayResult] | None = None,
) -> list[Comparison]:
    """Full budget, every rule (replayed) and, with ``hindsight``, best-test (limit), best-val (hindsight) and
    hindsight-1%.

    Rules and the full budget deploy their best-so-far checkpoint (``deployed_*``, the headline); the weights of
    their stop epoch are in the other columns. ``curve`` should be complete (a shadow or full-budget run): on a
    truncated curve the "full budget" is the last logged epoch and rules that did not stop are flagged
    ``censored``. Pass a dict as ``replays`` to get
    every :class:`ReplayResult` back (keyed by rule label), e.g. for plotting the AER/EMA traces.
    """
    n = curve.n_epochs
    rows = [_row(curve, FULL_BUDGET, "budget", n, deployed_index(curve.val, curve.direction, n - 1) + 1)]
    for config in rules:
        result = replay(curve, config, Deploy.BEST)
        if replays is not None:
            replays[result.label] = result
        rows.append(
            _row(
                curve,
                result.label,
                "rule",
                result.stop_epoch,
                result.deployed_epoch,
                stopped=result.triggered,
                censored=result.censored,
            )
        )
    if hindsight:
        for strategy, values in ((BEST_TEST, curve.test), (BEST_VAL, curve.val)):
            epoch = hindsight_epoch(values, curve.direction)
            if epoch is not None:
                rows.append(_row(curve, strategy, "hindsight", epoch, epoch))
        within = hindsight_within_epoch(curve)
        if within is not None:
            rows.append(_row(curve, HINDSIGHT_1PCT, "hindsight", *within))
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
    stop_rate: float  # fraction of runs where the rule stopped before the budget's end (rules only; else NaN)
    censored: int
    emissions_saved_pct: Spread
    metric_change_pct: Spread  # stop epoch's weights vs the last epoch
    val_metric_change_pct: Spread
    epochs_saved: Spread
    test_vs_best_val_pct: Spread  # deployed (best-so-far) weights vs best-val (hindsight): the headline
    test_vs_best_val_last_pct: Spread  # stop epoch's weights vs best-val (hindsight)
    deployed_metric_change_pct: Spread  # deployed weights vs the last epoch
    within_1pct: int  # runs whose deployed weights lose at most 1 % vs best-val (hindsight) ...
    judged: int  # ... out of the runs where that change is defined (finite)
    stopped_at_budget: int  # rule runs whose stop came at the budget's last epoch (saved nothing)

    def within_text(self) -> str:
        """``29/45`` (runs within 1 % of best-val (hindsight) / runs judged), ``-`` when none was judged."""
        return f"{self.within_1pct}/{self.judged}" if self.judged else "-"

    def as_flat_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {**self.key, "strategy": self.strategy, "kind": self.kind, "n_runs": self.n_runs}
        out["stop_rate"] = self.stop_rate
        out["stopped_at_budget"] = self.stopped_at_budget
        out["censored"] = self.censored
        out["within_1pct"] = self.within_1pct
        out["judged"] = self.judged
        for name in _SPREADS:
            s: Spread = getattr(self, name)
            out.update({f"{name}_mean": s.mean, f"{name}_std": s.std, f"{name}_min": s.min, f"{name}_max": s.max})
        return out


_SPREADS = (
    "emissions_saved_pct",
    "test_vs_best_val_pct",
    "test_vs_best_val_last_pct",
    "deployed_metric_change_pct",
    "metric_change_pct",
    "val_metric_change_pct",
    "epochs_saved",
)


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
                test_vs_best_val_pct=spread(r.test_vs_best_val_pct for r in usable),
                test_vs_best_val_last_pct=spread(r.test_vs_best_val_last_pct for r in usable),
                deployed_metric_change_pct=spread(r.deployed_metric_change_pct for r in usable),
                within_1pct=sum(r.within_1pct for r in usable),
                judged=sum(math.isfinite(r.test_vs_best_val_pct) for r in usable),
                stopped_at_budget=sum(r.stopped_at_budget for r in rows),
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
    test_vs_best_val_pct: float  # deployed (best-so-far) weights vs best-val (hindsight), mean: the headline
    within_1pct: int  # curves whose deployed weights lose at most WITHIN_PCT % vs best-val (hindsight) ...
    judged: int  # ... out of the curves where that change is defined


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
        test_vs_best_val_pct=_mean(r.test_vs_best_val_pct for r in usable),
        within_1pct=sum(r.within_1pct for r in usable),
        judged=sum(math.isfinite(r.test_vs_best_val_pct) for r in usable),
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
    ``non_finite`` (the metric was NaN/inf) or ``never``. ``at_last_epoch``: the stop came at the curve's last
    epoch, so it saved nothing (the report counts those apart rather than as savings).
    """

    run_id: str
    label: str
    k: float
    stop_epoch: int | None
    first_non_improving: int | None
    category: str
    at_last_epoch: bool


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
    return AngesStopCheck(curve.run_id, result.label, k, stop, first, category, stop == curve.n_epochs)


def count_by(items: Iterable[Any], key: Callable[[Any], str]) -> dict[str, int]:
    """A tiny ``Counter`` keyed by ``key(item)``, kept ordered by first appearance for stable tables."""
    out: dict[str, int] = {}
    for item in items:
        name = key(item)
        out[name] = out.get(name, 0) + 1
    return out
