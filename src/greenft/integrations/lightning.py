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
from pathlib import Path
from typing import Any, Literal

from greenft.agents.trial import EpochRecord
from greenft.integrations.session import (
    STATE_VERSION,
    CallbackConfigError,
    GreenSession,
    RuleInput,
    metric_direction,
    metric_name,
    rule_config,
)
from greenft.schema import Deploy, RunStatus
from greenft.stopping import StoppingRule
from greenft.stopping.forecast import DEFAULT_FORECAST_AFTER
from greenft.tracking import EmissionMeter
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


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().mean().item())
    return float(value)


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
        self.loss_monitor = loss_monitor
        self.test_monitor = test_monitor
        self.wandb_mode = wandb_mode
        self.verbose = verbose
        metric = metric_name(monitor, metric)
        self.session = GreenSession(
            integration="lightning",
            metric=metric,
            direction=metric_direction(metric, mode),
            rule=rule_config(rule),
            shadow_rules=[rule_config(r) for r in shadow_rules],
            shadow=shadow,
            deploy=deploy,
            output_dir=output_dir,
            tracking=tracking,
            forecast_after=forecast_after,
            run_config=run_config,
            meter=meter,
        )
        # The session's settings under the names this callback has always had (fixed once built).
        self.metric, self.direction, self.live_label = metric, self.session.direction, self.session.live_label
        self.rule_config, self.shadow, self.deploy = self.session.rule_config, shadow, self.session.deploy
        self.output_dir = self.session.output_dir
        self._restored: dict[str, Any] | None = None
        self._batch_losses: list[float] = []

    @property
    def rules(self) -> dict[str, StoppingRule]:
        return self.session.rules

    @property
    def epochs(self) -> list[EpochRecord]:
        return self.session.epochs

    @property
    def summary(self) -> dict[str, Any] | None:
        return self.session.summary

    @property
    def stopped_epoch(self) -> int | None:
        return self.session.stopped_epoch

    @property
    def stop_reason(self) -> str | None:
        return self.session.stop_reason

    @property
    def files_dir(self) -> Path | None:
        """The folder holding this run's greenft files (under ``output_dir``), once fit has started."""
        return self.session.files_dir

    # ------------------------------------------------------------------------------------------------ set-up

    def _budget(self, trainer: Trainer) -> int | None:
        return int(trainer.max_epochs) if trainer.max_epochs is not None and trainer.max_epochs > 0 else None

    def _wandb_loggers(self, trainer: Trainer) -> list[WandbLogger]:
        return [logger for logger in trainer.loggers if isinstance(logger, WandbLogger)]

    def _sink(self, trainer: Trainer) -> Any:
        loggers = self._wandb_loggers(trainer)
        if not loggers:
            return None

        def send(row: dict[str, Any]) -> None:
            for logger in loggers:
                logger.experiment.log(row)

        return send

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        restored, self._restored = self._restored, None
        # With a WandbLogger the rows go to its run; a second W&B run in the same process would clash with it.
        mode = "disabled" if self._wandb_loggers(trainer) else self.wandb_mode
        self.session.start(
            budget=self._budget(trainer),
            model=type(pl_module).__name__,
            monitor={"metric": self.monitor, "loss": self.loss_monitor, "test": self.test_monitor},
            wandb_mode=mode,
            restored=restored,
            sink=self._sink(trainer),
        )

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

        return trainer.state.fn != TrainerFn.FITTING or trainer.sanity_checking or not self.session.running

    def _read(self, trainer: Trainer, name: str | None) -> float:
        if name is None:
            return math.nan
        return _number(trainer.callback_metrics.get(name))

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self._skip(trainer):
            return
        metrics = trainer.callback_metrics
        if self.monitor not in metrics:
            raise CallbackConfigError(
                f"monitor = {self.monitor!r}: the module logged no such metric during validation (logged: "
                f"{', '.join(sorted(metrics)) or 'nothing'}); log it with self.log({self.monitor!r}, ...)"
            )
        losses, self._batch_losses = self._batch_losses, []
        decision = self.session.observe(
            pl_module,
            val_metric=self._read(trainer, self.monitor),
            val_loss=self._read(trainer, self.loss_monitor),
            test_metric=self._read(trainer, self.test_monitor),
            train_loss=sum(losses) / len(losses) if losses else math.nan,
            sink=self._sink(trainer),
        )
        if decision is not None and self.verbose:
            rank_zero_info(f"greenft {self.live_label} stops at epoch {decision.epoch}: {decision.reason}")
        if self.session.should_stop:
            trainer.should_stop = True

    # ------------------------------------------------------------------------------------------------ the end

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not self.session.running:
            return
        self.session.deploy_into(pl_module)
        self._finish(trainer, RunStatus.FINISHED, exit_code=0)

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        if not self.session.running:
            return
        stopped = isinstance(exception, KeyboardInterrupt)
        self.session.save_after_error()
        self._finish(trainer, RunStatus.INTERRUPTED if stopped else RunStatus.FAILED, exit_code=130 if stopped else 1)

    def _finish(self, trainer: Trainer, status: RunStatus, exit_code: int) -> None:
        summary = self.session.finish(status, exit_code)
        for logger in self._wandb_loggers(trainer):
            logger.experiment.summary.update(summary)

    # ------------------------------------------------------------------------------------------------- state

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed fit needs (:meth:`GreenSession.state_dict`, the kept weights included)."""
        return self.session.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Kept until fit starts (Lightning restores callbacks just before ``on_fit_start``), then applied."""
        self.session.check_state(state_dict, "GreenStopping")
        self._restored = state_dict
