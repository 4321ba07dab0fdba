"""Analysis of greenft runs: read them, replay stopping rules on their curves, weigh CO2 against metric.

greenft logs to W&B in offline mode by default, so results live on disk rather than on a server:
:mod:`greenft.analysis.offline` reads greenft's own run files (complete as soon as a trial returns) and, for
runs greenft did not write, :mod:`greenft.analysis.wandb_files` parses W&B's ``run-*.wandb`` files;
:mod:`greenft.analysis.reader` turns them or an online W&B project into one record type (with a cache).

The logic is pure and importable without W&B, pandas or plotting (a test checks it):
:mod:`~greenft.analysis.replay` (a rule on a logged curve, through :func:`greenft.stopping.build_rule`),
:mod:`~greenft.analysis.pareto` (fronts, hypervolume) and :mod:`~greenft.analysis.tradeoff` (emissions saved,
metric change vs best-val (hindsight) and vs the last epoch, hindsight references), :mod:`~greenft.analysis.fronts`
and :mod:`~greenft.analysis.compute` (the whole analysis as typed rows). :mod:`~greenft.analysis.markdown`,
:mod:`~greenft.analysis.writing` (through :mod:`~greenft.analysis.report`), :mod:`~greenft.analysis.plots` and
:mod:`~greenft.analysis.tuning` (Optuna) build on them; ``greenft analyze`` and ``greenft tune`` drive them.
"""

from greenft.analysis.pareto import dominates, hypervolume_2d, pareto_front, pareto_mask
from greenft.analysis.reader import Source, SourceError, epochs_frame, parse_source, read_runs, runs_frame
from greenft.analysis.records import Curve, CurveError, RunRecord, curve_from_record
from greenft.analysis.replay import ReplayResult, RuleSpecError, parse_rule, replay, replay_values
from greenft.analysis.tradeoff import Comparison, aggregate, compare_curve, score_rule
from greenft.analysis.wandb_files import OfflineRun, find_offline_runs, history_frame, iter_records, read_offline_run

__all__ = [
    "Comparison",
    "Curve",
    "CurveError",
    "OfflineRun",
    "ReplayResult",
    "RuleSpecError",
    "RunRecord",
    "Source",
    "SourceError",
    "aggregate",
    "compare_curve",
    "curve_from_record",
    "dominates",
    "epochs_frame",
    "find_offline_runs",
    "history_frame",
    "hypervolume_2d",
    "iter_records",
    "pareto_front",
    "pareto_mask",
    "parse_rule",
    "parse_source",
    "read_offline_run",
    "read_runs",
    "replay",
    "replay_values",
    "runs_frame",
    "score_rule",
]
