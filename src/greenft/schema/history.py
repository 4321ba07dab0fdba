"""The per-epoch history row: one table of columns, and the builder that walks it.

Why a table: a column is its key template, its type and how its value comes from the epoch, in one entry.
:func:`epoch_row` (what the trainer logs to W&B and ``greenft_epochs.jsonl``), the W&B chart set-up, the sweep
file check and the analysis' decoding all iterate over :data:`EPOCH_COLUMNS` and :data:`SHADOW_EPOCH_COLUMNS`,
so adding a column here is the whole change (plus its line in docs/logging.md, which a test enforces).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from greenft.schema.columns import Column
from greenft.schema.inputs import DecisionLike, EpochLike, ForecastLike
from greenft.schema.keys import Decision, key

__all__ = [
    "AER",
    "DECISION",
    "DELTA_EMIS_PCT",
    "DELTA_PERF_PCT",
    "EMA",
    "EMISSIONS",
    "ENERGY",
    "EPOCH",
    "EPOCH_COLUMNS",
    "EXTRA_METRIC_COLUMNS",
    "FORECAST_EMISSIONS",
    "FORECAST_ENERGY",
    "FORECAST_TIME",
    "PHASE",
    "REASON",
    "SHADOW_AER",
    "SHADOW_DECISION",
    "SHADOW_EMA",
    "SHADOW_EPOCH_COLUMNS",
    "TEST",
    "TEST_EVAL_EMISSIONS",
    "TEST_EVAL_ENERGY",
    "TEST_EVAL_TIME",
    "THRESHOLD",
    "TIME",
    "TRAIN_LOSS",
    "VAL",
    "VAL_LOSS",
    "VAL_LOSS_SE",
    "VAL_SE",
    "EpochView",
    "decision_word",
    "epoch_row",
    "history_prefixes",
]

EPOCH = "epoch"
TRAIN_LOSS = "train/loss"
VAL = "val/{metric}"
VAL_LOSS = "val/loss"  # the training loss on the validation set: what a rule with monitor: loss sees
VAL_SE = "val/{metric}_se"  # bootstrap standard error of val/{metric} (anges-pp's dead-band)
VAL_LOSS_SE = "val/loss_se"
TEST = "test/{metric}"
EMISSIONS = "emissions/cumulative_kg"  # the E_i the stopping rule sees (train + validation)
ENERGY = "energy/cumulative_kwh"
TIME = "time/cumulative_s"
TEST_EVAL_EMISSIONS = "emissions/test_eval_cumulative_kg"
TEST_EVAL_ENERGY = "energy/test_eval_cumulative_kwh"
TEST_EVAL_TIME = "time/test_eval_cumulative_s"
FORECAST_EMISSIONS = "forecast/emissions_kg"  # the full budget's kg as forecast at this epoch (NaN: none yet)
FORECAST_ENERGY = "forecast/energy_kwh"
FORECAST_TIME = "forecast/time_s"
DELTA_PERF_PCT = "stop/delta_perf_pct"
DELTA_EMIS_PCT = "stop/delta_emis_pct"
AER = "stop/aer"
EMA = "stop/ema"
THRESHOLD = "stop/threshold"
DECISION = "stop/decision"
PHASE = "stop/phase"
REASON = "stop/reason"
SHADOW_DECISION = "shadow/{rule}/decision"
SHADOW_AER = "shadow/{rule}/aer"
SHADOW_EMA = "shadow/{rule}/ema"

#: ``stop/phase`` and ``stop/reason`` once the live rule has stopped (shadow mode trains on).
STOPPED_PHASE = "stopped"
STOPPED_REASON = "rule stopped earlier (shadow mode trains on)"


@dataclass(frozen=True)
class EpochView:
    """What an epoch column reads: the epoch and the live rule's decision (None once that rule has stopped)."""

    record: EpochLike
    live: DecisionLike | None


def _num(value: float | None) -> float:
    return math.nan if value is None else float(value)


def decision_word(decision: DecisionLike | None) -> str:
    """``continue``, ``stop`` (this epoch), or ``stopped`` (an earlier epoch; shadow mode only)."""
    if decision is None:
        return Decision.STOPPED.value
    return (Decision.STOP if decision.should_stop else Decision.CONTINUE).value


def _live(view: EpochView, read: Callable[[DecisionLike], float | None]) -> float:
    return _num(read(view.live) if view.live is not None else None)


def _forecast(view: EpochView, read: Callable[[ForecastLike], float]) -> float:
    return _num(read(view.record.forecast) if view.record.forecast is not None else None)


#: Columns every epoch row has (metric placeholder filled with the run's metric).
EPOCH_COLUMNS: tuple[Column[EpochView], ...] = (
    Column(EPOCH, int, lambda v: v.record.epoch),
    Column(TRAIN_LOSS, float, lambda v: v.record.train_loss),
    Column(VAL, float, lambda v: v.record.val_metric),
    Column(VAL_LOSS, float, lambda v: v.record.val_loss),
    Column(VAL_SE, float, lambda v: v.record.val_metric_se),
    Column(VAL_LOSS_SE, float, lambda v: v.record.val_loss_se),
    Column(TEST, float, lambda v: v.record.test_metric),
    Column(EMISSIONS, float, lambda v: v.record.fit.emissions_kg),
    Column(ENERGY, float, lambda v: v.record.fit.energy_kwh),
    Column(TIME, float, lambda v: v.record.fit.duration_s),
    Column(TEST_EVAL_EMISSIONS, float, lambda v: v.record.test_eval.emissions_kg),
    Column(TEST_EVAL_ENERGY, float, lambda v: v.record.test_eval.energy_kwh),
    Column(TEST_EVAL_TIME, float, lambda v: v.record.test_eval.duration_s),
    Column(FORECAST_EMISSIONS, float, lambda v: _forecast(v, lambda f: f.emissions_kg)),
    Column(FORECAST_ENERGY, float, lambda v: _forecast(v, lambda f: f.energy_kwh)),
    Column(FORECAST_TIME, float, lambda v: _forecast(v, lambda f: f.duration_s)),
    Column(DELTA_PERF_PCT, float, lambda v: _live(v, lambda d: d.delta_perf_pct)),
    Column(DELTA_EMIS_PCT, float, lambda v: _live(v, lambda d: d.delta_emis_pct)),
    Column(AER, float, lambda v: _live(v, lambda d: d.aer)),
    Column(EMA, float, lambda v: _live(v, lambda d: d.ema)),
    Column(THRESHOLD, float, lambda v: _live(v, lambda d: d.threshold)),
    Column(DECISION, str, lambda v: decision_word(v.live)),
    Column(PHASE, str, lambda v: str(v.live.phase) if v.live is not None else STOPPED_PHASE),
    Column(REASON, str, lambda v: v.live.reason if v.live is not None else STOPPED_REASON),
)

#: Columns per further metric of the run (``data.extra_metrics``; metric placeholder filled with its name): the
#: ``val/<metric>`` and ``test/<metric>`` a run driven by that metric logs, so every reader knows them already.
#: Read from the record's extras, scored on the same predictions as the run's own metric.
EXTRA_METRIC_COLUMNS: tuple[Column[tuple[EpochLike, str]], ...] = (
    Column(VAL, float, lambda v: v[0].val_extras.get(v[1], math.nan)),
    Column(TEST, float, lambda v: v[0].test_extras.get(v[1], math.nan)),
)

#: Columns per further rule in shadow mode (rule placeholder filled with its label), while it has not stopped.
SHADOW_EPOCH_COLUMNS: tuple[Column[DecisionLike], ...] = (
    Column(SHADOW_DECISION, str, decision_word),
    Column(SHADOW_AER, float, lambda d: _num(d.aer)),
    Column(SHADOW_EMA, float, lambda d: _num(d.ema)),
)


def epoch_row(record: EpochLike, metric: str, live_label: str) -> dict[str, Any]:
    """The per-epoch history row (W&B step and ``greenft_epochs.jsonl`` line), built from the tables above."""
    view = EpochView(record, record.decisions.get(live_label))
    row = {key(column.template, metric): column.value(view) for column in EPOCH_COLUMNS}
    for extra in dict.fromkeys([*record.val_extras, *record.test_extras]):
        row.update({key(c.template, extra): c.value((record, extra)) for c in EXTRA_METRIC_COLUMNS})
    for label, decision in record.decisions.items():
        if label != live_label:
            row.update({key(c.template, metric, label): c.value(decision) for c in SHADOW_EPOCH_COLUMNS})
    return row


def history_prefixes() -> tuple[str, ...]:
    """The first path segment of every namespaced column (``val``, ``stop``, ...): W&B plots them against epoch."""
    templates = [c.template for c in EPOCH_COLUMNS] + [c.template for c in SHADOW_EPOCH_COLUMNS]
    return tuple(dict.fromkeys(t.split("/", 1)[0] for t in templates if "/" in t))
