"""The stopping-rule grid the analysis replays, as parameters against outcomes, and which parameter matters.

Why: the Pareto front says which configs are best, not how alpha, beta and W (or any other option a rule has)
move the trade-off. A user choosing a config wants that view: each replayed rule config's parameters, read back
from its label through the rule table (so a new rule and its new options appear with no change here), beside its
mean CO2 saved and quality change over the runs; and, per rule, how much each varying parameter explains of each
outcome (Spearman rank correlation, :func:`greenft.analysis.training_params.spearman`, and fANOVA importance, the
same evaluator as :mod:`greenft.analysis.importance`, over the configs' means).

Pure at import (pandas and Optuna are imported when importances are computed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from greenft.analysis.tradeoff import AggregateRow, Spread
from greenft.stopping import RULES

__all__ = ["MIN_CONFIGS", "TARGETS", "GridPoint", "RuleGrid", "RuleImportance", "rule_grid"]

MIN_CONFIGS = 5
#: Outcomes per config: the mean over runs of emissions saved % and of the headline quality change (deployed
#: best-so-far checkpoint vs best-val (hindsight), %), both higher is better.
TARGETS = ("emissions_saved_pct", "test_vs_best_val_pct")


@dataclass(frozen=True)
class GridPoint:
    """One replayed rule config on one (model, dataset): its parameters and its outcomes over the runs."""

    model: str
    dataset: str
    strategy: str
    rule: str
    params: dict[str, float]
    headline: bool
    n_runs: int
    emissions_saved_pct: Spread
    test_vs_best_val_pct: Spread
    within: str

    def target(self, name: str) -> Spread:
        value: Spread = getattr(self, name)
        return value


@dataclass(frozen=True)
class RuleImportance:
    """One parameter of one rule against one outcome in one (model, dataset) (a row of ``rule_importance.csv``)."""

    model: str
    dataset: str
    rule: str
    target: str
    parameter: str
    configs: int
    spearman: float
    importance: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RuleGrid:
    """The grid's points, the importances, and notes on groups too small to rank."""

    points: list[GridPoint] = field(default_factory=list)
    importance: list[RuleImportance] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def groups(self) -> list[tuple[str, str, str]]:
        """(model, dataset, rule) with points, in first-seen order."""
        return list(dict.fromkeys((p.model, p.dataset, p.rule) for p in self.points))

    def members(self, model: str, dataset: str, rule: str) -> list[GridPoint]:
        return [p for p in self.points if (p.model, p.dataset, p.rule) == (model, dataset, rule)]

    def varying(self, model: str, dataset: str, rule: str) -> list[str]:
        """The numeric parameters that take more than one value among the group's configs, in config order."""
        members = self.members(model, dataset, rule)
        names = dict.fromkeys(name for p in members for name in p.params)
        return [n for n in names if len({p.params.get(n) for p in members}) > 1]


def _params(strategy: str) -> tuple[str, dict[str, float]] | None:
    """The rule name and numeric parameters of a replayed rule's label (``None`` for other strategies)."""
    if RULES.label_fields(strategy) is None:
        return None
    config = RULES.parse_label(strategy)
    raw = config.model_dump()
    numbers = {k: float(v) for k, v in raw.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    return str(raw["rule"]), numbers


def rule_grid(grid_summary: Sequence[AggregateRow], headline: set[str], seed: int = 0) -> RuleGrid:
    """Every rule config of ``grid_summary`` (the headline rules and the grid) with its parameters, and the
    importance of each varying parameter per (model, dataset, rule) with at least :data:`MIN_CONFIGS` configs."""
    grid = RuleGrid()
    for row in grid_summary:
        parsed = _params(row.strategy) if row.kind == "rule" else None
        if parsed is None or row.emissions_saved_pct.n == 0:
            continue
        rule, params = parsed
        grid.points.append(
            GridPoint(
                model=str(row.key["model"]),
                dataset=str(row.key["dataset"]),
                strategy=row.strategy,
                rule=rule,
                params=params,
                headline=row.strategy in headline,
                n_runs=row.n_runs,
                emissions_saved_pct=row.emissions_saved_pct,
                test_vs_best_val_pct=row.test_vs_best_val_pct,
                within=row.within_text(),
            )
        )
    for model, dataset, rule in grid.groups():
        varying = grid.varying(model, dataset, rule)
        members = grid.members(model, dataset, rule)
        where = f"{model} on {dataset}, {rule}"
        if not varying:
            continue
        if len(members) < MIN_CONFIGS:
            grid.notes.append(f"{where}: {len(members)} configs (< {MIN_CONFIGS}); too few to rank parameters")
            continue
        grid.importance += _importances(model, dataset, rule, members, varying, seed, grid.notes)
    return grid


def _importances(
    model: str, dataset: str, rule: str, members: list[GridPoint], varying: list[str], seed: int, notes: list[str]
) -> list[RuleImportance]:
    import pandas as pd

    from greenft.analysis.importance import fanova_importance
    from greenft.analysis.training_params import spearman

    out = []
    for target in TARGETS:
        # A rule's configs may differ in an optional field (anges-pp with and without warmup_fraction): a config
        # without it is NaN there, and dropna leaves the configs that have every varying parameter.
        frame = pd.DataFrame(
            [{**{n: p.params.get(n, math.nan) for n in varying}, target: p.target(target).mean} for p in members]
        )
        frame = frame.dropna()
        where = f"{model} on {dataset}, {rule}, {target}"
        if len(frame) < MIN_CONFIGS or frame[target].nunique() < 2:
            notes.append(f"{where}: constant or too few finite values over the configs; not ranked")
            continue
        importance, why = fanova_importance(frame, varying, target, seed)
        if why:
            notes.append(f"{where}: fANOVA unavailable ({why}); Spearman only")
        for name in varying:
            # a parameter left constant by dropna has no rank correlation: spearman gives NaN for a constant side
            rho = spearman(frame[name].tolist(), frame[target].tolist())
            out.append(
                RuleImportance(model, dataset, rule, target, name, len(frame), rho, importance.get(name, math.nan))
            )
    return out
