"""greenft's stopping and measurement in a ``lightning.Trainer``: the :class:`GreenStopping` callback.

Why a callback: most people who fine-tune a molecular model train through Lightning (chemprop v2 does), not
through greenft's loop. The callback brings the same three things greenft's own trainer has, with the same code:

* **measurement**: one emission meter (:mod:`greenft.tracking`, CodeCarbon unless told otherwise) started when
  ``fit`` starts, read at the end of every validation run; the interval is charged to phase ``fit`` (training +
  validation) by greenft's :class:`~greenft.tracking.PhaseLedger`, and the rules see that cumulative total only.
* **stopping**: any rule of greenft's rule table (the default is the trainer's default live rule,
  :func:`greenft.agents.config.default_stopping`; exact AN-GES is ``rule="anges"``), fed the
  :class:`~greenft.stopping.EpochObservation` greenft's trainer feeds; when the live rule stops, the callback sets
  ``trainer.should_stop`` and says why (``stop/reason`` in the epoch row and the summary).
* **the run's files**: every observation is one row of greenft's per-epoch schema
  (:func:`greenft.schema.epoch_row`) written by greenft's :class:`~greenft.agents.run_log.RunLog` into
  ``output_dir`` (``greenft_epochs.jsonl``, ``greenft_config.json``, ``greenft_summary.json`` when fit ends), so
  ``greenft analyze --source OUTPUT_DIR`` reads it like a run of ``greenft train``; the same row also goes to the
  trainer's ``WandbLogger`` when it has one.

It is modelled on Lightning's ``EarlyStopping``: it decides in ``on_validation_end`` (before ``ModelCheckpoint``
saves, so a checkpoint holds the callback's state of the same epoch as the weights), skips the sanity check,
and its whole state (every rule's state, the ledger's totals, the kept epochs and the kept weights) is saved in
and restored from Lightning checkpoints.

One validation run is one greenft epoch: with Lightning's defaults that is one per training epoch. The
training loss of an epoch is the mean of the losses ``training_step`` returned since the previous validation.
A test metric is read when the module logs one during validation (``test_monitor``), else it is NaN (analysis
then has no test quality for the run, everything else works); a test set evaluated that way is charged to
``fit``, since Lightning runs it inside validation. ``trainer.test`` after ``fit`` is not measured.

A fit resumed from a checkpoint is a new greenft run (a new folder under ``output_dir``) whose files hold the whole
curve, the restored epochs first; the interrupted run's folder stays as it was (no summary: analysis reports it
as incomplete). One process is assumed: under DDP every rank would write its own run files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from greenft.agents.config import LoggingConfig, default_stopping
from greenft.agents.deploy import DeployKeeper
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

try:
    import torch
    from lightning.pytorch import LightningModule, Trainer
    from lightning.pytorch.callbacks import Callback
    from lightning.pytorch.loggers import WandbLogger
    from lightning.pytorch.utilities import rank_zero_info
except ImportError as err:  # pragma: no cover - the extra is installed wherever the tests run
    raise ImportError(
        "greenft.integrations.lightning needs Lightning: pip install 'greenft[lightning]' (lightning>=2.4)"
    ) from err

__all__ = ["STATE_VERSION", "CallbackConfigError", "GreenStopping", "rule_config"]

STATE_VERSION = 1
"""The layout of :meth:`GreenStopping.state_dict`; a checkpoint with another one is refused, not misread."""

RuleInput = RuleConfig | Mapping[str, Any] | str


class CallbackConfigError(UserError, ValueError):
    """A :class:`GreenStopping` argument that cannot work (an unknown metric, a mode against the metric)."""


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


def _metric_name(monitor: str, metric: str | None) -> str:
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


def _direction(metric: str, mode: str | None) -> MetricDirection:
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


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().mean().item())
    return float(value)


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


class GreenStopping(Callback):
    """Measure each epoch's emissions, feed a greenft stopping rule, log greenft's schema, keep the best weights.

    ``monitor`` is the name the module logs its validation metric under (``self.log("val/roc_auc", ...)``);
    ``metric`` greenft's name for it (``roc_auc``, ``rmse``, ``mae``; default: the one ``monitor`` ends in),
    which fixes the direction (``mode``, if given, must agree). ``loss_monitor`` and ``test_monitor`` name the
    logged validation loss and test metric (NaN where not logged). ``rule``: the live rule (see
    :func:`rule_config`); ``shadow_rules`` are fed and logged beside it (``shadow/<label>/*`` columns);
    ``shadow=True`` trains the whole budget like greenft's shadow mode (no stop; the summary then holds every
    rule's stop). ``deploy``: ``best`` loads the best-validation weights so far back into the module when fit
    ends (``last`` leaves the last ones); either way they are saved as greenft's deployed-model file.
    ``run_config`` adds entries to the run's config (``data: {dataset: ...}``, ``seed``, ``model: {name: ...}``:
    what analysis groups runs by). ``meter`` replaces the meter built from ``tracking``.
    """

    def __init__(
        self,
        monitor: str,
        *,
        metric: str | None = None,
        mode: Literal["min", "max"] | None = None,
        loss_monitor: str | None = "val_loss",
        test_monitor: str | None = None,
        rule: RuleInput | None = None,
        shadow_rules: Sequence[RuleInput] = (),
        shadow: bool = False,
        deploy: Deploy | str = Deploy.BEST,
        output_dir: str | Path = "runs",
        wandb_mode: Literal["disabled", "offline", "online"] = "disabled",
        tracking: TrackingConfig | Mapping[str, Any] | None = None,
        forecast_after: int = DEFAULT_FORECAST_AFTER,
        run_config: Mapping[str, Any] | None = None,
        meter: EmissionMeter | None = None,
        verbose: bool = True,
    ) -> None:
        super().__init__()
        self.monitor = monitor
        self.metric = _metric_name(monitor, metric)
        self.direction = _direction(self.metric, mode)
        self.loss_monitor = loss_monitor
        self.test_monitor = test_monitor
        self.rule_config = rule_config(rule)
        self.shadow_configs = [rule_config(r) for r in shadow_rules]
        self.shadow = shadow
        self.deploy = Deploy(deploy)
        self.output_dir = Path(output_dir)
        self.wandb_mode = wandb_mode
        self.tracking = tracking if isinstance(tracking, TrackingConfig) else TrackingConfig(**(tracking or {}))
        self.forecast_after = forecast_after
        self.run_config = dict(run_config or {})
        self.verbose = verbose
        self.live_label = rule_label(self.rule_config)
        self._given_meter = meter
        self._restored: dict[str, Any] | None = None
        self._files_dir: Path | None = None
        self._reset()

    def _reset(self) -> None:
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
        self._batch_losses: list[float] = []

    # ------------------------------------------------------------------------------------------------ set-up

    @property
    def files_dir(self) -> Path | None:
        """The folder holding this run's greenft files (under ``output_dir``), once fit has started."""
        return self._files_dir

    def _budget(self, trainer: Trainer) -> int | None:
        return int(trainer.max_epochs) if trainer.max_epochs is not None and trainer.max_epochs > 0 else None

    def _build_rules(self, budget: int | None) -> None:
        self.rules = {self.live_label: build_rule(self.rule_config, self.direction, budget)}
        for config in self.shadow_configs:
            self.rules.setdefault(rule_label(config), build_rule(config, self.direction, budget))

    def _config(self, trainer: Trainer, pl_module: LightningModule, wandb_mode: str) -> dict[str, Any]:
        config: dict[str, Any] = {
            "integration": "lightning",
            "seed": None,
            "mode": "shadow" if self.shadow else "live",
            "stopping": self.rule_config.model_dump(mode="json"),
            "shadow_rules": [c.model_dump(mode="json") for c in self.shadow_configs],
            "deploy": self.deploy.value,
            "tracking": self.tracking.model_dump(mode="json"),
            "forecast_after": self.forecast_after,
            "optim": {"max_epochs": self._budget(trainer)},
            "model": {"name": type(pl_module).__name__},
            "data": {"dataset": "unknown"},
            "logging": {"wandb_mode": wandb_mode, "runs_dir": str(self.output_dir)},
        }
        for name, value in self.run_config.items():
            if isinstance(value, Mapping) and isinstance(config.get(name), dict):
                config[name] = {**config[name], **value}
            else:
                config[name] = value
        config["derived"] = {
            "dataset": {"name": config["data"].get("dataset", "unknown"), "metric": self.metric},
            "live_rule": self.live_label,
            "rules": list(self.rules),
            "monitor": {"metric": self.monitor, "loss": self.loss_monitor, "test": self.test_monitor},
        }
        return config

    def _wandb_loggers(self, trainer: Trainer) -> list[WandbLogger]:
        return [logger for logger in trainer.loggers if isinstance(logger, WandbLogger)]

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        restored, self._restored = self._restored, None
        self._reset()
        budget = self._budget(trainer)
        self._build_rules(budget)
        self.forecaster = EmissionForecaster(budget, self.forecast_after) if budget else None  # no budget: no forecast
        if restored is not None:
            self._load(restored)
        # With a WandbLogger the rows go to its run; a second W&B run in the same process would clash with it.
        mode = "disabled" if self._wandb_loggers(trainer) else self.wandb_mode
        settings = LoggingConfig(wandb_mode=mode, runs_dir=self.output_dir, system_metrics=False)
        config = self._config(trainer, pl_module, mode)
        self.log = RunLog(settings, config)
        self._files_dir = self.log.files_dir
        try:
            self.meter = self._given_meter or meter_for(self.tracking, self.log.files_dir)
            self.meter.start()  # before describe(): CodeCarbon settles its hardware methods on start
            self.meter_info = self.meter.describe()
            self.log.write_json(METER_FILE, self.meter_info)
            self.log.update_config({"derived": {**config["derived"], "meter": self.meter_info}})
            for record in self.epochs:  # a resumed run: its files hold the whole curve, the epochs before included
                self._log_row(trainer, record)
        except BaseException:
            log, self.log = self.log, None  # closed here: on_exception, which Lightning calls next, finds no run
            log.finish({"status": RunStatus.FAILED.value}, exit_code=1)
            raise

    # ------------------------------------------------------------------------------------------- each epoch

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._batch_losses = []

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
        if isinstance(loss, torch.Tensor):
            self._batch_losses.append(float(loss.detach().float().item()))

    def _skip(self, trainer: Trainer) -> bool:
        from lightning.pytorch.trainer.states import TrainerFn

        return trainer.state.fn != TrainerFn.FITTING or trainer.sanity_checking or self.log is None

    def _read(self, trainer: Trainer, name: str | None) -> float:
        if name is None:
            return math.nan
        return _number(trainer.callback_metrics.get(name))

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self._skip(trainer):
            return
        assert self.meter is not None and self.log is not None
        metrics = trainer.callback_metrics
        if self.monitor not in metrics:
            raise CallbackConfigError(
                f"monitor = {self.monitor!r}: the module logged no such metric during validation (logged: "
                f"{', '.join(sorted(metrics)) or 'nothing'}); log it with self.log({self.monitor!r}, ...)"
            )
        val_metric = self._read(trainer, self.monitor)
        val_loss = self._read(trainer, self.loss_monitor)
        fit_total = self.ledger.close(FIT, self.meter.read())
        epoch = len(self.epochs) + 1
        observation = EpochObservation(
            epoch, val_metric, fit_total.emissions_kg, None if math.isnan(val_loss) else val_loss
        )
        decisions = {label: rule.update(observation) for label, rule in self.rules.items() if not rule.stopped}
        losses, self._batch_losses = self._batch_losses, []
        record = EpochRecord(
            epoch,
            sum(losses) / len(losses) if losses else math.nan,
            val_metric,
            self._read(trainer, self.test_monitor),
            fit_total,
            self.ledger.total(TEST_EVAL),
            decisions,
            val_loss=val_loss,
            forecast=self.forecaster.update(fit_total) if self.forecaster is not None else None,
        )
        self.epochs.append(record)
        self._log_row(trainer, record)
        self.keeper.observe(pl_module, [e.val_metric for e in self.epochs])
        live = self.rules[self.live_label]
        decision = decisions.get(self.live_label)
        if decision is not None and decision.should_stop:
            self.stopped_epoch, self.stop_reason = decision.epoch, decision.reason
            if self.verbose:
                rank_zero_info(f"greenft {self.live_label} stops at epoch {decision.epoch}: {decision.reason}")
        if live.stopped and not self.shadow:
            trainer.should_stop = True

    def _log_row(self, trainer: Trainer, record: EpochRecord) -> None:
        assert self.log is not None
        row = epoch_row(record, self.metric, self.live_label)
        self.log.log_epoch(row)
        for logger in self._wandb_loggers(trainer):
            logger.experiment.log(row)

    # ------------------------------------------------------------------------------------------------ the end

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.log is None:
            return
        if self.keeper.state is not None:
            if self.deploy is Deploy.BEST:
                pl_module.load_state_dict(self.keeper.state)
            self.keeper.save(self.log.files_dir, self.epochs, self.metric)
        self._finish(trainer, RunStatus.FINISHED, exit_code=0)

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        if self.log is None:
            return
        stopped = isinstance(exception, KeyboardInterrupt)
        if self.epochs:
            self.keeper.save_after_error(self.log.files_dir, self.epochs, self.metric)
        self._finish(trainer, RunStatus.INTERRUPTED if stopped else RunStatus.FAILED, exit_code=130 if stopped else 1)

    def _finish(self, trainer: Trainer, status: RunStatus, exit_code: int) -> None:
        assert self.log is not None
        log, self.log = self.log, None
        try:
            if self.meter is not None:
                self.meter.stop()
        finally:
            facts = SummaryFacts(
                status=status.value,
                mode="shadow" if self.shadow else "live",
                metric=self.metric,
                live_label=self.live_label,
                epochs=self.epochs,
                rules=self.rules,
                clamped_readings=self.ledger.clamped_readings,
                meter=self.meter_info,
                deploy=self.deploy,
            )
            self.summary = build_summary(facts)
            for logger in self._wandb_loggers(trainer):
                logger.experiment.summary.update(self.summary)
            log.finish(self.summary, exit_code=exit_code)

    # ------------------------------------------------------------------------------------------------- state

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed fit needs: every rule's state, the ledger's totals, the epochs so far and the kept
        weights (a best epoch before the checkpoint must still be deployable after it)."""
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
            "keeper": {"index": self.keeper.index, "state": self.keeper.state},
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Kept until fit starts (Lightning restores callbacks just before ``on_fit_start``), then applied."""
        if state_dict.get("version") != STATE_VERSION:
            raise CallbackConfigError(
                f"GreenStopping state version {state_dict.get('version')!r}: this greenft reads {STATE_VERSION}"
            )
        for name, mine in (("metric", self.metric), ("live_label", self.live_label)):
            if state_dict[name] != mine:
                raise CallbackConfigError(
                    f"checkpoint's GreenStopping {name} is {state_dict[name]!r}, this callback's {mine!r}: resume "
                    "with the callback the checkpoint was written with"
                )
        self._restored = state_dict

    def _load(self, state: Mapping[str, Any]) -> None:
        for label, rule_state in state["rules"].items():
            if label in self.rules:
                self.rules[label].load_state_dict(rule_state)
        # A new fit starts a new meter at zero: the ledger keeps the phase totals, its last reading is zero again.
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
