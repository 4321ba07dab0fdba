"""One trial: load data, build the model, fine-tune epoch by epoch, measure, ask the stopping rule, log.

Per epoch the order is fixed, because it decides what the rule sees:

1. train on the training split, evaluate on the validation split (metric, loss and their bootstrap standard
   errors, from one pass: see :mod:`greenft.agents.validation`; both are what a real run spends);
2. read the emission meter: the interval is charged to phase ``fit``; the rule sees the cumulative ``fit``
   emissions only;
3. evaluate on the test split (greenft's own analysis, not part of a real run) and read the meter again:
   that interval is charged to phase ``test_eval`` and logged separately;
4. feed every rule, log the epoch (W&B + local JSON lines), stop when the live rule says so.

When training ends (a rule's stop, the budget, an external stop, an interrupt or a failure after at least one
finished epoch) the deployed weights (``deploy: best | last``, :mod:`greenft.agents.deploy`) are saved to the
run's files; nothing extra is evaluated (their metrics are the logged ones of that epoch).

In ``shadow`` mode training runs the full budget and every configured rule is fed until it would have
stopped, so analysis can compare and replay rules on complete curves.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from greenft.agents.config import ConfigError, TrialConfig
from greenft.agents.deploy import DeployKeeper, EpochWeights
from greenft.agents.finite import NonFiniteError, check_finite
from greenft.agents.fit import TargetScaler, evaluate_metrics, train_epoch
from greenft.agents.metrics import model_outputs, run_extra_metrics
from greenft.agents.objective import resolve_loss
from greenft.agents.optimizers import make_optimizer
from greenft.agents.run_log import RunLog
from greenft.agents.saved_models import SavedModelKeeper
from greenft.agents.schedule import make_lr_scheduler, resolve_lr_schedule
from greenft.agents.threads import apply_threads, choose_threads
from greenft.agents.validation import validate
from greenft.data import (
    LabelledMolecules,
    Metric,
    Split,
    TaskType,
    get_dataset_spec,
    load_molecules,
    user_dataset_spec,
)
from greenft.data.registry import select_targets
from greenft.data.split_sources import resolve_split, split_source
from greenft.errors import UserError
from greenft.models import get_family
from greenft.models.items import encode_items
from greenft.schema import (
    DROPPED_ROWS_FILE,
    METER_FILE,
    SPLIT_FILE,
    Point,
    RunStatus,
    SummaryFacts,
    build_summary,
    epoch_row,
    point_key,
)
from greenft.schema.summary import AT_EPOCH, STATUS, STOP_REASON
from greenft.signals import reraise_first, signals_held, sigterm_as_interrupt
from greenft.stopping import (
    EmissionForecaster,
    EpochObservation,
    Forecast,
    StopDecision,
    StoppingRule,
    build_rule,
    rule_label,
)
from greenft.tracking import EmissionMeter, EmissionReading, PhaseLedger, meter_for
from greenft.tracking.emissions import with_final_reading

FIT, TEST_EVAL = "fit", "test_eval"


class DatasetSplitError(UserError, ValueError):
    """A split that cannot be scored (e.g. a validation set with one class only)."""


class TrialInterrupted(KeyboardInterrupt):
    """Raised on SIGTERM so an agent being stopped ends like Ctrl-C: logged epochs kept, run marked."""


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    val_metric: float
    test_metric: float
    fit: EmissionReading
    test_eval: EmissionReading
    decisions: dict[str, StopDecision]
    val_loss: float = math.nan  # validation loss and bootstrap SEs, from the same pass as val_metric
    val_metric_se: float = math.nan
    val_loss_se: float = math.nan
    forecast: Forecast | None = None  # the full budget's totals as forecast at this epoch (None: too early)
    val_extras: dict[str, float] = field(default_factory=dict)  # data.extra_metrics by name, same passes
    test_extras: dict[str, float] = field(default_factory=dict)


@dataclass
class TrialResult:
    status: str  # finished (interrupted/preempted trials raise KeyboardInterrupt instead of returning)
    metric: Metric
    run_id: str
    run_path: Path
    files_dir: Path
    live_rule: str
    stop_epoch: int
    epochs: list[EpochRecord]
    summary: dict[str, Any]
    meter_info: dict[str, Any] = field(default_factory=dict)


EpochCallback = Callable[[EpochRecord, "TrialContext"], str | None]
"""Called after each epoch is logged. Returning a non-empty string ends the trial after this epoch with that
string as its stop reason: how a sweep controller's early termination (e.g. hyperband) stops a trial cleanly."""


@dataclass
class TrialContext:
    """What a progress display needs to know about the trial before the first epoch."""

    config: TrialConfig
    molecules: LabelledMolecules
    split: Split
    metric: Metric
    model_info: dict[str, Any]
    meter_info: dict[str, Any]
    run_path: Path
    live_label: str


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_data(config: TrialConfig) -> LabelledMolecules:
    data = config.data
    if data.file is not None:
        assert data.smiles_column is not None
        spec = user_dataset_spec(data.file, data.smiles_column, data.target_columns, data.task_type, data.metric)
    else:
        spec = get_dataset_spec(data.dataset)
        if data.task_type is not None and data.task_type is not spec.task_type:  # else recorded, never applied
            raise DatasetSplitError(
                f"task_type = {data.task_type.value!r} does not fit {spec.name} ({spec.task_type.value}); "
                "a built-in dataset has its own task type (leave --task-type out)"
            )
        if data.metric is not None:
            if not data.metric.fits(spec.task_type):
                raise DatasetSplitError(f"metric {data.metric.value} does not fit {spec.name} ({spec.task_type.value})")
            spec = spec.model_copy(update={"metric": data.metric})
        spec = select_targets(spec, data.target)  # data.target, else the set's default targets (qm9: U0)
    return load_molecules(spec, limit=data.limit)


def check_split(molecules: LabelledMolecules, split: Split) -> None:
    """Every part needs molecules, and for classification both classes in at least one task."""
    for part, indices in (("train", split.train), ("val", split.val), ("test", split.test)):
        if len(indices) == 0:
            raise DatasetSplitError(
                f"{molecules.spec.file or molecules.spec.name}: the {part} split is empty ({len(molecules.smiles)} "
                "molecules): use more molecules (or more distinct scaffolds), another --split or a larger --limit"
            )
        if molecules.spec.task_type is not TaskType.REGRESSION:  # multiclass: two of its classes at least
            labels = molecules.labels[indices]
            scorable = any(len(np.unique(col[~np.isnan(col)])) >= 2 for col in labels.T)
            if not scorable:
                raise DatasetSplitError(
                    f"{molecules.spec.name}: the {part} split ({len(indices)} molecules) has one class only, so "
                    "ROC-AUC is undefined; use more molecules (data.limit), another split or seed"
                )


def resolve_device(choice: str) -> torch.device:
    """``auto`` picks CUDA when torch sees a GPU; asking for ``cuda`` without one is an error, not a fallback."""
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device = 'cuda': torch sees no CUDA GPU here (use device: auto or cpu)")
    return torch.device(choice)


def make_meter(config: TrialConfig, output_dir: Path, run_id: str | None = None) -> EmissionMeter:
    """The trial's meter; ``run_id`` (the W&B run's) labels CodeCarbon's emissions.csv rows to join that run."""
    return meter_for(config.tracking, output_dir, config.logging.project, run_id)


def build_rules(config: TrialConfig, metric: Metric) -> tuple[str, dict[str, StoppingRule]]:
    """The live rule's label and every rule to feed (live first; shadow rules too in shadow mode)."""
    live_label = rule_label(config.stopping)
    budget = config.optim.max_epochs  # rules with a warm-up fraction need it; the others ignore it
    rules = {live_label: build_rule(config.stopping, metric.direction, budget)}
    if config.mode == "shadow":
        for rule_config in config.shadow_rules:
            rules.setdefault(rule_label(rule_config), build_rule(rule_config, metric.direction, budget))
    return live_label, rules


def run_trial(
    config: TrialConfig,
    on_start: Callable[[TrialContext], None] | None = None,
    on_epoch: EpochCallback | None = None,
    on_batch: Callable[[], None] | None = None,
    meter: EmissionMeter | None = None,
    *,
    run_metadata: Mapping[str, Any] | None = None,
    preemptible: bool = False,
) -> TrialResult:
    """Run one trial end to end; see the module docstring for the per-epoch order.

    ``run_metadata`` adds top-level entries to the run config (W&B and ``greenft_config.json``), e.g. the
    ``sweep`` a trial belongs to, so analysis can group runs; they may not shadow a TrialConfig field.
    ``preemptible`` (sweep agents): an interrupt (SIGTERM, Ctrl-C) marks the run ``preempted`` instead of
    ``interrupted`` and tells W&B (``run.mark_preempting()``), so a W&B sweep re-queues the trial and greenft's
    embedded controller retries it.
    """
    if run_metadata:
        clash = sorted(set(run_metadata) & (set(TrialConfig.model_fields) | {"derived"}))
        if clash:
            raise ValueError(f"run_metadata may not override trial config entries: {', '.join(clash)}")
    threads = choose_threads(config.threads)  # default: the cores actually free (see greenft.agents.threads)
    threads_info = {**threads.describe(), "threads": apply_threads(threads)}
    molecules, split = resolve_split(config.data, load_data(config), config.seed)  # greenft.data.split_sources
    metric = molecules.spec.metric
    extras = run_extra_metrics(config.data, molecules.spec)  # logged beside metric; only metric drives the run
    loss_name = resolve_loss(config.optim.loss, molecules.spec.task_type, molecules.spec.name)  # a misfit: exit 2
    check_split(molecules, split)
    family = get_family(config.model.name)
    items = encode_items(family, molecules)  # SMILES, or a 3D family's structures (greenft.models.items)

    seed_everything(config.seed)
    device = resolve_device(config.device)
    built = family.build(config.model, model_outputs(molecules.spec, molecules.num_tasks))
    model = built.model.to(device)
    scaler = TargetScaler.fit(molecules.labels[split.train], molecules.spec.task_type)
    family.fit_target_baseline(model, [items[i] for i in split.train], scaler.mean, scaler.std)  # schnet's
    generator = torch.Generator().manual_seed(config.seed)
    batch_size = config.optim.batch_size
    train_loader = family.loader([items[i] for i in split.train], batch_size, shuffle=True, generator=generator)
    val_loader = family.loader([items[i] for i in split.val], batch_size, shuffle=False)
    test_loader = family.loader([items[i] for i in split.test], batch_size, shuffle=False)
    optimizer = make_optimizer(model.parameters(), config.optim)  # adam or adamw (greenft.agents.optimizers)
    lr_schedule = resolve_lr_schedule(config.optim.lr_schedule, family.default_lr_schedule)
    scheduler = make_lr_scheduler(
        optimizer,
        lr_schedule,
        steps_per_epoch=max(math.ceil(len(split.train) / batch_size), 1),
        max_epochs=config.optim.max_epochs,
        warmup_epochs=config.optim.warmup_epochs,
        start_ratio=config.optim.lr_start_ratio,
        end_ratio=config.optim.lr_end_ratio,
    )
    live_label, rules = build_rules(config, metric)
    keeper = DeployKeeper(config.deploy, metric.direction)

    run_config = config.model_dump(mode="json")
    run_config["model"].update(built.applied)  # what trained, where the checkpoint decided (models.applied)
    run_config["optim"]["lr_schedule"] = lr_schedule  # the family's default when unset: what trained
    run_config["optim"]["loss"] = loss_name  # likewise the task's default loss (bce or mse) when unset
    models = SavedModelKeeper(
        config.save_models, metric.direction, config, run_config["model"], built, molecules, scaler
    )  # model_best.pt / model_stop.pt (greenft.agents.saved_models)
    dataset_info = {
        "name": molecules.spec.name,
        "source": molecules.spec.source,
        "licence": molecules.spec.licence,
        "path": str(molecules.path),
        "molecules": len(molecules.smiles),
        "dropped_rows": len(molecules.dropped),
        "tasks": molecules.num_tasks,
        "classes": list(molecules.spec.classes),  # multiclass: the class of each output, in order
        "task_type": molecules.spec.task_type.value,
        "metric": metric.value,
        "extra_metrics": [extra.value for extra in extras],
        "split_sizes": dict(zip(("train", "val", "test"), split.sizes(), strict=True)),
        "split_source": split_source(config.data),
    }
    run_config["derived"] = {
        "dataset": dataset_info,
        "model": built.info,
        "live_rule": live_label,
        "rules": list(rules),
        "threads": threads_info,
    }
    run_config.update(run_metadata or {})
    interrupted = RunStatus.PREEMPTED if preemptible else RunStatus.INTERRUPTED
    # A stop while W&B starts and the run's first files are written is held (a half-started W&B run and a run
    # folder without its config are what a signal here used to leave) and honoured once the run exists, below:
    # the run then closes like any interrupted one, with 0 epochs. A second Ctrl-C still ends a hanging start.
    with signals_held(urgent=True) as held_at_start:
        log = RunLog(config.logging, run_config)
        try:
            log.write_json(SPLIT_FILE, split.as_lists())
            log.write_json(DROPPED_ROWS_FILE, [d.__dict__ for d in molecules.dropped])
            active_meter = meter if meter is not None else make_meter(config, log.files_dir, log.run_id)
            active_meter.start()  # started before describe(): CodeCarbon settles its hardware methods on start
            meter_info = active_meter.describe()
            models.record_grid(meter_info)  # the saved models' grid_country_iso_code: inference's grid
            log.write_json(METER_FILE, meter_info)
            log.update_config({"derived": {**run_config["derived"], "meter": meter_info}})
        except BaseException as err:
            stopped = isinstance(err, KeyboardInterrupt)
            log.finish({STATUS: (interrupted if stopped else RunStatus.FAILED).value}, exit_code=130 if stopped else 1)
            raise
    context = TrialContext(config, molecules, split, metric, built.info, meter_info, log.run_path, live_label)

    ledger = PhaseLedger()
    forecaster = EmissionForecaster(config.optim.max_epochs, config.forecast_after)
    epochs: list[EpochRecord] = []
    status: str = RunStatus.FINISHED
    exit_code = 0
    external_stop: str | None = None
    failure: str | None = None  # why a failed run failed (a non-finite loss or metric), as its stop reason
    try:
        reraise_first(held_at_start)
        if on_start is not None:
            on_start(context)
        with sigterm_as_interrupt(TrialInterrupted):
            for epoch in range(1, config.optim.max_epochs + 1):
                task = molecules.spec.task_type
                loss = train_epoch(model, train_loader, optimizer, task, scaler, device, on_batch, scheduler, loss_name)
                val = validate(model, val_loader, task, metric, scaler, device, extras, loss_name)
                val_metric = val.metric
                fit_total = ledger.close(FIT, active_meter.read())
                tests = evaluate_metrics(model, test_loader, task, [metric, *extras], scaler, device)
                test_metric = tests.pop(metric)
                test_total = ledger.close(TEST_EVAL, active_meter.read())
                check_finite(epoch, loss, val_metric, test_metric, molecules, config.optim.lr)
                observation = EpochObservation(
                    epoch, val_metric, fit_total.emissions_kg, val.loss, val.metric_se, val.loss_se
                )
                decisions = {label: rule.update(observation) for label, rule in rules.items() if not rule.stopped}
                forecast = forecaster.update(fit_total)
                record = EpochRecord(
                    epoch,
                    loss,
                    val_metric,
                    test_metric,
                    fit_total,
                    test_total,
                    decisions,
                    val_loss=val.loss,
                    val_metric_se=val.metric_se,
                    val_loss_se=val.loss_se,
                    forecast=forecast,
                    val_extras=val.extras,
                    test_extras={extra.value: value for extra, value in tests.items()},
                )
                with signals_held() as held:
                    epochs.append(record)
                    log.log_epoch(epoch_row(record, metric.value, live_label))
                    weights = EpochWeights(model)  # one CPU copy this epoch, whichever keepers keep it
                    keeper.observe(weights, [e.val_metric for e in epochs])
                    models.observe(weights, [e.val_metric for e in epochs], rules[live_label].stopped)
                reraise_first(held)
                if on_epoch is not None:
                    external_stop = on_epoch(record, context) or None
                if external_stop is not None:
                    break
                if config.mode == "live" and rules[live_label].stopped:
                    break
            keeper.save(log.files_dir, epochs, metric.value)  # a failed write fails the run (one line naming it)
            models.save(log, epochs)
    except KeyboardInterrupt:
        status, exit_code = interrupted, 130
        raise
    except BaseException as err:
        status, exit_code = RunStatus.FAILED, 1
        failure = str(err) if isinstance(err, NonFiniteError) else None
        raise
    finally:
        with signals_held() as held:
            try:
                if status != RunStatus.FINISHED:
                    keeper.save_after_error(log.files_dir, epochs, metric.value)
                    models.save_after_error(log, epochs)
                models.publish(log)
                meter_info = with_final_reading(meter_info, active_meter.stop())  # summary's total/metered_*
            finally:
                if status == RunStatus.PREEMPTED:
                    log.mark_preempting()
                facts = SummaryFacts(
                    status=status,
                    mode=config.mode,
                    metric=metric.value,
                    live_label=live_label,
                    epochs=epochs,
                    rules=rules,
                    clamped_readings=ledger.clamped_readings,
                    meter=meter_info,
                    external_stop=external_stop,
                    deploy=config.deploy,
                    models=models.summary(),
                )
                summary = build_summary(facts)
                if failure is not None:
                    summary[STOP_REASON] = failure
                log.finish(summary, exit_code=exit_code)
        if status == RunStatus.FINISHED:
            reraise_first(held)  # a stop that came while closing: honoured now; an interrupt in flight already is
    stop_epoch = int(summary.get(point_key(Point.STOP, AT_EPOCH), 0))
    return TrialResult(
        status, metric, log.run_id, log.run_path, log.files_dir, live_label, stop_epoch, epochs, summary, meter_info
    )
