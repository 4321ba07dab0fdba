"""Pareto fronts of the trade-off, as typed rows: relative (per strategy, mean over runs) and absolute (per run).

Why typed rows: the same points feed a CSV table, the Markdown report and two plotting back-ends; a field
renamed in one of them must fail type checking rather than raise ``KeyError`` while a report is being drawn.
Each row type has ``as_dict`` for its CSV table. Pure: no files, no pandas, no plotting.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from greenft.analysis.pareto import Sense, hypervolume_2d, pareto_mask
from greenft.analysis.tradeoff import AggregateRow, Comparison
from greenft.schema import METRIC_DIRECTIONS
from greenft.stopping import RULES, MetricDirection

__all__ = [
    "FAMILIES",
    "AbsolutePoint",
    "Fronts",
    "Hypervolume",
    "RelativePoint",
    "by_group",
    "compute_fronts",
    "family_of",
]

ANGES, PATIENCE, HINDSIGHT = "anges", "patience", "hindsight"
#: Families in the order the figures draw them (``full_budget`` is the strategy name of the budget itself).
FAMILIES = (ANGES, PATIENCE, "full_budget", HINDSIGHT)


def family_of(strategy: str) -> str:
    """A replayed rule's label as its rule's name (``anges_a0.5_b0.1_w3`` -> ``anges``), read by the rule table's
    label parser; other strategies (``full_budget`` and the hindsight references) as they are."""
    fields = RULES.label_fields(strategy)
    return str(fields["rule"]) if fields is not None else strategy


@dataclass(frozen=True)
class RelativePoint:
    """One strategy on one (model, dataset): mean emissions saved % vs mean test-metric change % over runs."""

    model: str
    dataset: str
    strategy: str
    family: str
    headline: bool
    n_runs: int
    emissions_saved_pct: float
    emissions_saved_pct_std: float
    metric_change_pct: float
    metric_change_pct_std: float
    epochs_saved: float
    on_front: bool
    test_vs_best_val_pct: float  # mean, deployed (best-so-far) weights vs best-val (hindsight)
    test_vs_best_val_pct_std: float
    within_1pct: str  # e.g. "29/45": runs whose deployed weights lose at most 1 % vs best-val (hindsight)
    on_deployed_front: bool  # non-dominated on (emissions saved %, test_vs_best_val_pct): what a user deploying
    # the best-so-far checkpoint gets, judged against the checkpoint a full run would have given

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AbsolutePoint:
    """One (run, strategy): training emissions at the stop vs the test metric there."""

    model: str
    dataset: str
    run_id: str
    seed: int | None
    strategy: str
    stop_epoch: int
    emissions_kg: float
    test_metric: float
    metric: str
    on_front: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Hypervolume:
    """The area a rule family's relative front dominates, against a reference point shared by the families."""

    model: str
    dataset: str
    family: str
    configs: int
    reference_saved_pct: float
    reference_metric_change_pct: float
    hypervolume: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Fronts:
    relative: list[RelativePoint]
    absolute: list[AbsolutePoint]
    hypervolumes: list[Hypervolume]


def by_group(rows: Iterable[AggregateRow]) -> dict[tuple[str, str], list[AggregateRow]]:
    """Aggregate rows keyed by (model, dataset)."""
    out: dict[tuple[str, str], list[AggregateRow]] = {}
    for row in rows:
        out.setdefault((str(row.key["model"]), str(row.key["dataset"])), []).append(row)
    return out


def _relative(
    model: str, dataset: str, row: AggregateRow, family: str, headline: bool, on: bool, on_deployed: bool
) -> RelativePoint:
    return RelativePoint(
        model=model,
        dataset=dataset,
        strategy=row.strategy,
        family=family,
        headline=headline,
        n_runs=row.n_runs,
        emissions_saved_pct=row.emissions_saved_pct.mean,
        emissions_saved_pct_std=row.emissions_saved_pct.std,
        metric_change_pct=row.metric_change_pct.mean,
        metric_change_pct_std=row.metric_change_pct.std,
        epochs_saved=row.epochs_saved.mean,
        on_front=on,
        test_vs_best_val_pct=row.test_vs_best_val_pct.mean,
        test_vs_best_val_pct_std=row.test_vs_best_val_pct.std,
        within_1pct=row.within_text(),
        on_deployed_front=on_deployed,
    )


def _hypervolumes(
    model: str, dataset: str, achievable: Sequence[AggregateRow], points: Sequence[tuple[float, float]]
) -> list[Hypervolume]:
    """Per rule family against a common reference: 0 % saved (the full budget) and 1 point below the worst
    mean metric change of any achievable config."""
    if not points:
        return []
    finite = [p[1] for p in points if math.isfinite(p[1])]
    worst = min(finite) if finite else 0.0
    reference = (0.0, min(0.0, worst) - 1.0)
    out = []
    for family in (ANGES, PATIENCE):
        members = [p for r, p in zip(achievable, points, strict=True) if family_of(r.strategy) == family]
        if members:
            volume = hypervolume_2d(members, reference, ("max", "max"))
            out.append(Hypervolume(model, dataset, family, len(members), reference[0], reference[1], volume))
    return out


def _metric_sense(metric: str) -> Sense:
    return "max" if METRIC_DIRECTIONS.get(metric) is MetricDirection.MAXIMIZE else "min"


def compute_fronts(
    grid_summary: Sequence[AggregateRow], comparisons: Sequence[Comparison], headline: set[str]
) -> Fronts:
    """Relative fronts over the headline rules and the grid, absolute fronts over the headline comparisons.

    Each relative point is marked on two fronts: emissions saved % vs the stop epoch's test change against the
    last epoch (``on_front``, the axes of the figures and the hypervolumes) and vs the deployed checkpoint's
    change against best-val (hindsight) (``on_deployed_front``, the headline: what deploying best-so-far gives).
    """
    fronts = Fronts([], [], [])
    for (model, dataset), rows in by_group(grid_summary).items():
        achievable = [r for r in rows if r.kind in ("budget", "rule") and r.emissions_saved_pct.n > 0]
        points = [(r.emissions_saved_pct.mean, r.metric_change_pct.mean) for r in achievable]
        deployed = [(r.emissions_saved_pct.mean, r.test_vs_best_val_pct.mean) for r in achievable]
        masks = zip(pareto_mask(points, ("max", "max")), pareto_mask(deployed, ("max", "max")), strict=True)
        for row, (on, on_deployed) in zip(achievable, masks, strict=True):
            shown = row.strategy in headline or row.kind == "budget"
            fronts.relative.append(_relative(model, dataset, row, family_of(row.strategy), shown, on, on_deployed))
        for row in rows:
            if row.kind == "hindsight":
                fronts.relative.append(_relative(model, dataset, row, HINDSIGHT, True, False, False))
        fronts.hypervolumes += _hypervolumes(model, dataset, achievable, points)
    groups: dict[tuple[str, str], list[Comparison]] = {}
    for comp in comparisons:
        if comp.kind in ("budget", "rule"):
            groups.setdefault((comp.model, comp.dataset), []).append(comp)
    for (model, dataset), runs in groups.items():
        absolute = [(c.emissions_kg, c.test_metric) for c in runs]
        for c, on in zip(runs, pareto_mask(absolute, ("min", _metric_sense(runs[0].metric))), strict=True):
            point = (c.run_id, c.seed, c.strategy, c.stop_epoch, c.emissions_kg, c.test_metric, c.metric)
            fronts.absolute.append(AbsolutePoint(model, dataset, *point, on_front=on))
    return fronts
