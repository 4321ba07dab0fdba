"""One greenft run inside a training loop greenft does not own: what every integration's callback shares.

Why one module: the Lightning callback (:mod:`greenft.integrations.lightning`) and the Hugging Face one
(:mod:`greenft.integrations.transformers`) differ only in where they read the numbers and how they stop their
trainer. The step they take at each evaluation (meter reading -> :class:`~greenft.tracking.PhaseLedger` ->
:class:`~greenft.stopping.EpochObservation` -> the rules -> :func:`greenft.schema.epoch_row` ->
:class:`~greenft.agents.run_log.RunLog`), the summary at the end, the kept weights and the state a resumed
training needs live here once, so both callbacks decide, log and deploy exactly as greenft's own trainer does.

The session imports no framework (only torch for the kept weights): a callback hands it plain numbers and the
``torch.nn.Module`` whose weights the evaluated epoch describes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from torch import nn

from greenft.agents.config import LoggingConfig, default_stopping
from greenft.agents.deploy import DeployKeeper, EpochWeights
from greenft.agents.run_log import RunLog
from greenft.agents.trial import FIT, TEST_EVAL, EpochRecord
from greenft.errors import UserError
from greenft.schema import METER_FILE, METRIC_DIRECTIONS, Deploy, RunStatus, SummaryFacts, build_summary, epoch_row
from greenft.stopping import (
    RULES,
    EmissionForecaster,
    EpochObservation,
    Forecast,
    MetricDirection,
    Phase,
    RuleConfig,
    StopDecision,
    StoppingRule,
    build_rule,
    parse_label,
    rule_label,
)
from greenft.stopping.forecast import DEFAULT_FORECAST_AFTER
from greenft.tracking import EmissionMeter, EmissionReading, PhaseLedger, meter_for
from greenft.tracking.config import TrackingConfig
from greenft.tracking.emissions import with_final_reading

__all__ = [
    "STATE_VERSION",
    "CallbackConfigError",
    "GreenSession",
    "RuleInput",
    "metric_direction",
    "metric_name",
    "rule_config",
]

STATE_VERSION = 1
"""The layout of :meth:`GreenSession.state_dict`; a checkpoint with another one is refused, not misread."""

RuleInput = RuleConfig | Mapping[str, Any] | str
RowSink = Callable[[dict[str, Any]], None]


class CallbackConfigError(UserError, ValueError):
    """A greenft callback argument that cannot work (an unknown metric, a mode against the metric)."""


def rule_config(rule: RuleInput | None) -> RuleConfig:
    """A rule config from a config object, a dict (``{"rule": "anges"}``; ``name`` is accepted for ``rule``) or
    a label / bare name (``"anges"``, ``"patience_p5_d0.0"``); None: greenft's default live rule."""
    if rule is None:
        return default_stopping()
    if isinstance(rule, RuleConfig):
        return rule
    if isinstance(rule, str):
        return parse_label(rule) if RULES.label_fields(rule) is not None else RULES.validate({"rule": rule})
    raw = dict(rule)
    if "name" in raw and "rule" not in raw:
        raw["rule"] = raw.pop("name")
    return RULES.validate(raw)


def metric_name(monitor: str, metric: str | None) -> str:
    """greenft's name of the monitored metric (its ``val/{metric}`` column): given, or the one ``monitor`` ends in."""
    if metric is None:
        metric = next((name for name in METRIC_DIRECTIONS if monitor.endswith(name)), None)
        if metric is None:
            raise CallbackConfigError(
                f"monitor = {monitor!r}: greenft cannot tell which metric this is; pass metric= one of "
                f"{', '.join(METRIC_DIRECTIONS)} (to stop on the validation loss, monitor the metric and give "
                "rule={'rule': ..., 'monitor': 'loss'} with loss_monitor= the loss's logged name)"
            )
    if metric not in METRIC_DIRECTIONS:
        raise CallbackConfigError(f"metric = {metric!r}: expected one of {', '.join(METRIC_DIRECTIONS)}")
    return metric


def metric_direction(metric: str, mode: str | None) -> MetricDirection:
    """The metric's direction; ``mode`` (``min``/``max``), when given, must agree with it."""
    direction = METRIC_DIRECTIONS[metric]
    if mode is not None:
        wanted = {"min": MetricDirection.MINIMIZE, "max": MetricDirection.MAXIMIZE}.get(mode)
        if wanted is None:
            raise CallbackConfigError(f"mode = {mode!r}: expected 'min' or 'max'")
        if wanted is not direction:
            right = "max" if direction is MetricDirection.MAXIMIZE else "min"
            raise CallbackConfigError(
                f"mode = {mode!r}: {metric} is better {right}imised, mode {right!r} (or leave it out)"
            )
    return direction


# ------------------------------------------------------------------------------------------- state (de)coding


def _record_state(record: EpochRecord) -> dict[str, Any]:
    return {
        "epoch": record.epoch,
        "train_loss": record.train_loss,
        "val_metric": record.val_metric,
        "test_metric": record.test_metric,
        "fit": asdict(record.fit),
        "test_eval": asdict(record.test_eval),
        "decisions": {label: d.as_dict() for label, d in record.decisions.items()},
        "val_loss": record.val_loss,
        "val_metric_se": record.val_metric_se,
        "val_loss_se": record.val_loss_se,
        "forecast": asdict(record.forecast) if record.forecast is not None else None,
    }


def _record_from(state: Mapping[str, Any]) -> EpochRecord:
    decisions = {label: StopDecision(**{**d, "phase": Phase(d["phase"])}) for label, d in state["decisions"].items()}
    forecast = state["forecast"]
    return EpochRecord(
        int(state["epoch"]),
        float(state["train_loss"]),
        float(state["val_metric"]),
        float(state["test_metric"]),
        EmissionReading(**state["fit"]),
        EmissionReading(**state["test_eval"]),
        decisions,
        val_loss=float(state["val_loss"]),
        val_metric_se=float(state["val_metric_se"]),
        val_loss_se=float(state["val_loss_se"]),
        forecast=Forecast(**forecast) if forecast is not None else None,
    )


def _merge(config: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for name, value in extra.items():
        if isinstance(value, Mapping) and isinstance(config.get(name), dict):
            config[name] = {**config[name], **value}
        else:
            config[name] = value


class GreenSession:
    """The measured, rule-fed, logged greenft run of one training: started, fed one evaluation at a time, finished.

    ``metric``/``direction``: greenft's name of the validation metric and its direction. ``rule``: the live rule;
    ``shadow_rules`` are fed and logged beside it; ``shadow=True`` never asks the trainer to stop. ``deploy``
    picks the weights kept (:class:`~greenft.agents.deploy.DeployKeeper`, one definition of the deployed epoch).
    ``meter`` replaces the meter built from ``tracking``. ``run_config`` adds entries to the run's config.
    """

    def __init__(
        self,
        *,
        integration: str,
        metric: str,
        direction: MetricDirection,
        rule: RuleConfig,
        shadow_rules: Sequence[RuleConfig] = (),
        shadow: bool = False,
        deploy: Deploy | str = Deploy.BEST,
        output_dir: str | Path = "runs",
        tracking: TrackingConfig | Mapping[str, Any] | None = None,
        forecast_after: int = DEFAULT_FORECAST_AFTER,
        run_config: Mapping[str, Any] | None = None,
        meter: EmissionMeter | None = None,
    ) -> None:
        self.integration = integration
        self.metric = metric
        self.direction = direction
        self.rule_config = rule
        self.shadow_configs = list(shadow_rules)
        self.shadow = shadow
        self.deploy = Deploy(deploy)
        self.output_dir = Path(output_dir)
        self.tracking = tracking if isinstance(tracking, TrackingConfig) else TrackingConfig(**(tracking or {}))
        self.forecast_after = forecast_after
        self.run_config = dict(run_config or {})
        self.live_label = rule_label(rule)
        self.files_dir: Path | None = None
        self._given_meter = meter
        self.reset()

    def reset(self) -> None:
        """Forget the previous run (a callback object may serve several trainings)."""
        self.rules: dict[str, StoppingRule] = {}
        self.epochs: list[EpochRecord] = []
        self.ledger = PhaseLedger()
        self.keeper = DeployKeeper(self.deploy, self.direction)
        self.log: RunLog | None = None
        self.meter: EmissionMeter | None = None
        self.meter_info: dict[str, Any] = {}
        self.forecaster: EmissionForecaster | None = None
        self.summary: dict[str, Any] | None = None
        self.stopped_epoch: int | None = None
        self.stop_reason: str | None = None

    @property
    def running(self) -> bool:
        return self.log is not None

    @property
    def mode(self) -> str:
        return "shadow" if self.shadow else "live"

    def _config(self, budget: int | None, model: str, monitor: Mapping[str, Any], wandb_mode: str) -> dict[str, Any]:
        config: dict[str, Any] = {
            "integration": self.integration,
            "seed": None,
            "mode": self.mode,
            "stopping": self.rule_config.model_dump(mode="json"),
            "shadow_rules": [c.model_dump(mode="json") for c in self.shadow_configs],
            "deploy": self.deploy.value,
            "tracking": self.tracking.model_dump(mode="json"),
            "forecast_after": self.forecast_after,
            "optim": {"max_epochs": budget},
            "model": {"name": model},
            "data": {"dataset": "unknown"},
            "logging": {"wandb_mode": wandb_mode, "runs_dir": str(self.output_dir)},
        }
        _merge(config, self.run_config)
        config["derived"] = {
            "dataset": {"name": config["data"].get("dataset", "unknown"), "metric": self.metric},
            "live_rule": self.live_label,
            "rules": list(self.rules),
            "monitor": dict(monitor),
        }
        return config

    def start(
        self,
        *,
        budget: int | None,
        model: str,
        monitor: Mapping[str, Any],
        wandb_mode: str,
        restored: Mapping[str, Any] | None = None,
        sink: RowSink | None = None,
    ) -> None:
        """Build the rules for ``budget`` evaluations (None: unknown, no forecast), open the run's files, start the
        meter; a ``restored`` state (:meth:`state_dict`) carries on where it was and its epochs are logged again."""
        self.reset()
        self.rules = {self.live_label: build_rule(self.rule_config, self.direction, budget)}
        for shadow in self.shadow_configs:
            self.rules.setdefault(rule_label(shadow), build_rule(shadow, self.direction, budget))
        self.forecaster = EmissionForecaster(budget, self.forecast_after) if budget else None
        if restored is not None:
            self._load(restored)
        settings = LoggingConfig(wandb_mode=wandb_mode, runs_dir=self.output_dir, system_metrics=False)
        config = self._config(budget, model, monitor, wandb_mode)
        self.log = RunLog(settings, config)
        self.files_dir = self.log.files_dir
        try:
            self.meter = self._given_meter or meter_for(
                self.tracking, self.log.files_dir, settings.project, self.log.run_id
            )
            self.meter.start()  # before describe(): CodeCarbon settles its hardware methods on start
            self.meter_info = self.meter.describe()
            self.log.write_json(METER_FILE, self.meter_info)
            self.log.update_config({"derived": {**config["derived"], "meter": self.meter_info}})
            for record in self.epochs:  # a resumed run: its files hold the whole curve, the epochs before included
                self._log_row(record, sink)
        except BaseException:
            log, self.log = self.log, None  # closed here: the caller's error path finds no open run
            log.finish({"status": RunStatus.FAILED.value}, exit_code=1)
            raise

    def observe(
        self,
        model: nn.Module,
        *,
        val_metric: float,
        val_loss: float = math.nan,
        test_metric: float = math.nan,
        train_loss: float = math.nan,
        sink: RowSink | None = None,
    ) -> StopDecision | None:
        """One evaluation = one greenft epoch: read the meter, feed the rules, log the row, keep the weights.

        Returns the live rule's decision when it says stop now, else None; :attr:`should_stop` says whether the
        trainer must stop (never in shadow mode)."""
        assert self.meter is not None and self.log is not None, "start() first"
        fit_total = self.ledger.close(FIT, self.meter.read())
        epoch = len(self.epochs) + 1
        observation = EpochObservation(
            epoch, val_metric, fit_total.emissions_kg, None if math.isnan(val_loss) else val_loss
        )
        decisions = {label: rule.update(observation) for label, rule in self.rules.items() if not rule.stopped}
        record = EpochRecord(
            epoch,
            train_loss,
            val_metric,
            test_metric,
            fit_total,
            self.ledger.total(TEST_EVAL),
            decisions,
            val_loss=val_loss,
            forecast=self.forecaster.update(fit_total) if self.forecaster is not None else None,
        )
        self.epochs.append(record)
        self._log_row(record, sink)
        self.keeper.observe(EpochWeights(model), [e.val_metric for e in self.epochs])
        decision = decisions.get(self.live_label)
        if decision is not None and decision.should_stop:
            self.stopped_epoch, self.stop_reason = decision.epoch, decision.reason
            return decision
        return None

    @property
    def should_stop(self) -> bool:
        return bool(self.rules) and self.rules[self.live_label].stopped and not self.shadow

    def _log_row(self, record: EpochRecord, sink: RowSink | None) -> None:
        assert self.log is not None
        row = epoch_row(record, self.metric, self.live_label)
        self.log.log_epoch(row)
        if sink is not None:
            sink(row)

    def deploy_into(self, model: nn.Module) -> None:
        """Training ended normally: ``deploy: best`` loads the kept weights back; either way they are saved."""
        assert self.log is not None
        if self.keeper.state is not None:
            if self.deploy is Deploy.BEST:
                model.load_state_dict(self.keeper.state)
            self.keeper.save(self.log.files_dir, self.epochs, self.metric)

    def save_after_error(self) -> None:
        if self.log is not None and self.epochs:
            self.keeper.save_after_error(self.log.files_dir, self.epochs, self.metric)

    def finish(self, status: RunStatus, exit_code: int) -> dict[str, Any]:
        """Stop the meter, write the summary, close the run's files; the summary is returned (and kept)."""
        assert self.log is not None
        log, self.log = self.log, None
        try:
            if self.meter is not None:
                self.meter_info = with_final_reading(self.meter_info, self.meter.stop())  # total/metered_*
        finally:
            facts = SummaryFacts(
                status=status.value,
                mode=self.mode,
                metric=self.metric,
                live_label=self.live_label,
                epochs=self.epochs,
                rules=self.rules,
                clamped_readings=self.ledger.clamped_readings,
                meter=self.meter_info,
                deploy=self.deploy,
            )
            self.summary = build_summary(facts)
            log.finish(self.summary, exit_code=exit_code)
        return self.summary

    # ------------------------------------------------------------------------------------------------- state

    def state_dict(self, weights: bool = True) -> dict[str, Any]:
        """Everything a resumed training needs: every rule's state, the ledger's totals, the epochs so far and the
        kept weights (``weights=False``: left out, for a JSON state; the caller then saves them apart)."""
        return {
            "version": STATE_VERSION,
            "metric": self.metric,
            "live_label": self.live_label,
            "rules": {label: rule.state_dict() for label, rule in self.rules.items()},
            "ledger": {
                "totals": {phase: asdict(total) for phase, total in self.ledger.totals.items()},
                "clamped_readings": self.ledger.clamped_readings,
            },
            "epochs": [_record_state(record) for record in self.epochs],
            "keeper": {"index": self.keeper.index, "state": self.keeper.state if weights else None},
        }

    def check_state(self, state: Mapping[str, Any], owner: str) -> None:
        """Refuse a state of another layout, metric or live rule (it would be misread, not resumed)."""
        if state.get("version") != STATE_VERSION:
            version = state.get("version")
            raise CallbackConfigError(f"{owner} state version {version!r}: this greenft reads {STATE_VERSION}")
        for name, mine in (("metric", self.metric), ("live_label", self.live_label)):
            if state[name] != mine:
                raise CallbackConfigError(
                    f"checkpoint's {owner} {name} is {state[name]!r}, this callback's {mine!r}: resume "
                    "with the callback the checkpoint was written with"
                )

    def _load(self, state: Mapping[str, Any]) -> None:
        for label, rule_state in state["rules"].items():
            if label in self.rules:
                self.rules[label].load_state_dict(rule_state)
        # A new training starts a new meter at zero: the ledger keeps the phase totals, its last reading is zero.
        self.ledger.totals = {phase: EmissionReading(**v) for phase, v in state["ledger"]["totals"].items()}
        self.ledger.clamped_readings = int(state["ledger"]["clamped_readings"])
        self.epochs = [_record_from(e) for e in state["epochs"]]
        if self.forecaster is not None:
            for record in self.epochs:
                self.forecaster.update(record.fit)
        keeper = state["keeper"]
        self.keeper.index, self.keeper.state = keeper["index"], keeper["state"]
        live = self.rules[self.live_label]
        self.stopped_epoch, self.stop_reason = live.stopped_epoch, live.stop_reason
