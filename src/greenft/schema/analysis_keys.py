"""The W&B keys ``greenft analyze`` writes: the analysis run's (``job_type: analysis``) and, with
``--write-back``, the ones it adds to each source run's summary.

Why here: every key a run's readers see is spelled once, in the schema (:mod:`greenft.schema.summary` holds a
training run's own keys). The analysis keys used to be spelled inside :mod:`greenft.analysis.wandb_export`, so the
write-back keys landed on training runs with no entry in the schema and none in docs/logging.md. This module is the
one place; ``wandb_export`` fills the templates and tests/schema/test_analysis_keys.py checks docs/logging.md's
table against :data:`ANALYSIS_RUN_KEYS` and :data:`WRITE_BACK_KEYS`. Pure strings.

Placeholders: ``{metric}`` (the runs' metric), ``{strategy}`` (a strategy of ``tradeoff_overall.csv``: a rule
label, ``full_budget``, ...), ``{rule}`` (a replayed rule's label).
"""

from __future__ import annotations

__all__ = [
    "ANALYSIS_CURVES",
    "ANALYSIS_REPLAY_CHECKED",
    "ANALYSIS_REPLAY_MATCHED",
    "ANALYSIS_RUNS",
    "ANALYSIS_RUN_KEYS",
    "ANALYSIS_SKIPPED",
    "PARETO_KEY",
    "PARETO_TABLE_KEY",
    "STRATEGY_EMISSIONS_SAVED",
    "STRATEGY_TEST_VS_BEST_VAL",
    "STRATEGY_WITHIN_1PCT",
    "TABLE_KEY",
    "WRITE_BACK_EMISSIONS_SAVED",
    "WRITE_BACK_KEYS",
    "WRITE_BACK_STOP_EPOCH",
    "WRITE_BACK_TEST_VS_BEST_VAL",
    "fill",
]

# ---------------------------------------------------------------------------------------- the analysis run
TABLE_KEY = "analysis/tradeoff_summary"  # a wandb.Table: the rows of tradeoff_summary.csv
PARETO_KEY = "analysis/pareto"  # a custom chart (W&B's scatter spec)
PARETO_TABLE_KEY = "analysis/pareto_table"  # its table: wandb.plot_table logs it as <chart key>_table
ANALYSIS_RUNS = "analysis/runs"
ANALYSIS_CURVES = "analysis/curves"
ANALYSIS_SKIPPED = "analysis/skipped"
ANALYSIS_REPLAY_MATCHED = "analysis/replay_matched"
ANALYSIS_REPLAY_CHECKED = "analysis/replay_checked"
STRATEGY_EMISSIONS_SAVED = "analysis/{metric}/{strategy}/emissions_saved_pct"
STRATEGY_TEST_VS_BEST_VAL = "analysis/{metric}/{strategy}/test_vs_best_val_pct"
STRATEGY_WITHIN_1PCT = "analysis/{metric}/{strategy}/within_1pct"

ANALYSIS_RUN_KEYS: tuple[str, ...] = (
    TABLE_KEY,
    PARETO_KEY,
    PARETO_TABLE_KEY,
    ANALYSIS_RUNS,
    ANALYSIS_CURVES,
    ANALYSIS_SKIPPED,
    ANALYSIS_REPLAY_MATCHED,
    ANALYSIS_REPLAY_CHECKED,
    STRATEGY_EMISSIONS_SAVED,
    STRATEGY_TEST_VS_BEST_VAL,
    STRATEGY_WITHIN_1PCT,
)
"""Every key of the analysis run (history and summary)."""

# ------------------------------------------------------------------- --write-back: on each source run's summary
WRITE_BACK_STOP_EPOCH = "analysis/{rule}/stop_epoch"
WRITE_BACK_EMISSIONS_SAVED = "analysis/{rule}/emissions_saved_pct"
WRITE_BACK_TEST_VS_BEST_VAL = "analysis/{rule}/test_vs_best_val_pct"

WRITE_BACK_KEYS: tuple[str, ...] = (WRITE_BACK_STOP_EPOCH, WRITE_BACK_EMISSIONS_SAVED, WRITE_BACK_TEST_VS_BEST_VAL)
"""Every key ``--write-back`` adds to a training run's summary (the rows of ``tradeoff_runs.csv``)."""


def fill(template: str, *, metric: str = "", strategy: str = "", rule: str = "") -> str:
    """A concrete key: ``fill(STRATEGY_WITHIN_1PCT, metric="rmse", strategy="full_budget")``."""
    return template.replace("{metric}", metric).replace("{strategy}", strategy).replace("{rule}", rule)
