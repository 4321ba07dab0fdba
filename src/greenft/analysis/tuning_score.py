"""What a tuning trial scores: the deployed (best-so-far) weights against the full run's best-val (hindsight).

Why this objective: a stopped run hands over its best-so-far checkpoint (``deploy: best``), and the user it
competes with trains the full budget and keeps the best-validation checkpoint. So the quality a config costs is
the deployed weights' metric vs that checkpoint's, :mod:`greenft.analysis.tradeoff`'s headline
(``test_vs_best_val_pct``). Tuning on the *test* metric would leak the test set into the choice, so by default
the same comparison is taken on the **validation** metric (the deployed epoch's validation metric vs the best
validation metric of the whole run; 0 when the rule kept the run's best epoch, negative otherwise), and the test
headline is reported beside it. Every number comes from :func:`~greenft.analysis.tradeoff.compare_curve`'s rows
(the deployed epoch, the best-val epoch, :func:`~greenft.analysis.tradeoff.metric_change_pct`): no second
definition.

Both objectives are **medians over the curves** (each curve weighs the same): the constrained pick
(``--max-loss``) and the held-out table are medians too, so the front the sampler builds is the front they are
read from, and one catastrophic curve moves a median less than a mean (the mean columns stay in the reports).

Pure: no files, no W&B.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from greenft.analysis.records import Curve
from greenft.analysis.tradeoff import (
    WITHIN_PCT,
    Comparison,
    RuleScore,
    compare_curve,
    is_within,
    metric_change_pct,
    score_rule,
)
from greenft.stopping import RuleConfig

__all__ = ["ConfigScore", "median", "score_config", "val_vs_best_val_pct"]


def median(values: Iterable[float]) -> float:
    """Median of the finite values; NaN when there is none."""
    finite = [float(v) for v in values if math.isfinite(v)]
    return statistics.median(finite) if finite else math.nan


def val_vs_best_val_pct(curve: Curve, row: Comparison) -> float:
    """The headline comparison on the validation metric: the deployed epoch's val metric vs the run's best."""
    if row.best_val_epoch is None:
        return math.nan
    deployed, best = curve.val[row.deployed_epoch - 1], curve.val[row.best_val_epoch - 1]
    return metric_change_pct(deployed, best, curve.direction)


@dataclass(frozen=True)
class ConfigScore:
    """One config over a set of curves: the objectives (medians) and the report's mean columns."""

    label: str
    runs: int  # curves scored (censored rows left out)
    co2_saved_median_pct: float
    val_vs_best_val_median_pct: float
    test_vs_best_val_median_pct: float  # the headline (test)
    within_1pct: int  # curves whose deployed test metric loses at most WITHIN_PCT % vs best-val (hindsight) ...
    judged: int  # ... out of those where the change is defined
    means: RuleScore  # tradeoff.score_rule: means, stop rate, vs-last-epoch changes

    def quality(self, split: str) -> float:
        """The quality objective on ``split`` (val: no test leakage; test: the headline itself)."""
        return self.val_vs_best_val_median_pct if split == "val" else self.test_vs_best_val_median_pct

    @property
    def within_text(self) -> str:
        return f"{self.within_1pct}/{self.judged}" if self.judged else "-"


def score_config(curves: Sequence[Curve], config: RuleConfig) -> ConfigScore:
    """Replay ``config`` on each curve and take the medians (see the module docstring)."""
    pairs = [(c, compare_curve(c, [config], hindsight=False)[1]) for c in curves]
    usable = [(c, r) for c, r in pairs if not r.censored]
    heads = [r.test_vs_best_val_pct for _, r in usable]
    means = score_rule(curves, config)
    return ConfigScore(
        label=means.label,
        runs=len(usable),
        co2_saved_median_pct=median(r.emissions_saved_pct for _, r in usable),
        val_vs_best_val_median_pct=median(val_vs_best_val_pct(c, r) for c, r in usable),
        test_vs_best_val_median_pct=median(heads),
        within_1pct=sum(is_within(h, WITHIN_PCT) for h in heads),
        judged=sum(math.isfinite(h) for h in heads),
        means=means,
    )
