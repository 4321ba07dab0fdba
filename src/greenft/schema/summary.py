"""The run summary: the keys it holds, as tables, and the builder that walks them.

Why tables: the summary is read by the CLI, the sweep controller, the tuner and the analysis. Each key is an
entry here (template, type, value, when it is present), so :func:`build_summary` writes exactly the keys the
readers and the docs test enumerate, and a new key is one entry (plus its line in docs/logging.md).

Four kinds of entries: run-wide :data:`RUN_COLUMNS` (read :class:`SummaryFacts`), :data:`POINT_FIELDS` written
once per :class:`~greenft.schema.keys.Point` (``stop``, ``deployed``, ``best``, ``oracle``, ``full``: read that
epoch),
:data:`SHADOW_COLUMNS` once per rule in shadow mode (read :class:`RuleView`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from greenft.schema.columns import Column
from greenft.schema.green import GreenView
from greenft.schema.inputs import EpochLike, RuleLike
from greenft.schema.keys import METRIC_DIRECTIONS, POINTS, Mode, Point, RunStatus, key, match_template, point_key
from greenft.stopping import ForecastError, MetricDirection, forecast_error
from greenft.tracking.emissions import FINAL_EMISSIONS, FINAL_ENERGY
from greenft.tracking.grid import COUNTRY_KEY, COUNTRY_SOURCE_KEY

__all__ = [
    "AT_EMISSIONS",
    "AT_ENERGY",
    "AT_EPOCH",
    "AT_TEST",
    "AT_TIME",
    "AT_VAL",
    "EXTRA_POINT_FIELDS",
    "FORECAST_ENERGY_ERROR",
    "FORECAST_EPOCH",
    "FORECAST_ERROR",
    "FORECAST_TIME_ERROR",
    "GREEN_CO2_SAVED",
    "GREEN_COLUMNS",
    "GREEN_KG_FULL",
    "GREEN_KG_FULL_SOURCE",
    "GREEN_KG_STOP",
    "GREEN_QUALITY_BEST",
    "GREEN_QUALITY_CHANGE",
    "GREEN_QUALITY_STOP",
    "GREEN_STOP_EPOCH",
    "METER",
    "METER_COUNTRY",
    "METER_COUNTRY_SOURCE",
    "METER_NOTE",
    "METRIC",
    "MODE",
    "MODEL_BEST_EPOCH",
    "MODEL_BEST_FILE",
    "MODEL_BEST_FILE_BYTES",
    "MODEL_PARAMETERS",
    "MODEL_STOP_EPOCH",
    "MODEL_STOP_FILE",
    "MODEL_STOP_FILE_BYTES",
    "POINT_FIELDS",
    "RUN_COLUMNS",
    "SHADOW_COLUMNS",
    "SHADOW_DEPLOYED_EPOCH",
    "SHADOW_DEPLOYED_TEST",
    "SHADOW_EMISSIONS",
    "SHADOW_REASON",
    "SHADOW_STOP_EPOCH",
    "SHADOW_TEST",
    "SHADOW_VAL",
    "STATUS",
    "STOP_EXTERNAL",
    "STOP_REASON",
    "STOP_RULE",
    "STOP_TRIGGERED",
    "TOTAL_CLAMPED_READINGS",
    "TOTAL_EMISSIONS",
    "TOTAL_ENERGY",
    "TOTAL_EPOCHS",
    "TOTAL_METERED_EMISSIONS",
    "TOTAL_METERED_ENERGY",
    "TOTAL_TEST_EVAL_EMISSIONS",
    "TOTAL_TEST_EVAL_ENERGY",
    "TOTAL_TIME",
    "Deploy",
    "RuleView",
    "SummaryFacts",
    "build_summary",
    "deployed_index",
    "hindsight_best",
    "shadow_stop_epochs",
    "summary_columns",
]

STATUS = "status"
MODE = "mode"
METRIC = "metric"
STOP_RULE = "stop/rule"
STOP_TRIGGERED = "stop/triggered"
STOP_REASON = "stop/reason"  # the same name as the history column: the summary's value is the final one
STOP_EXTERNAL = "stop/external"
TOTAL_EPOCHS = "total/epochs"
TOTAL_EMISSIONS = "total/emissions_kg"
TOTAL_ENERGY = "total/energy_kwh"
TOTAL_TIME = "total/time_s"
TOTAL_TEST_EVAL_EMISSIONS = "total/test_eval_emissions_kg"
TOTAL_TEST_EVAL_ENERGY = "total/test_eval_energy_kwh"
TOTAL_CLAMPED_READINGS = "total/clamped_readings"
# The meter's reading at stop (greenft.tracking.emissions.with_final_reading): all it measured, the closing after the
# last epoch included; what CodeCarbon's emissions.csv sums to (docs/logging.md, "CodeCarbon's own files").
TOTAL_METERED_EMISSIONS = "total/metered_emissions_kg"
TOTAL_METERED_ENERGY = "total/metered_energy_kwh"
METER = "meter"
METER_NOTE = "meter/note"
METER_COUNTRY = "meter/country_iso_code"  # the grid CodeCarbon used (greenft.tracking.grid) ...
METER_COUNTRY_SOURCE = "meter/country_source"  # ... and who chose it: --country, a .codecarbon.config, env, default
# The first emission forecast against the actual total; only a run that trained its whole budget has one.
FORECAST_EPOCH = "forecast/epoch"
FORECAST_ERROR = "forecast/error_pct"
FORECAST_ENERGY_ERROR = "forecast/energy_error_pct"
FORECAST_TIME_ERROR = "forecast/time_error_pct"
# The saved models (greenft.agents.saved_models): the trainer puts these keys, with their values, in
# SummaryFacts.models; a file the run did not write (save_models, no finished epoch) has no keys.
MODEL_PARAMETERS = "model/parameters"
MODEL_BEST_FILE = "model/best_file"
MODEL_BEST_FILE_BYTES = "model/best_file_bytes"
MODEL_STOP_FILE = "model/stop_file"
MODEL_STOP_FILE_BYTES = "model/stop_file_bytes"
MODEL_BEST_EPOCH = "model/best_epoch"
MODEL_STOP_EPOCH = "model/stop_epoch"

# Fields of every point: ``<point>/<field>``, e.g. ``stop/val_roc_auc`` (use keys.point_key to build one).
AT_EPOCH = "epoch"
AT_VAL = "val_{metric}"
AT_TEST = "test_{metric}"
AT_EMISSIONS = "emissions_kg"
AT_ENERGY = "energy_kwh"
AT_TIME = "time_s"

SHADOW_STOP_EPOCH = "shadow/{rule}/stop_epoch"  # null: the rule never stopped
SHADOW_REASON = "shadow/{rule}/reason"
SHADOW_VAL = "shadow/{rule}/val_{metric}"
SHADOW_TEST = "shadow/{rule}/test_{metric}"
SHADOW_EMISSIONS = "shadow/{rule}/emissions_kg"
SHADOW_DEPLOYED_EPOCH = "shadow/{rule}/deployed_epoch"  # the epoch that rule's stop would deploy (run's policy)
SHADOW_DEPLOYED_TEST = "shadow/{rule}/deployed_test_{metric}"

# The metric-free group (greenft.schema.green): one name for every metric, for W&B's sweep and parallel-coordinates
# panels across datasets. Percentages are the analysis' emissions_saved_pct and test_vs_best_val_pct.
GREEN_STOP_EPOCH = "green/stop_epoch"
GREEN_KG_STOP = "green/kg_at_stop"
GREEN_KG_FULL = "green/kg_full"  # measured when the run trained its budget, else the forecast; absent: neither
GREEN_KG_FULL_SOURCE = "green/kg_full_source"  # measured | forecast
GREEN_CO2_SAVED = "green/co2_saved_pct"
GREEN_QUALITY_STOP = "green/quality_at_stop"
GREEN_QUALITY_BEST = "green/quality_best"
GREEN_QUALITY_CHANGE = "green/quality_change_pct"  # negative = worse; only when the budget was trained

BUDGET_REACHED = "epoch budget reached"
NEVER_STOPPED = "never stopped"


class Deploy(StrEnum):
    """Which weights a run that ends at some epoch hands to its user.

    ``best`` (the default): the best-validation epoch so far, an in-memory copy kept while training, so it costs
    no extra CO2 and undoes the last noisy epochs a rule needed to notice the plateau. ``last``: the weights of
    the epoch training ended at.
    """

    BEST = "best"
    LAST = "last"


def deployed_index(
    values: Sequence[float], direction: MetricDirection, end_index: int, deploy: Deploy | str = Deploy.BEST
) -> int:
    """0-based index of the epoch whose weights are deployed when training ends at ``end_index`` (0-based).

    The one definition of the deployed epoch: the trainer (which keeps those weights), the summary and the
    analysis' replays all call it, so a replayed stop deploys exactly the epoch a live run would have. ``best``
    looks only at ``values[: end_index + 1]`` (no future epoch); with no finite value there it falls back to
    ``end_index``.
    """
    if not 0 <= end_index < len(values):
        raise ValueError(f"end_index {end_index} is outside the {len(values)} values")
    if Deploy(deploy) is Deploy.LAST:
        return end_index
    best = hindsight_best(values[: end_index + 1], direction)
    return end_index if best is None else best


def hindsight_best(values: Sequence[float], direction: MetricDirection) -> int | None:
    """0-based index of the best finite value (ties: the earliest); None when none is finite.

    The one definition of ``best`` (by validation) and ``oracle`` (by test): the trainer's summary and the
    analysis' replays both use it, so their epochs agree.
    """
    sign = 1.0 if MetricDirection(direction) is MetricDirection.MAXIMIZE else -1.0
    best: int | None = None
    for index, value in enumerate(values):
        if math.isfinite(value) and (best is None or sign * value > sign * values[best]):
            best = index
    return best


@dataclass(frozen=True)
class SummaryFacts:
    """Everything the summary is computed from, as the trainer knows it when the run ends."""

    status: str
    mode: str
    metric: str
    live_label: str
    epochs: Sequence[EpochLike]
    rules: Mapping[str, RuleLike]
    clamped_readings: int = 0
    meter: Mapping[str, Any] = field(default_factory=dict)
    external_stop: str | None = None
    deploy: Deploy | str = Deploy.BEST
    models: Mapping[str, Any] = field(default_factory=dict)  # ``model/*`` summary key -> value (see MODEL_*)

    @property
    def trained(self) -> bool:
        return bool(self.epochs)

    @property
    def shadow(self) -> bool:
        return self.mode == Mode.SHADOW

    @property
    def last(self) -> EpochLike:
        return self.epochs[-1]

    @property
    def live(self) -> RuleLike:
        return self.rules[self.live_label]

    def at(self, epoch: int | None) -> EpochLike:
        """The record of ``epoch``, or the last one for ``None`` (a rule that never stopped ends with the run)."""
        if epoch is None:
            return self.last
        return next(e for e in self.epochs if e.epoch == epoch)

    def point(self, point: Point) -> EpochLike | None:
        """The epoch a point stands for, or None when the run has none (no finite metric, not shadow mode)."""
        if point is Point.STOP:
            return self.at(self.live.stopped_epoch)
        if point is Point.FULL:
            return self.last if self.shadow else None
        if point is Point.DEPLOYED:
            return self.deployed(None)
        values = [e.val_metric if point is Point.BEST else e.test_metric for e in self.epochs]
        index = hindsight_best(values, METRIC_DIRECTIONS[self.metric])
        return None if index is None else self.epochs[index]

    def deployed(self, end_epoch: int | None) -> EpochLike:
        """The epoch whose weights are handed over when training ends at ``end_epoch`` (None: the last epoch).

        Through :func:`deployed_index` with the run's policy, as the trainer's keeper
        (:mod:`greenft.agents.deploy`) chose the weights it saved: ``deployed/*`` is the saved file's epoch.
        """
        end = len(self.epochs) - 1 if end_epoch is None else [e.epoch for e in self.epochs].index(end_epoch)
        values = [e.val_metric for e in self.epochs]
        return self.epochs[deployed_index(values, METRIC_DIRECTIONS[self.metric], end, self.deploy)]

    @cached_property
    def green(self) -> GreenView:
        """The run as the ``green/*`` keys see it: the live rule's stop, its deployed and best-val epochs (built
        once per run: every ``green/*`` column and its presence check read it)."""
        best = self.point(Point.BEST)
        # Complete: the epochs are the whole budget. A shadow run, or a live rule that never fired, that finished
        # on its own (not Ctrl-C, not a sweep controller's stop); or any run whose last forecast was for its epoch.
        ran_out = self.status == RunStatus.FINISHED and self.external_stop is None
        forecast = self.last.forecast
        at_budget = forecast is not None and forecast.budget_epochs == self.last.epoch
        complete = (ran_out and (self.shadow or self.live.stopped_epoch is None)) or at_budget
        stop = self.at(self.live.stopped_epoch)
        direction = METRIC_DIRECTIONS[self.metric]
        return GreenView(stop, self.deployed(stop.epoch), best, self.last, complete, direction)

    def stop_reason(self) -> str:
        if self.external_stop is not None:
            return self.external_stop
        if self.live.stop_reason:
            return self.live.stop_reason
        return BUDGET_REACHED if self.status == RunStatus.FINISHED else RunStatus.INTERRUPTED.value


@dataclass(frozen=True)
class RuleView:
    """One rule of a shadow run: its label, the rule, the epoch training would have ended at under it, and the
    epoch whose weights that stop would have deployed (under the run's deploy policy)."""

    label: str
    rule: RuleLike
    at: EpochLike
    deployed: EpochLike


def _trained(facts: SummaryFacts) -> bool:
    return facts.trained


def _totals(read: Callable[[EpochLike], Any]) -> Callable[[SummaryFacts], Any]:
    return lambda facts: read(facts.last)


def _forecast_error(facts: SummaryFacts) -> ForecastError | None:
    if not facts.trained:
        return None
    return forecast_error([e.forecast for e in facts.epochs], facts.last.fit, facts.last.epoch)


def _forecast_checked(facts: SummaryFacts) -> bool:
    return _forecast_error(facts) is not None


def _forecast(read: Callable[[ForecastError], Any]) -> Callable[[SummaryFacts], Any]:
    def value(facts: SummaryFacts) -> Any:
        error = _forecast_error(facts)
        return None if error is None else read(error)

    return value


def _model_column(name: str, kind: type) -> Column[SummaryFacts]:
    """A ``model/*`` key: written when the trainer gave its value (SummaryFacts.models)."""
    return Column(name, kind, lambda facts: facts.models[name], lambda facts: name in facts.models)


def _meter_column(name: str, kind: type, entry: str) -> Column[SummaryFacts]:
    """A key copied from the meter's description (greenft.tracking.emissions): written when the meter gave it."""
    return Column(name, kind, lambda facts: facts.meter[entry], lambda facts: entry in facts.meter)


#: Run-wide keys. The first four are written even when no epoch was trained.
RUN_COLUMNS: tuple[Column[SummaryFacts], ...] = (
    Column(STATUS, str, lambda f: str(f.status)),
    Column(MODE, str, lambda f: str(f.mode)),
    Column(METRIC, str, lambda f: f.metric),
    Column(STOP_RULE, str, lambda f: f.live_label),
    Column(STOP_TRIGGERED, bool, lambda f: f.live.stopped_epoch is not None, _trained),
    Column(STOP_REASON, str, SummaryFacts.stop_reason, _trained),
    Column(STOP_EXTERNAL, bool, lambda f: True, lambda f: f.trained and f.external_stop is not None),
    Column(TOTAL_EPOCHS, int, _totals(lambda e: e.epoch), _trained),
    Column(TOTAL_EMISSIONS, float, _totals(lambda e: e.fit.emissions_kg), _trained),
    Column(TOTAL_ENERGY, float, _totals(lambda e: e.fit.energy_kwh), _trained),
    Column(TOTAL_TIME, float, _totals(lambda e: e.fit.duration_s), _trained),
    Column(TOTAL_TEST_EVAL_EMISSIONS, float, _totals(lambda e: e.test_eval.emissions_kg), _trained),
    Column(TOTAL_TEST_EVAL_ENERGY, float, _totals(lambda e: e.test_eval.energy_kwh), _trained),
    Column(TOTAL_CLAMPED_READINGS, int, lambda f: f.clamped_readings, _trained),
    _meter_column(TOTAL_METERED_EMISSIONS, float, FINAL_EMISSIONS),
    _meter_column(TOTAL_METERED_ENERGY, float, FINAL_ENERGY),
    Column(FORECAST_EPOCH, int, _forecast(lambda e: e.epoch), _forecast_checked),
    Column(FORECAST_ERROR, float, _forecast(lambda e: e.emissions_pct), _forecast_checked),
    Column(FORECAST_ENERGY_ERROR, float, _forecast(lambda e: e.energy_pct), _forecast_checked),
    Column(FORECAST_TIME_ERROR, float, _forecast(lambda e: e.time_pct), _forecast_checked),
    Column(METER, str, lambda f: f.meter.get("meter")),
    Column(METER_NOTE, str, lambda f: f.meter.get("note")),
    _meter_column(METER_COUNTRY, str, COUNTRY_KEY),
    _meter_column(METER_COUNTRY_SOURCE, str, COUNTRY_SOURCE_KEY),
    _model_column(MODEL_PARAMETERS, int),
    _model_column(MODEL_BEST_FILE, str),
    _model_column(MODEL_BEST_FILE_BYTES, int),
    _model_column(MODEL_BEST_EPOCH, int),
    _model_column(MODEL_STOP_FILE, str),
    _model_column(MODEL_STOP_FILE_BYTES, int),
    _model_column(MODEL_STOP_EPOCH, int),
)


def _green_full(facts: SummaryFacts) -> bool:
    return facts.trained and facts.green.full_source is not None


def _green_best(facts: SummaryFacts) -> bool:
    return facts.trained and facts.green.best is not None


def _green_change(facts: SummaryFacts) -> bool:
    return _green_best(facts) and facts.green.complete


#: The metric-free ``green/*`` keys (see :mod:`greenft.schema.green`), written once a run trained an epoch.
GREEN_COLUMNS: tuple[Column[SummaryFacts], ...] = (
    Column(GREEN_STOP_EPOCH, int, lambda f: f.green.stop.epoch, _trained),
    Column(GREEN_KG_STOP, float, lambda f: f.green.stop.fit.emissions_kg, _trained),
    Column(GREEN_KG_FULL, float, lambda f: f.green.kg_full(), _green_full),
    Column(GREEN_KG_FULL_SOURCE, str, lambda f: str(f.green.full_source), _green_full),
    Column(GREEN_CO2_SAVED, float, lambda f: f.green.co2_saved_pct(), _green_full),
    Column(GREEN_QUALITY_STOP, float, lambda f: f.green.deployed.test_metric, _trained),
    Column(GREEN_QUALITY_BEST, float, lambda f: f.green.quality_best(), _green_best),
    Column(GREEN_QUALITY_CHANGE, float, lambda f: f.green.quality_change_pct(), _green_change),
)

#: Written under each point that exists (``stop/epoch``, ``best/val_<metric>``, ...).
POINT_FIELDS: tuple[Column[EpochLike], ...] = (
    Column(AT_EPOCH, int, lambda e: e.epoch),
    Column(AT_VAL, float, lambda e: e.val_metric),
    Column(AT_TEST, float, lambda e: e.test_metric),
    Column(AT_EMISSIONS, float, lambda e: e.fit.emissions_kg),
    Column(AT_ENERGY, float, lambda e: e.fit.energy_kwh),
    Column(AT_TIME, float, lambda e: e.fit.duration_s),
)

#: Written under each point for every further metric of the run (``data.extra_metrics``): ``deployed/val_<metric>``
#: and ``deployed/test_<metric>`` as a run driven by that metric has them, read from the point's epoch.
EXTRA_POINT_FIELDS: tuple[Column[tuple[EpochLike, str]], ...] = (
    Column(AT_VAL, float, lambda v: v[0].val_extras.get(v[1], math.nan)),
    Column(AT_TEST, float, lambda v: v[0].test_extras.get(v[1], math.nan)),
)

#: Written for every rule of a shadow run (the live one included), at its stop or at the full budget.
SHADOW_COLUMNS: tuple[Column[RuleView], ...] = (
    Column(SHADOW_STOP_EPOCH, int, lambda r: r.rule.stopped_epoch),
    Column(SHADOW_REASON, str, lambda r: r.rule.stop_reason or NEVER_STOPPED),
    Column(SHADOW_TEST, float, lambda r: r.at.test_metric),
    Column(SHADOW_VAL, float, lambda r: r.at.val_metric),
    Column(SHADOW_EMISSIONS, float, lambda r: r.at.fit.emissions_kg),
    Column(SHADOW_DEPLOYED_EPOCH, int, lambda r: r.deployed.epoch),
    Column(SHADOW_DEPLOYED_TEST, float, lambda r: r.deployed.test_metric),
)


def build_summary(facts: SummaryFacts) -> dict[str, Any]:
    """The run summary (W&B summary and ``greenft_summary.json``), built from the tables above."""
    metric = facts.metric
    summary = {key(c.template, metric): c.value(facts) for c in RUN_COLUMNS if c.present(facts)}
    summary.update({c.template: c.value(facts) for c in GREEN_COLUMNS if c.present(facts)})
    if not facts.trained:
        return summary
    for point in POINTS:
        record = facts.point(point)
        if record is not None:
            summary.update({point_key(point, c.template, metric): c.value(record) for c in POINT_FIELDS})
            for extra in dict.fromkeys([*record.val_extras, *record.test_extras]):
                fields = EXTRA_POINT_FIELDS
                summary.update({point_key(point, c.template, extra): c.value((record, extra)) for c in fields})
    if facts.shadow:
        for label, rule in facts.rules.items():
            view = RuleView(label, rule, facts.at(rule.stopped_epoch), facts.deployed(rule.stopped_epoch))
            summary.update({key(c.template, metric, label): c.value(view) for c in SHADOW_COLUMNS})
    return summary


def summary_columns() -> list[tuple[str, type]]:
    """Every summary key template with its type: run-wide, per point, per shadow rule."""
    out = [(c.template, c.kind) for c in (*RUN_COLUMNS, *GREEN_COLUMNS)]
    out += [(point_key(p, c.template, "{metric}"), c.kind) for p in POINTS for c in POINT_FIELDS]
    out += [(c.template, c.kind) for c in SHADOW_COLUMNS]
    return out


def shadow_stop_epochs(summary: Mapping[str, Any]) -> dict[str, Any]:
    """``{rule label: logged stop epoch (None: never)}`` from a shadow run's ``shadow/<rule>/stop_epoch`` keys."""
    out: dict[str, Any] = {}
    for name, value in summary.items():
        found = match_template(name, SHADOW_STOP_EPOCH)
        if found is not None:
            out[found["rule"]] = value
    return out
