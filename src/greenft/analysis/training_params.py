"""The analysis of a training sweep: which training parameters move the validation metric and the CO2 bill.

Why: the seed study (seeds/wandb-sweeps-schnetpack-qm9.ca.txt) swept batch size, epochs and learning rate with
W&B and read three things: W&B's parameter-importance/correlation panel against ``val_loss``, the per-epoch
``val_loss`` curves grouped by each parameter (log scale), and, implicitly, what the longer budgets cost. This
module computes the same from the runs read back, offline, for the metric *and* for kg CO2-eq, plus where
exact AN-GES and the runs' live rule would have stopped each run against the run's *own* budget (a swept
``max_epochs`` gives every run a different one: the replay uses each curve's ``budget``).

Which parameters: those whose value differs between the complete runs of a (model, dataset) group, found from
the flattened configs, not from a list: any swept field shows up (``optim.lr``, ``optim.batch_size``,
``optim.max_epochs``, ``model.cutoff`` ...). Bookkeeping that differs between runs without being a choice
(``derived.*``: what the run measured; ``logging.*``: names, tags; ``sweep.*``: the trial index) is left out, and
so are the ``seed`` (replicates, not settings) and the stopping, deployment and output settings (``mode``,
``stopping.*``, ``shadow_rules``, ``deploy``, ...), which decide where a run ends, not what it trains.

Per numeric parameter and target (best validation metric, lowest validation loss, kg CO2-eq of the full budget
and at the exact AN-GES stop): Pearson on the value, Pearson on log10 of the value for positive ranges spanning
a factor of 10 or more (the learning rate), Spearman (Pearson on average ranks), and two importances over all
numeric varying parameters together: fANOVA (Optuna's evaluator, :mod:`greenft.analysis.importance`'s
``_fanova``) and a random forest's impurity importance (what W&B's panel computes). Correlations are plain
Python; the importances import pandas / Optuna / scikit-learn only when called.

Pure: no files, no plotting (the figures are :mod:`greenft.analysis.plots`').
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from greenft.analysis.records import Curve, RunRecord, flatten, get_dotted
from greenft.analysis.replay import RuleSpecError, parse_rule
from greenft.analysis.tradeoff import Comparison, compare_curve
from greenft.schema import hindsight_best
from greenft.stopping import AnGesConfig, RuleConfig, rule_label

__all__ = [
    "BOOKKEEPING_PREFIXES",
    "BUDGET_KEY",
    "MIN_CORRELATION_RUNS",
    "MIN_IMPORTANCE_RUNS",
    "NOT_TRAINING_KEYS",
    "REPLICATE_KEYS",
    "TrainingCorrelation",
    "TrainingRun",
    "TrainingStudy",
    "VaryingParameter",
    "figure_name",
    "group_by_value",
    "log_scale",
    "mean_curve",
    "pearson",
    "ranks",
    "repeated_prefixes",
    "spearman",
    "training_study",
    "value_text",
    "varying_parameters",
]

BOOKKEEPING_PREFIXES: tuple[str, ...] = ("derived", "logging", "sweep")
"""Config keys that differ between runs without being a training choice (what was measured, names, trial ids)."""
_GROUP_KEYS = ("model.name", "data.dataset")
NOT_TRAINING_KEYS: tuple[str, ...] = ("mode", "stopping", "shadow_rules", "deploy", "save_models", "forecast_after")
"""Stopping, deployment and output settings: they decide where a run ends and what it keeps, not the curve it
trains (a shadow run trains its full budget whatever they are); their own studies are the trade-off tables."""
REPLICATE_KEYS: tuple[str, ...] = ("seed",)
"""Keys that make replicates, not settings: runs differing only in them are repeats, and a correlation with a
seed is noise (a seed study is read in the trade-off tables, as the mean and sd over seeds)."""
MIN_CORRELATION_RUNS = 3
MIN_IMPORTANCE_RUNS = 5  # as importance.MIN_RUNS: importance from fewer points is noise

TARGET_BEST_VAL = "best val {metric}"
TARGET_VAL_LOSS = "lowest val loss"
TARGET_FULL_KG = "kg CO2 full budget"
TARGET_ANGES_KG = "kg CO2 at AN-GES stop"


@dataclass(frozen=True)
class VaryingParameter:
    """A config key (flattened, dotted) whose value differs between the runs of one (model, dataset) group."""

    name: str
    values: tuple[Any, ...]  # the distinct values, sorted
    numeric: bool  # every run has a number (not a bool): correlations and importances apply

    @property
    def log_scale(self) -> bool:
        return self.numeric and log_scale([float(v) for v in self.values])


@dataclass(frozen=True)
class TrainingRun:
    """One complete run of a training sweep: its parameter values, targets and the two rules' stops (a
    ``training_runs.csv`` row, flattened)."""

    run_id: str
    model: str
    dataset: str
    metric: str
    params: dict[str, Any]
    budget: int
    best_val: float
    best_val_epoch: int | None
    lowest_val_loss: float
    full_kg: float
    anges: Comparison  # exact AN-GES (default parameters), replayed against this run's own budget
    live: Comparison | None  # the run's live rule (``derived.live_rule``, else the default), unless exact AN-GES

    def targets(self) -> dict[str, float]:
        return {
            TARGET_BEST_VAL.format(metric=self.metric): self.best_val,
            TARGET_VAL_LOSS: self.lowest_val_loss,
            TARGET_FULL_KG: self.full_kg,
            TARGET_ANGES_KG: self.anges.emissions_kg,
        }

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"run_id": self.run_id, "model": self.model, "dataset": self.dataset}
        out.update(self.params)
        out.update({"budget": self.budget, "metric": self.metric, "best_val": self.best_val})
        out.update({"best_val_epoch": self.best_val_epoch, "lowest_val_loss": self.lowest_val_loss})
        out["full_kg"] = self.full_kg
        for prefix, row in (("anges", self.anges), ("live", self.live)):
            if row is None:
                continue
            out[f"{prefix}_rule"] = row.strategy
            out[f"{prefix}_stop_epoch"] = row.stop_epoch
            out[f"{prefix}_stopped_early"] = row.triggered
            out[f"{prefix}_kg"] = row.emissions_kg
            out[f"{prefix}_saved_kg"] = row.full_emissions_kg - row.emissions_kg
            out[f"{prefix}_saved_pct"] = row.emissions_saved_pct
            out[f"{prefix}_deployed_epoch"] = row.deployed_epoch
            out[f"{prefix}_test_vs_best_val_pct"] = row.test_vs_best_val_pct
        return out


@dataclass(frozen=True)
class TrainingCorrelation:
    """One numeric parameter against one target in one group (a ``training_params.csv`` row)."""

    model: str
    dataset: str
    parameter: str
    target: str
    n_runs: int
    pearson: float
    pearson_log10: float  # NaN unless the parameter's range is positive and spans a factor of 10
    spearman: float
    fanova: float
    forest: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainingStudy:
    """Per (model, dataset) group: the varying parameters, the runs, the correlation rows; notes on what was
    skipped and why."""

    parameters: dict[tuple[str, str], list[VaryingParameter]] = field(default_factory=dict)
    runs: dict[tuple[str, str], list[TrainingRun]] = field(default_factory=dict)
    correlations: list[TrainingCorrelation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        """Whether any group's runs differ in a training parameter (the report shows the section then)."""
        return any(self.parameters.values())


# ----------------------------------------------------------------------------------------------- statistics


def _finite_pairs(x: Sequence[float], y: Sequence[float]) -> tuple[list[float], list[float]]:
    pairs = [(a, b) for a, b in zip(x, y, strict=True) if math.isfinite(a) and math.isfinite(b)]
    return [a for a, _ in pairs], [b for _, b in pairs]


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson's r over the pairs where both are finite; NaN for fewer than 3 pairs or a constant side."""
    a, b = _finite_pairs(x, y)
    n = len(a)
    if n < MIN_CORRELATION_RUNS:
        return math.nan
    ma, mb = math.fsum(a) / n, math.fsum(b) / n
    saa = math.fsum((v - ma) ** 2 for v in a)
    sbb = math.fsum((v - mb) ** 2 for v in b)
    if saa <= 0.0 or sbb <= 0.0:
        return math.nan
    sab = math.fsum((u - ma) * (v - mb) for u, v in zip(a, b, strict=True))
    return max(-1.0, min(1.0, sab / math.sqrt(saa * sbb)))


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing their average rank (as scipy.stats.rankdata's default)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for i in order[start : end + 1]:
            out[i] = (start + end) / 2 + 1
        start = end + 1
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho: Pearson on the average ranks of the finite pairs."""
    a, b = _finite_pairs(x, y)
    return pearson(ranks(a), ranks(b)) if len(a) >= MIN_CORRELATION_RUNS else math.nan


def log_scale(values: Sequence[float]) -> bool:
    """A positive range spanning a factor of 10 or more (a learning rate): read on log10, drawn on a log axis."""
    finite = [v for v in values if math.isfinite(v)]
    return bool(finite) and min(finite) > 0.0 and max(finite) / min(finite) >= 10.0


def mean_curve(series: Sequence[Sequence[float]]) -> list[float]:
    """Per-epoch mean over runs of differing lengths: epoch i's mean over the runs that have a finite epoch i."""
    longest = max((len(s) for s in series), default=0)
    out = []
    for i in range(longest):
        present = [s[i] for s in series if i < len(s) and math.isfinite(s[i])]
        out.append(math.fsum(present) / len(present) if present else math.nan)
    return out


# --------------------------------------------------------------------------------------------- the study


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scalar(value: Any) -> Any:
    """A config value as a table cell and a group key: lists (``data.extra_metrics``) become their text."""
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def _sortable(value: Any) -> tuple[int, Any]:
    return (0, value) if _is_number(value) else (1, str(value))


def _left_out(name: str) -> bool:
    """A key, or a key under a section (``stopping.alpha``), that is not a training setting (see the tables)."""
    sections = (*BOOKKEEPING_PREFIXES, *NOT_TRAINING_KEYS, *_GROUP_KEYS, *REPLICATE_KEYS)
    return any(name == s or name.startswith(f"{s}.") for s in sections)


def varying_parameters(configs: Sequence[Mapping[str, Any]]) -> list[VaryingParameter]:
    """Keys of the flattened configs whose values differ between runs (bookkeeping and group keys left out).

    A key that some configs lack while every config that has it agrees is not a difference: runs made before a
    setting existed (an older greenft) simply do not record it, and calling that a varied parameter would turn a
    set of runs made across versions into a "training sweep" over, say, ``model.cutoff`` on a SMILES model.
    """
    flats = [flatten(c) for c in configs]
    names = sorted({k for f in flats for k in f})
    out = []
    for name in names:
        if _left_out(name):
            continue
        values = [_scalar(f.get(name)) for f in flats]
        distinct = {repr(v): v for v in values}
        if len({key for f, key in zip(flats, map(repr, values), strict=True) if name in f}) < 2:
            continue
        numeric = all(_is_number(v) for v in values)
        ordered = tuple(sorted(distinct.values(), key=_sortable))
        out.append(VaryingParameter(name, ordered, numeric))
    return out


def figure_name(parameter: str, model: str, dataset: str) -> str:
    """The file name of one parameter's grouped-curves figure (the report links it by this name)."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", "_".join((parameter, model, dataset))).strip("-")
    return f"training_curves_{slug}.png"


def value_text(value: Any) -> str:
    """A parameter value as a legend label or table cell: 4 significant digits for floats."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def group_by_value(
    runs: Sequence[TrainingRun], parameter: VaryingParameter, max_groups: int = 5
) -> dict[str, list[str]]:
    """``{label: [run ids]}`` in the parameter's sorted order: the groups the curves figure draws.

    One group per value when there are at most ``max_groups`` values (a list sweep, a grid). A numeric parameter
    drawn from a range (a random sweep's lr: every run its own value) is cut into 3 groups of equal run counts,
    labelled by their range, as the seed grouped its runs into small / middle / large.
    """
    ordered = sorted(runs, key=lambda r: _sortable(r.params.get(parameter.name)))
    if not parameter.numeric or len(parameter.values) <= max_groups:
        out: dict[str, list[str]] = {}
        for run in ordered:
            out.setdefault(value_text(run.params.get(parameter.name)), []).append(run.run_id)
        return out
    bins = 3
    out = {}
    for b in range(bins):
        chunk = ordered[len(ordered) * b // bins : len(ordered) * (b + 1) // bins]
        if chunk:
            low, high = chunk[0].params[parameter.name], chunk[-1].params[parameter.name]
            out[f"{value_text(low)} to {value_text(high)}"] = [r.run_id for r in chunk]
    return out


def _live_rule(record: RunRecord) -> RuleConfig:
    """The live rule the run logged (``derived.live_rule``), else greenft's default live rule (older runs)."""
    from greenft.agents.config import default_stopping

    label = get_dotted(record.config, "derived.live_rule")
    if isinstance(label, str):
        try:
            return parse_rule(label)
        except RuleSpecError:
            pass
    return default_stopping()


def _training_run(curve: Curve, params: dict[str, Any], live: RuleConfig) -> TrainingRun:
    rules: list[RuleConfig] = [AnGesConfig()]
    if rule_label(live) != rule_label(AnGesConfig()):
        rules.append(live)
    rows = compare_curve(curve, rules, hindsight=False)  # [full budget, anges, live]
    best_index = hindsight_best(curve.val, curve.direction)  # ties: earliest, as the summary's best/*
    losses = [v for v in (curve.val_loss or ()) if math.isfinite(v)]
    return TrainingRun(
        run_id=curve.run_id,
        model=curve.model,
        dataset=curve.dataset,
        metric=curve.metric,
        params=params,
        budget=curve.n_epochs,
        best_val=curve.val[best_index] if best_index is not None else math.nan,
        best_val_epoch=None if best_index is None else best_index + 1,
        lowest_val_loss=min(losses) if losses else math.nan,
        full_kg=curve.emissions_kg[-1],
        anges=rows[1],
        live=rows[2] if len(rows) > 2 else None,
    )


def training_study(
    records: Sequence[RunRecord], curves: Sequence[Curve], seed: int = 0, *, importances: bool = True
) -> TrainingStudy:
    """The study over the complete curves (a run needs its whole budget to be replayed and costed).

    ``importances=False`` leaves fANOVA and the forest out (NaN): they cost about a second per target.
    """
    study = TrainingStudy()
    by_id = {r.run_id: r for r in records}
    groups: dict[tuple[str, str], list[Curve]] = {}
    for curve in curves:
        if curve.run_id in by_id:
            groups.setdefault((curve.model, curve.dataset), []).append(curve)
    _note_incomplete(study, records, {c.run_id for c in curves})
    for group, members in sorted(groups.items()):
        configs = [by_id[c.run_id].config for c in members]
        varying = varying_parameters(configs)
        if not varying:
            continue
        study.parameters[group] = varying
        runs = []
        for curve, config in zip(members, configs, strict=True):
            flat = flatten(config)
            live = _live_rule(by_id[curve.run_id])
            runs.append(_training_run(curve, {p.name: _scalar(flat.get(p.name)) for p in varying}, live))
        study.runs[group] = runs
        study.correlations.extend(_correlations(study, group, varying, runs, seed if importances else None))
        _note_prefixes(study, group, members, runs)
    return study


BUDGET_KEY = "optim.max_epochs"


def repeated_prefixes(curves: Sequence[Curve], runs: Sequence[TrainingRun]) -> list[tuple[str, str]]:
    """``(shorter run, longer run)`` pairs where the shorter one's curve is the first epochs of the longer one's.

    Only runs whose varying parameters agree except the epoch budget are compared, and the validation and test
    metric must agree at every shared epoch. That happens with a constant learning-rate schedule and a fixed seed
    (greenft's default): a budget of 30 then trains exactly the first 30 epochs of a budget of 45, so an epoch-budget
    sweep retrains one prefix several times, where one shadow run at the longest budget holds every shorter curve.
    """
    by_id = {c.run_id: c for c in curves}
    pairs = []
    for short in runs:
        others = {k: v for k, v in short.params.items() if k != BUDGET_KEY}
        longer = [
            r
            for r in runs
            if r.budget > short.budget and {k: v for k, v in r.params.items() if k != BUDGET_KEY} == others
        ]
        for candidate in sorted(longer, key=lambda r: -r.budget):
            a, b = by_id[short.run_id], by_id[candidate.run_id]
            n = a.n_epochs
            if a.val == b.val[:n] and a.test == b.test[:n]:
                pairs.append((short.run_id, candidate.run_id))
                break
    return pairs


def _note_prefixes(
    study: TrainingStudy, group: tuple[str, str], curves: Sequence[Curve], runs: Sequence[TrainingRun]
) -> None:
    pairs = repeated_prefixes(curves, runs)
    if not pairs:
        return
    kg = {r.run_id: r.full_kg for r in runs}
    repeated = math.fsum(kg[short] for short, _ in pairs)
    total = math.fsum(kg.values())
    share = 100.0 * repeated / total if total > 0 else math.nan
    study.notes.append(
        f"{group[0]} on {group[1]}: {len(pairs)} of {len(runs)} runs are the first epochs of a longer run with the "
        f"same other settings (their curves agree epoch for epoch): the epoch-budget sweep retrained the same prefix. "
        f"They cost {repeated:.3g} of the sweep's {total:.3g} kg CO2-eq ({share:.0f} %); one shadow run at the "
        "longest budget per setting holds all their curves, and replay gives every shorter budget's stop"
    )


def _note_incomplete(study: TrainingStudy, records: Sequence[RunRecord], complete: set[str]) -> None:
    """Say so when runs that differ in training parameters are left out for lack of a complete curve.

    A live training sweep stops most runs early: their curves end at the stop, so what the full budget would
    have cost is unknown, and the section would silently show few runs or none.
    """
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for record in records:
        groups.setdefault((record.model, record.dataset), []).append(record)
    for (model, dataset), members in sorted(groups.items()):
        left_out = [r for r in members if r.run_id not in complete]
        if left_out and varying_parameters([r.config for r in members]):
            study.notes.append(
                f"{model} on {dataset}: {len(left_out)} of {len(members)} runs differ in training parameters but "
                "have no complete curve (a live run that stopped early, or an unfinished one) and are left out; "
                "run training sweeps with mode: shadow to keep every run's full budget"
            )


def _correlations(
    study: TrainingStudy,
    group: tuple[str, str],
    varying: Sequence[VaryingParameter],
    runs: Sequence[TrainingRun],
    seed: int | None,
) -> list[TrainingCorrelation]:
    """Correlations, and importances unless ``seed`` is None."""
    model, dataset = group
    where = f"{model} on {dataset}"
    numeric = [p for p in varying if p.numeric]
    for p in varying:
        if not p.numeric:
            study.notes.append(f"{where}: {p.name} is not numeric ({len(p.values)} values); shown in the curves only")
    if not numeric:
        return []
    out = []
    for target in runs[0].targets():
        y = [r.targets()[target] for r in runs]
        usable = [i for i, v in enumerate(y) if math.isfinite(v)]
        if len(usable) < MIN_CORRELATION_RUNS:
            study.notes.append(
                f"{where}, {target}: {len(usable)} runs with a value (< {MIN_CORRELATION_RUNS}); skipped"
            )
            continue
        columns = {p.name: [float(runs[i].params[p.name]) for i in usable] for p in numeric}
        values = [y[i] for i in usable]
        fanova, forest, why = _importances(columns, values, seed) if seed is not None else ({}, {}, "")
        if len(usable) < MIN_IMPORTANCE_RUNS:
            study.notes.append(
                f"{where}, {target}: {len(usable)} runs (< {MIN_IMPORTANCE_RUNS}); correlations only, no importance"
            )
        elif why:
            study.notes.append(f"{where}, {target}: fANOVA unavailable ({why}); the forest's importance only")
        for p in numeric:
            x = columns[p.name]
            logged = pearson([math.log10(v) for v in x], values) if p.log_scale else math.nan
            out.append(
                TrainingCorrelation(
                    model,
                    dataset,
                    p.name,
                    target,
                    len(usable),
                    pearson(x, values),
                    logged,
                    spearman(x, values),
                    fanova.get(p.name, math.nan),
                    forest.get(p.name, math.nan),
                )
            )
    return out


def _importances(
    columns: dict[str, list[float]], target: list[float], seed: int
) -> tuple[dict[str, float], dict[str, float], str]:
    """fANOVA and random-forest importances of every numeric parameter together (empty when undefined), and why
    fANOVA failed when it did."""
    if len(target) < MIN_IMPORTANCE_RUNS or len(set(target)) < 2:
        return {}, {}, ""
    import pandas as pd

    from greenft.analysis.importance import _fanova

    frame = pd.DataFrame({**columns, "_target": target})
    fanova, why = _fanova(frame, list(columns), "_target", seed)
    return fanova, _forest(columns, target, seed), why


def _forest(columns: dict[str, list[float]], target: list[float], seed: int) -> dict[str, float]:
    """A random forest's impurity importance, as W&B's parameter-importance panel computes it."""
    from sklearn.ensemble import RandomForestRegressor

    names = list(columns)
    rows = [[columns[n][i] for n in names] for i in range(len(target))]
    forest = RandomForestRegressor(n_estimators=100, random_state=seed).fit(rows, target)
    return {n: float(v) for n, v in zip(names, forest.feature_importances_, strict=True)}
