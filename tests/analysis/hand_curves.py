"""One maker of hand-built curves for the analysis tests: a curve is what a shadow run's log holds, written by hand
so each expectation can be computed on paper."""

from __future__ import annotations

from typing import Any

from greenft.analysis.records import Curve, RunRecord
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


def as_record(curve: Curve) -> RunRecord:
    """The finished run whose logged history is ``curve`` (ROC-AUC on b3db, gin): what the analysis reads from disk."""
    history: list[dict[str, Any]] = [
        {"epoch": i + 1, "val/roc_auc": v, "test/roc_auc": t, "emissions/cumulative_kg": e}
        for i, (v, t, e) in enumerate(zip(curve.val, curve.test, curve.emissions_kg, strict=True))
    ]
    config = {"seed": curve.seed, "data": {"dataset": "b3db"}, "model": {"name": "gin"},
              "optim": {"max_epochs": curve.n_epochs}}  # fmt: skip
    return RunRecord(curve.run_id, "offline", f"/{curve.run_id}", "finished", config, {"metric": "roc_auc"}, history)
