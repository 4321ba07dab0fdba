"""greenft's stopping and measurement in a Hugging Face ``transformers.Trainer``: :class:`GreenStoppingCallback`.

Why: ChemBERTa-style models are fine-tuned through the Hugging Face Trainer, not through greenft's loop. This
callback brings what :class:`greenft.integrations.lightning.GreenStopping` brings to Lightning, with the same
code (:class:`greenft.integrations.session.GreenSession`): one emission meter started when training starts and
read at every evaluation (charged to phase ``fit``: training + evaluation), any rule of greenft's rule table fed
the observation greenft's trainer feeds, greenft's per-epoch schema written by greenft's
:class:`~greenft.agents.run_log.RunLog` under ``output_dir`` (``greenft analyze --source OUTPUT_DIR`` reads it)
and, when the Trainer reports to W&B (``report_to="wandb"``), to that W&B run as well.

One evaluation is one greenft epoch, whatever ``eval_strategy`` the user set: ``"epoch"`` (the rule's budget is
``num_train_epochs``) or ``"steps"`` (the budget is ``max_steps // eval_steps`` evaluations). The decision is taken
in ``on_evaluate`` from the metrics dict the Trainer builds (``eval_loss``, ``eval_<metric>`` from the user's
``compute_metrics``); a stop sets ``control.should_training_stop`` and prints its reason. The training loss of an
evaluation is the mean of the ``loss`` values the Trainer logged since the previous one (NaN when it logged none:
set ``logging_strategy`` like ``eval_strategy``). ``on_train_end`` loads the kept weights (``deploy="best"``: the
best evaluation's, :func:`greenft.schema.deployed_index`) back into the model, after the Trainer's own
``load_best_model_at_end`` if both are set.

State across a resume: the callback is an ``ExportableState`` (transformers >= 4.41), so its state (rules, ledger,
epochs) is stored in the checkpoint's ``trainer_state.json`` and restored with ``trainer.train(
resume_from_checkpoint=...)`` when ``TrainingArguments(restore_callback_states_from_checkpoint=True)``. JSON
cannot hold tensors: the kept weights go to ``greenft_kept_epoch<N>.pt`` in the run's folder, named in the state.
As with Hugging Face's own ``EarlyStoppingCallback``, the Trainer restores into a new callback object: after a
resume read the results from ``trainer.callback_handler`` (:func:`find_callback`). The Trainer has no exception
hook: a training that raises leaves its greenft run without a summary (analysis reports it as incomplete),
except for a monitor that is not in the metrics, which closes the run as failed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import torch

from greenft.agents.trial import EpochRecord
from greenft.integrations.session import (
    CallbackConfigError,
    GreenSession,
    RuleInput,
    metric_direction,
    metric_name,
    rule_config,
)
from greenft.io import atomic_save
from greenft.models.torch_io import load_torch_file
from greenft.schema import Deploy, RunStatus
from greenft.stopping import StoppingRule
from greenft.stopping.forecast import DEFAULT_FORECAST_AFTER
from greenft.tracking import EmissionMeter
from greenft.tracking.config import TrackingConfig

try:
    from transformers import Trainer, TrainerCallback, TrainerControl, TrainerState, TrainingArguments
    from transformers.trainer_callback import ExportableState
except ImportError as err:  # pragma: no cover - the extra is installed wherever the tests run
    raise ImportError(
        "greenft.integrations.transformers needs transformers>=4.41 (ExportableState): pip install -U transformers"
    ) from err

__all__ = ["KEPT_WEIGHTS_FILE", "CallbackConfigError", "GreenStoppingCallback", "find_callback"]

KEPT_WEIGHTS_FILE = "greenft_kept_epoch{epoch}.pt"
"""The kept weights a checkpoint's JSON state points to (``torch.load(..., weights_only=True)``)."""


def _strategy(value: Any) -> str:
    return str(getattr(value, "value", value))


def find_callback(trainer: Trainer) -> GreenStoppingCallback:
    """The trainer's greenft callback (after a resume the Trainer holds a restored copy, not the one passed in)."""
    found = [cb for cb in trainer.callback_handler.callbacks if isinstance(cb, GreenStoppingCallback)]
    if len(found) != 1:
        raise CallbackConfigError(f"the trainer has {len(found)} GreenStoppingCallback callbacks: expected one")
    return found[0]


class GreenStoppingCallback(TrainerCallback, ExportableState):
    """Measure each evaluation's emissions, feed a greenft stopping rule, log greenft's schema, keep the best weights.

    ``monitor``: the key of the validation metric in the Trainer's metrics (``eval_roc_auc`` when
    ``compute_metrics`` returns ``{"roc_auc": ...}``); ``metric``: greenft's name for it (``roc_auc``, ``rmse``,
    ``mae``; default: the one ``monitor`` ends in), which fixes the direction (``mode``, if given, must agree).
    ``loss_monitor``/``test_monitor``: the keys of the validation loss and of a test metric (NaN where absent).
    ``rule``, ``shadow_rules``, ``shadow``, ``deploy``, ``output_dir``, ``wandb_mode`` (greenft's own W&B run when
    the Trainer does not report to W&B), ``tracking``, ``run_config``, ``meter``: as for
    :class:`greenft.integrations.lightning.GreenStopping`.
    """

    def __init__(
        self,
        monitor: str = "eval_roc_auc",
        *,
        metric: str | None = None,
        mode: Literal["min", "max"] | None = None,
        loss_monitor: str | None = "eval_loss",
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
        if wandb_mode not in ("disabled", "offline", "online"):
            raise CallbackConfigError(f"wandb_mode = {wandb_mode!r}: expected 'disabled', 'offline' or 'online'")
        self.monitor = monitor
        self.loss_monitor = loss_monitor
        self.test_monitor = test_monitor
        self.wandb_mode = wandb_mode
        self.verbose = verbose
        metric = metric_name(monitor, metric)
        self.session = GreenSession(
            integration="transformers",
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
        self.mode = mode
        self.metric, self.direction, self.live_label = metric, self.session.direction, self.session.live_label
        self.rule_config, self.shadow, self.deploy = self.session.rule_config, shadow, self.session.deploy
        self.output_dir = self.session.output_dir
        self.forecast_after = forecast_after
        self.run_config = dict(run_config or {})
        self._restored: dict[str, Any] | None = None
        self._losses: list[float] = []
        self._wandb_run: Any = None

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
        """The folder holding this run's greenft files (under ``output_dir``), once training has started."""
        return self.session.files_dir

    # ------------------------------------------------------------------------------------------------ set-up

    def _budget(self, args: TrainingArguments, state: TrainerState) -> tuple[str, int | None]:
        """The evaluation granularity and the number of evaluations the whole training would make."""
        strategy = _strategy(args.eval_strategy)
        if strategy == "epoch":
            return strategy, max(1, math.ceil(state.num_train_epochs)) if state.num_train_epochs else None
        if strategy == "steps":
            every = state.eval_steps or args.eval_steps
            if not every or not state.max_steps or state.max_steps <= 0:
                return strategy, None
            return strategy, max(1, int(state.max_steps // math.ceil(every)))
        raise CallbackConfigError(
            f"eval_strategy = {strategy!r}: GreenStoppingCallback decides at each evaluation; set "
            "TrainingArguments(eval_strategy='epoch') or 'steps'"
        )

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        restored, self._restored = self._restored, None
        if self.session.running:  # a previous train() raised: that run is closed as failed, not left open
            self.session.finish(RunStatus.FAILED, exit_code=1)
        granularity, budget = self._budget(args, state)
        if restored is not None:
            self.session.check_state(restored, "GreenStoppingCallback")
            restored = self._with_weights(restored)
        self._losses = []
        self._wandb_run = None
        if "wandb" in list(args.report_to or []):
            import wandb

            self._wandb_run = wandb.run  # opened by the Trainer's WandbCallback, which runs before this one
        # With the Trainer's W&B run the rows go there; a second W&B run in the same process would clash with it.
        mode = "disabled" if self._wandb_run is not None else self.wandb_mode
        model = kwargs.get("model")
        self.session.run_config = {"optim": {"granularity": granularity}, **self.run_config}
        self.session.start(
            budget=budget,
            model=type(model).__name__ if model is not None else "unknown",
            monitor={"metric": self.monitor, "loss": self.loss_monitor, "test": self.test_monitor},
            wandb_mode=mode,
            restored=restored,
            sink=self._sink,
        )

    def _sink(self, row: dict[str, Any]) -> None:
        if self._wandb_run is not None:
            self._wandb_run.log(row)

    # ------------------------------------------------------------------------------------------- each evaluation

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if logs is not None and "loss" in logs:
            self._losses.append(float(logs["loss"]))

    def _read(self, metrics: Mapping[str, Any], name: str | None) -> float:
        value = metrics.get(name) if name is not None else None
        return math.nan if value is None else float(value)

    def on_evaluate(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        metrics: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self.session.running:  # trainer.evaluate() outside train(): not a greenft epoch
            return
        metrics = metrics or {}
        if self.monitor not in metrics:
            self.session.finish(RunStatus.FAILED, exit_code=1)
            raise CallbackConfigError(
                f"monitor = {self.monitor!r}: the Trainer's evaluation has no such metric (metrics: "
                f"{', '.join(sorted(metrics)) or 'nothing'}); return it from compute_metrics"
            )
        losses, self._losses = self._losses, []
        decision = self.session.observe(
            kwargs["model"],
            val_metric=self._read(metrics, self.monitor),
            val_loss=self._read(metrics, self.loss_monitor),
            test_metric=self._read(metrics, self.test_monitor),
            train_loss=sum(losses) / len(losses) if losses else math.nan,
            sink=self._sink,
        )
        if decision is not None and self.verbose and state.is_world_process_zero:
            print(f"greenft {self.live_label} stops at evaluation {decision.epoch}: {decision.reason}")
        if self.session.should_stop:
            control.should_training_stop = True

    # ------------------------------------------------------------------------------------------------ the end

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if not self.session.running:
            return
        self.session.deploy_into(kwargs["model"])
        summary = self.session.finish(RunStatus.FINISHED, exit_code=0)
        if self._wandb_run is not None:
            self._wandb_run.summary.update(summary)

    # ------------------------------------------------------------------------------------------------- state

    def state(self) -> dict[str, Any]:
        """The Trainer's checkpoint entry: this callback's arguments and its session's state (JSON), the kept
        weights saved apart in the run's folder."""
        session = self.session.state_dict(weights=False)
        keeper = self.session.keeper
        if keeper.index is not None and keeper.state is not None and self.files_dir is not None:
            path = self.files_dir / KEPT_WEIGHTS_FILE.format(epoch=keeper.index + 1)
            if not path.exists():
                atomic_save(path, lambda handle: torch.save(keeper.state, handle))
            session["keeper"]["file"] = str(path)
        args = {
            "monitor": self.monitor,
            "metric": self.metric,
            "mode": self.mode,
            "loss_monitor": self.loss_monitor,
            "test_monitor": self.test_monitor,
            "rule": self.rule_config.model_dump(mode="json"),
            "shadow_rules": [c.model_dump(mode="json") for c in self.session.shadow_configs],
            "shadow": self.shadow,
            "deploy": self.deploy.value,
            "output_dir": str(self.output_dir),
            "wandb_mode": self.wandb_mode,
            "tracking": self.session.tracking.model_dump(mode="json"),
            "forecast_after": self.forecast_after,
            "run_config": json.loads(json.dumps(self.run_config, default=str)),  # JSON: a Path must not fail a save
            "verbose": self.verbose,
        }
        return {"args": args, "attributes": {"_restored": session if self.session.epochs else None}}

    def _with_weights(self, state: Mapping[str, Any]) -> dict[str, Any]:
        keeper = dict(state["keeper"])
        file = keeper.pop("file", None)
        if file is not None:
            keeper["state"] = load_torch_file(Path(file), "kept weights")
        return {**state, "keeper": keeper}
