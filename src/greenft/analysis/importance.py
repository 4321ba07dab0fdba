"""Which training hyperparameters matter, for the metric and for the emissions, in a training sweep.

Why: greenft's seed study swept the learning rate, batch size and epoch budget against the validation
metric. With emissions logged for every run, the same sweep also says which knob drives the CO2 bill, and
whether the knobs that buy accuracy are the ones that cost carbon. Two views per parameter and target:

* **Spearman rank correlation** (monotone association, sign included; computed by pandas, no scipy);
* **fANOVA importance** (Hutter et al. 2014, Optuna's ``FanovaImportanceEvaluator``, random forests from
  scikit-learn): the share of the target's variance explained by each parameter, normalised to sum to 1.

Targets per run: the best validation metric (``summary best/val_<metric>``, sign-corrected so that higher is
better for both ROC-AUC and RMSE) and the training emissions (``total/emissions_kg``). Runs are grouped by
(model, dataset), since metrics of different datasets do not mix. A group is skipped, with a note saying why,
when it has fewer than :data:`MIN_RUNS` usable runs or no parameter varies: importance from a handful of
points is noise.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from greenft.analysis.records import RunRecord, flatten
from greenft.schema import Point, metric_sign, point_key
from greenft.schema.summary import AT_VAL, TOTAL_EMISSIONS

__all__ = [
    "DEFAULT_PARAMS",
    "MIN_RUNS",
    "ImportanceResult",
    "ImportanceRow",
    "fanova_importance",
    "hyperparameter_importance",
]

#: Training hyperparameters studied when they vary (config paths, flattened).
DEFAULT_PARAMS: tuple[str, ...] = (
    "optim.lr",
    "optim.batch_size",
    "optim.max_epochs",
    "optim.weight_decay",
    "model.num_layers",
    "model.emb_dim",
    "model.dropout",
)
MIN_RUNS = 5
METRIC_TARGET = "best_val_metric"
EMISSIONS_TARGET = "total_emissions_kg"


@dataclass(frozen=True)
class ImportanceRow:
    """One parameter against one target in one (model, dataset) group (a row of ``importance.csv``)."""

    model: str
    dataset: str
    target: str
    parameter: str
    n_runs: int
    spearman: float
    importance: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ImportanceResult:
    """Typed rows and notes on the groups that were skipped."""

    entries: list[ImportanceRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows as dicts, the columns of ``importance.csv``."""
        return [row.as_dict() for row in self.entries]


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def _targets(record: RunRecord) -> dict[str, float]:
    metric = record.metric or ""
    best = _number(record.summary.get(point_key(Point.BEST, AT_VAL, metric)))
    return {METRIC_TARGET: metric_sign(metric) * best, EMISSIONS_TARGET: _number(record.summary.get(TOTAL_EMISSIONS))}


def hyperparameter_importance(
    records: Sequence[RunRecord], params: Sequence[str] = DEFAULT_PARAMS, seed: int = 0
) -> ImportanceResult:
    """Spearman correlation and fANOVA importance of each varying parameter, per (model, dataset) group."""
    import pandas as pd

    result = ImportanceResult()
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for record in records:
        if record.state in ("finished", "interrupted"):
            groups.setdefault((record.model, record.dataset), []).append(record)
    for (model, dataset), members in sorted(groups.items()):
        rows = []
        for record in members:
            flat = flatten(record.config)
            row = {p: _number(flat.get(p)) for p in params}
            row.update(_targets(record))
            rows.append(row)
        frame = pd.DataFrame(rows)
        varying = [p for p in params if frame[p].notna().all() and frame[p].nunique() > 1]
        where = f"{model} on {dataset}"
        if not varying:
            result.notes.append(f"{where}: {len(members)} runs, no training hyperparameter varies; skipped")
            continue
        for target in (METRIC_TARGET, EMISSIONS_TARGET):
            usable = frame[[*varying, target]].dropna()
            if len(usable) < MIN_RUNS:
                result.notes.append(
                    f"{where}, {target}: {len(usable)} usable runs (< {MIN_RUNS}); too few for importance, skipped"
                )
                continue
            if usable[target].nunique() < 2:
                result.notes.append(f"{where}, {target}: constant over the runs; skipped")
                continue
            spearman = {p: float(usable[p].corr(usable[target], method="spearman")) for p in varying}
            importance, why = _fanova(usable, varying, target, seed)
            if why:
                result.notes.append(f"{where}, {target}: fANOVA unavailable ({why}); Spearman only")
            for p in varying:
                result.entries.append(
                    ImportanceRow(model, dataset, target, p, len(usable), spearman[p], importance.get(p, math.nan))
                )
    return result


def _fanova(frame: Any, params: Sequence[str], target: str, seed: int) -> tuple[dict[str, float], str]:
    """fANOVA importance through an in-memory Optuna study holding one trial per run."""
    try:
        import optuna
        from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution
        from optuna.importance import FanovaImportanceEvaluator, get_param_importances
    except ImportError as err:  # pragma: no cover - optuna is a dependency
        return {}, str(err)
    distributions: dict[str, BaseDistribution] = {}
    for p in params:
        low, high = float(frame[p].min()), float(frame[p].max())
        integral = bool((frame[p] == frame[p].round()).all())
        log = low > 0 and high / low >= 10
        distributions[p] = (
            IntDistribution(int(low), int(high), log=log) if integral else FloatDistribution(low, high, log=log)
        )
    optuna.logging.set_verbosity(logging.WARNING)
    study = optuna.create_study(direction="maximize")
    for _, row in frame.iterrows():
        values = {p: (int(row[p]) if isinstance(distributions[p], IntDistribution) else float(row[p])) for p in params}
        study.add_trial(optuna.trial.create_trial(params=values, distributions=distributions, value=float(row[target])))
    try:
        importances = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=seed))
    except (RuntimeError, ValueError) as err:
        return {}, str(err)
    return {k: float(v) for k, v in importances.items()}, ""


def fanova_importance(frame: Any, params: Sequence[str], target: str, seed: int = 0) -> tuple[dict[str, float], str]:
    """fANOVA importance of ``params`` for ``target`` over the rows of a pandas frame (one trial per row), and why
    it could not be computed (empty when it was): the one evaluator, also for the stopping-rule grid
    (:mod:`greenft.analysis.rule_grid`)."""
    return _fanova(frame, params, target, seed)
