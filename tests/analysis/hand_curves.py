"""One maker of hand-built curves for the analysis tests: a curve is what a shadow run's log holds, written by hand
so each expectation can be computed on paper."""

from __future__ import annotations

from greenft.analysis.records import Curve
from greenft.stopping import MetricDirection

MAX, MIN = MetricDirection.MAXIMIZE, MetricDirection.MINIMIZE


def make(val: list[float], test: list[float], emissions: list[float] | None = None, *, run_id: str = "r",
         direction: MetricDirection = MAX, seed: int = 0, dataset: str = "b3db") -> Curve:  # fmt: skip
    """A complete curve (budget = its length); emissions 1, 2, 3 ... kg unless given; ROC-AUC or RMSE by direction."""
    return Curve(
        run_id=run_id,
        metric="roc_auc" if direction is MAX else "rmse",
        direction=direction,
        val=tuple(val),
        test=tuple(test),
        emissions_kg=tuple(emissions or [float(i) for i in range(1, len(val) + 1)]),
        budget=len(val),
        dataset=dataset,
        model="gin",
        seed=seed,
    )
