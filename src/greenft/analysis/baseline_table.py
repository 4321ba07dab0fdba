"""Is fine-tuning worth its CO2? Fine-tuned runs beside the cheap baselines of ``greenft baseline`` (pure).

Why in the trade-off report: a rule that saves 60 % of a fine-tuning's CO2 is no bargain when a random forest on
Morgan fingerprints, fitted for a thousandth of the emissions, scores as well. So every comparison the report
makes can carry the baselines measured on the same data and split (``greenft analyze --baseline FILE``).

Matching: a baseline report counts for the runs of its dataset *and* split kind (a scaffold-split baseline says
nothing about a random-split run); seeds are pooled on both sides (mean ± sample sd over what there is). The
fine-tuned side is each run's comparison rows (:mod:`greenft.analysis.tradeoff`): the full budget and every
headline rule, each with the weights it deploys (best-so-far validation epoch at its stop) and its training kg.
Emissions are the training (``fit``) phase on both sides: the baseline's featurise + fit, the run's epochs.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from greenft.analysis.tradeoff import Comparison
from greenft.schema.baseline import BaselineReport
from greenft.stopping import MetricDirection

__all__ = ["WorthRow", "worth_rows"]

BASELINE = "baseline"
FINE_TUNED = "fine-tuned"


@dataclass(frozen=True)
class WorthRow:
    """One fine-tuning strategy of one model, or one baseline, on one dataset and split kind."""

    dataset: str
    split: str
    metric: str
    kind: str  # fine-tuned | baseline
    name: str  # "<model> / <strategy>" or the baseline's name
    n: int
    test_mean: float
    test_sd: float
    kg_mean: float
    kg_sd: float
    beats_best_baseline: bool | None  # None for baselines, and where no baseline matched
    kg_ratio_to_best_baseline: float | None  # fine-tuning kg / the best baseline's fit kg

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _mean_sd(values: Sequence[float]) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return math.nan, math.nan
    return statistics.fmean(finite), (statistics.stdev(finite) if len(finite) > 1 else 0.0)


def _better(a: float, b: float, direction: MetricDirection) -> bool:
    return a > b if direction is MetricDirection.MAXIMIZE else a < b


def worth_rows(
    comparisons: Iterable[Comparison],
    run_splits: Mapping[str, str],
    reports: Iterable[BaselineReport],
    directions: Mapping[str, MetricDirection],
) -> list[WorthRow]:
    """The table's rows, grouped by (dataset, split): baselines first (best first), then every fine-tuned
    strategy, with whether its mean test metric beats the best baseline's and its kg over that baseline's.

    ``run_splits`` maps a run id to its split kind (``data.split`` of its config); runs whose split is unknown, and
    datasets without a matching baseline report, are left out: the table answers only where both sides exist.
    ``directions`` maps a metric name to its direction (the schema's table).
    """
    baseline_values: dict[tuple[str, str, str], dict[str, list[tuple[float, float]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for report in reports:
        for row in report.rows:
            key = (report.dataset, report.split, report.metric)
            baseline_values[key][row.baseline].append((row.test_metric, row.fit_emissions_kg))
    tuned: dict[tuple[str, str, str], dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for c in comparisons:
        split = run_splits.get(c.run_id)
        if split is None or (c.dataset, split, c.metric) not in baseline_values:
            continue
        tuned[(c.dataset, split, c.metric)][f"{c.model} / {c.strategy}"].append(
            (c.deployed_test_metric, c.emissions_kg)
        )

    out: list[WorthRow] = []
    for key in sorted(tuned):
        dataset, split, metric = key
        direction = directions.get(metric, MetricDirection.MAXIMIZE)
        sign = -1.0 if direction is MetricDirection.MAXIMIZE else 1.0
        base_rows = []
        for name, pairs in baseline_values[key].items():
            test, test_sd = _mean_sd([t for t, _ in pairs])
            kg, kg_sd = _mean_sd([k for _, k in pairs])
            base_rows.append(
                WorthRow(dataset, split, metric, BASELINE, name, len(pairs), test, test_sd, kg, kg_sd, None, None)
            )
        base_rows.sort(key=lambda r: sign * r.test_mean if math.isfinite(r.test_mean) else math.inf)
        best = base_rows[0] if base_rows and math.isfinite(base_rows[0].test_mean) else None
        out.extend(base_rows)
        for name, pairs in sorted(tuned[key].items()):
            test, test_sd = _mean_sd([t for t, _ in pairs])
            kg, kg_sd = _mean_sd([k for _, k in pairs])
            beats = None if best is None or not math.isfinite(test) else _better(test, best.test_mean, direction)
            ratio = kg / best.kg_mean if best is not None and best.kg_mean > 0 and math.isfinite(kg) else None
            out.append(
                WorthRow(dataset, split, metric, FINE_TUNED, name, len(pairs), test, test_sd, kg, kg_sd, beats, ratio)
            )
    return out
