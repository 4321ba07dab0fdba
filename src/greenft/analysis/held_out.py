"""Leave-datasets-out tuning: how well does a tuned stopping config do on a dataset it was not tuned on?

Why: a config tuned by replay on a set of curves is scored on those same curves, so its numbers are optimistic
(it fits their noise). The question a user has is "what will this config do on *my* dataset", which only a
dataset the tuning never saw can answer. So for each dataset ``D`` among the curves: tune on the curves of the
other datasets (the same number of trials per fold, a seed derived from the main seed and ``D``), take the
constrained pick (``--max-loss``; if none qualifies, the knee, flagged ``fallback``), and replay it on ``D``'s
curves alone. The quality reported is the headline: the deployed (best-so-far) weights' **test** metric vs the
full run's best-val (hindsight) checkpoint (:mod:`greenft.analysis.tradeoff`), never used by the tuning.

The table (``held_out.json``, ``held_out.md``, one row per fold and a pooled row over every held-out run) is
what ``greenft tune --leave-datasets-out`` reports; the frontier benchmark reads ``held_out.json``.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from greenft.analysis.records import Curve
from greenft.analysis.report import markdown_table
from greenft.analysis.search_space import SearchSpace, config_of
from greenft.analysis.tradeoff import BEST_VAL, WITHIN_PCT, Comparison, compare_curve, is_within
from greenft.analysis.tuning import DEFAULT_MAX_LOSS, DEFAULT_STUDY, TuneResult, tune_by_replay
from greenft.analysis.tuning_score import median
from greenft.errors import UserError
from greenft.stopping import RuleConfig

__all__ = [
    "HELD_OUT_JSON",
    "HELD_OUT_MD",
    "Fold",
    "HeldOut",
    "HeldOutError",
    "fold_seed",
    "leave_datasets_out",
    "write_held_out",
]

HELD_OUT_JSON = "held_out.json"
HELD_OUT_MD = "held_out.md"
FoldProgress = Callable[[str, int, int], None]  # (held-out dataset, trials done, trials asked)


class HeldOutError(UserError, ValueError):
    """Leave-datasets-out asked of curves from fewer than two datasets."""


def fold_seed(seed: int, dataset: str) -> int:
    """The sampler seed of the fold that holds ``dataset`` out: derived from the main seed, so ``--seed N``
    repeats every fold, and different per fold (31 bits; ``random.Random`` of a string is stable)."""
    return random.Random(f"{seed}/{dataset}").getrandbits(31)


def _within_text(within: int, judged: int) -> str:
    return f"{within}/{judged}" if judged else "-"


@dataclass(frozen=True)
class Fold:
    """One held-out dataset: what was tuned on, the pick, and the pick's numbers on the held-out curves."""

    held_out: str
    tuned_on: tuple[str, ...]
    tuned_on_runs: tuple[str, ...]
    seed: int
    pick_label: str
    pick_config: dict[str, Any]
    fallback: bool  # no config met --max-loss on the tuning curves: the knee was taken instead
    rows: tuple[Comparison, ...]  # the pick replayed on each held-out curve (censored ones left out)

    @property
    def within(self) -> int:
        return sum(is_within(r.test_vs_best_val_pct, WITHIN_PCT) for r in self.rows)

    @property
    def judged(self) -> int:
        return sum(math.isfinite(r.test_vs_best_val_pct) for r in self.rows)

    def as_dict(self) -> dict[str, Any]:
        return {
            "held_out": self.held_out,
            "tuned_on": list(self.tuned_on),
            "pick": {"label": self.pick_label, "config": self.pick_config},
            "runs": len(self.rows),
            "co2_saved_median_pct": median(r.emissions_saved_pct for r in self.rows),
            "quality_change_median_pct": median(r.test_vs_best_val_pct for r in self.rows),
            "within_1pct": _within_text(self.within, self.judged),
            "fallback": self.fallback,
            "seed": self.seed,
            "tuned_on_runs": list(self.tuned_on_runs),
            "held_out_runs": [r.run_id for r in self.rows],
        }


@dataclass
class HeldOut:
    """Every fold and the pooled row (medians over all held-out runs)."""

    folds: list[Fold] = field(default_factory=list)
    max_loss: float = DEFAULT_MAX_LOSS
    metric_split: str = "val"
    n_trials: int = 0

    def pooled(self) -> dict[str, Any]:
        rows = [r for fold in self.folds for r in fold.rows]
        within = sum(f.within for f in self.folds)
        judged = sum(f.judged for f in self.folds)
        return {
            "folds": len(self.folds),
            "runs": len(rows),
            "co2_saved_median_pct": median(r.emissions_saved_pct for r in rows),
            "quality_change_median_pct": median(r.test_vs_best_val_pct for r in rows),
            "within_1pct": _within_text(within, judged),
            "fallbacks": sum(f.fallback for f in self.folds),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_loss_pct": self.max_loss,
            "tuned_on_metric": self.metric_split,
            "quality": f"test metric of the deployed (best-so-far) weights vs {BEST_VAL}, percent (positive = better)",
            "trials_per_fold": self.n_trials,
            "folds": [f.as_dict() for f in self.folds],
            "pooled": self.pooled(),
        }

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """Header and rows (the folds, then the pooled row) for the console and Markdown."""
        header = [
            "held out",
            "tuned on",
            "pick",
            "fallback (knee)",
            "runs",
            "CO2 saved % (median)",
            f"test vs {BEST_VAL} % (median)",
            f"within {WITHIN_PCT:g} %",
        ]
        rows: list[list[Any]] = []
        for fold in self.folds:
            d = fold.as_dict()
            rows.append(
                [
                    fold.held_out,
                    ", ".join(fold.tuned_on),
                    fold.pick_label,
                    "yes" if fold.fallback else "no",
                    str(d["runs"]),
                    d["co2_saved_median_pct"] + 0.0,  # + 0.0: a median of -0.0 shows as 0.00, not -0.00
                    d["quality_change_median_pct"] + 0.0,
                    d["within_1pct"],
                ]
            )
        p = self.pooled()
        rows.append(
            [
                "**pooled**",
                f"{p['folds']} folds",
                "-",
                f"{p['fallbacks']}/{p['folds']}",
                str(p["runs"]),
                p["co2_saved_median_pct"] + 0.0,
                p["quality_change_median_pct"] + 0.0,
                p["within_1pct"],
            ]
        )
        return header, rows

    def markdown_lines(self) -> list[str]:
        header, rows = self.table()
        return [
            "## Held-out datasets (leave-datasets-out)",
            "",
            f"Each dataset's pick was tuned on the *other* datasets' curves ({self.n_trials} trials per fold, "
            f"{self.metric_split} metric), as the constrained pick (median {self.metric_split} loss vs {BEST_VAL} "
            f"<= {self.max_loss:g} %; the knee where none qualified: fallback), then replayed on the held-out "
            f"curves only. Quality: the deployed weights' test metric vs {BEST_VAL}.",
            "",
            markdown_table(header, rows),
            "",
        ]


def _score_on(curves: Sequence[Curve], config: RuleConfig) -> tuple[Comparison, ...]:
    rows = (compare_curve(curve, [config], hindsight=False)[1] for curve in curves)
    return tuple(r for r in rows if not r.censored)


def leave_datasets_out(
    curves: Sequence[Curve],
    out_dir: Path,
    *,
    n_trials: int = 200,
    study_name: str = DEFAULT_STUDY,
    sampler: Literal["nsga2", "tpe", "random"] = "nsga2",
    seed: int = 0,
    space: SearchSpace | None = None,
    metric_split: Literal["val", "test"] = "val",
    max_loss: float = DEFAULT_MAX_LOSS,
    progress: FoldProgress | None = None,
) -> HeldOut:
    """One fold per dataset (sorted), see the module docstring. Folds run in memory (no study is stored: each
    is a throw-away study on a subset). Raises :class:`HeldOutError` for curves of a single dataset."""
    datasets = sorted({c.dataset for c in curves})
    if len(datasets) < 2:
        raise HeldOutError(
            f"--leave-datasets-out: curves of {len(datasets)} dataset(s) ({', '.join(datasets) or 'none'}); "
            "expected at least 2 (each dataset is scored by a config tuned on the others)"
        )
    held = HeldOut(max_loss=max_loss, metric_split=metric_split, n_trials=n_trials)
    for dataset in datasets:
        tune_on = [c for c in curves if c.dataset != dataset]
        test_on = [c for c in curves if c.dataset == dataset]
        s = fold_seed(seed, dataset)

        def report(done: int, total: int, name: str = dataset) -> None:
            if progress is not None:
                progress(name, done, total)

        result: TuneResult = tune_by_replay(
            tune_on,
            out_dir,
            n_trials=n_trials,
            storage="memory",
            study_name=f"{study_name}-without-{dataset}",
            sampler=sampler,
            seed=s,
            space=space,
            metric_split=metric_split,
            max_loss=max_loss,
            progress=report,
        )
        pick = result.constrained if result.constrained is not None else result.recommended
        if pick is None:  # no finite front at all: the exact defaults, flagged as a fallback
            pick = result.defaults
        config = config_of(dict(pick["stopping"]))
        held.folds.append(
            Fold(
                held_out=dataset,
                tuned_on=tuple(sorted({c.dataset for c in tune_on})),
                tuned_on_runs=tuple(c.run_id for c in tune_on),
                seed=s,
                pick_label=str(pick["label"]),
                pick_config=dict(pick["stopping"]),
                fallback=result.constrained is None,
                rows=_score_on(test_on, config),
            )
        )
    return held


def _json_value(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    return value


def write_held_out(held: HeldOut, out_dir: Path) -> list[Path]:
    """``held_out.json`` (NaN as null) and ``held_out.md`` in ``out_dir`` (a staging folder: see
    :func:`greenft.io.write_files_into`)."""
    json_path, md_path = out_dir / HELD_OUT_JSON, out_dir / HELD_OUT_MD
    json_path.write_text(json.dumps(_json_value(held.as_dict()), indent=2) + "\n")
    md_path.write_text("# Held-out tuning\n\n" + "\n".join(held.markdown_lines()))
    return [json_path, md_path]
