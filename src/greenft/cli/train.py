"""``greenft train``: one fine-tuning trial with a live per-epoch table.

Errors a user can fix (bad config, unknown dataset/model, unreadable file, unusable split) print one clear
message and exit with code 2; Ctrl-C exits with 130 after the epochs already logged are safely closed.
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.panel import Panel
from rich.table import Table

from greenft.agents.config import TrialConfig, load_trial_config
from greenft.agents.overrides import Override, apply_overrides, overrides, parse_assignments, value_type
from greenft.agents.preflight import check_before_heavy_work
from greenft.agents.run_log import check_run_outputs
from greenft.cli.app import USER_ERRORS, app, console, fail, progress_bar, warn
from greenft.errors import RunFailedError
from greenft.io import output_error
from greenft.schema import DEPLOYED_MODEL_FILE, EPOCHS_FILE, Mode, Point, point_key, shadow_key, shadow_stop_epochs
from greenft.schema.summary import (
    AT_EMISSIONS,
    AT_ENERGY,
    AT_EPOCH,
    AT_TEST,
    AT_TIME,
    AT_VAL,
    FORECAST_EPOCH,
    FORECAST_ERROR,
    MODE,
    MODEL_BEST_EPOCH,
    MODEL_BEST_FILE,
    MODEL_STOP_EPOCH,
    MODEL_STOP_FILE,
    SHADOW_EMISSIONS,
    SHADOW_TEST,
    STOP_REASON,
    STOP_RULE,
    TOTAL_TEST_EVAL_EMISSIONS,
)
from greenft.signals import reraise_first, signals_held
from greenft.tracking.grid import grid_line

SAVED_MODEL_KEYS = {
    "best validation up to the stop": (MODEL_BEST_FILE, MODEL_BEST_EPOCH),
    "at the stop": (MODEL_STOP_FILE, MODEL_STOP_EPOCH),
}
"""The saved models `greenft train` points to at the end (load with greenft.models.saved.load_saved_model)."""


def _fmt(value: float | None, spec: str = ".4f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)


FLAGS: tuple[Override, ...] = overrides()
"""The flags of ``greenft train``, one per row of the alias table the sweeps use too (see ``--help``)."""


def _keyword(name: str, kind: Any, option: Any) -> inspect.Parameter:
    """A keyword parameter, unset by default, that Typer turns into ``option`` parsing ``kind`` values."""
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[kind, option])


_CHECKED_BY_GREENFT: dict[str, dict[str, Any]] = {
    name: {"readable": False} for name in ("data_file", "split_file", "test_file")
}
"""Options whose value greenft checks itself: the data loader names an unreadable --data-file (--split-file,
--test-file) and why in one line, where Click's own readability check printed a usage screen."""


def _flag(row: Override) -> inspect.Parameter:
    """The row's option; its type, and so its choices, is the config field's (``--help`` lists them)."""
    if row.switch is not None:
        return _keyword(row.name, bool | None, typer.Option(f"{row.switch.on}/{row.switch.off}", help=row.help))
    option = typer.Option(row.flag, help=row.help, **_CHECKED_BY_GREENFT.get(row.name, {}))
    return _keyword(row.name, value_type(row.path) | None, option)


def _values(flags: dict[str, Any]) -> dict[str, Any]:
    """The flags given on the command line (unset ones do not override the YAML or the defaults)."""
    out: dict[str, Any] = {}
    for row in FLAGS:
        value = flags.get(row.name)
        if value is None or value == []:
            continue
        if row.switch is not None:
            value = row.switch.on_value if value else row.switch.off_value
        out[row.name] = value
    return out


def train(
    config_file: Path | None = None,
    assignments: list[str] | None = None,
    **flags: Any,
) -> None:
    """Fine-tune one model on one dataset, measuring CO2 each epoch and stopping by the chosen rule."""
    try:
        base = load_trial_config(config_file) if config_file else None
        values = {**_values(flags), **parse_assignments(assignments or [])}
        config = apply_overrides(base, values, str(config_file or "command line"))
        check_before_heavy_work(config)  # before the trial imports torch: a wrong name is told in a second
        check_run_outputs(config.logging)  # before any data or model is loaded: the run must have a home
    except USER_ERRORS as err:
        fail(err)
    _run_with_display(config)


_SET_HELP = (
    "any trial config field by its dotted path, the value read as YAML, e.g. optim.weight_decay=0.01 "
    "(repeat; applied after the flags)"
)
train.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # Typer reads the options from here
    [
        _keyword("config_file", Path | None, typer.Option("--config", help="trial config YAML; flags override it")),
        *(_flag(row) for row in FLAGS),
        _keyword("assignments", list[str] | None, typer.Option("--set", metavar="PATH=VALUE", help=_SET_HELP)),
    ]
)
app.command()(train)


def _run_with_display(config: TrialConfig) -> None:
    from greenft.agents.trial import DatasetSplitError, EpochRecord, TrialContext, run_trial
    from greenft.data.split_sources import split_source

    state: dict[str, Any] = {}
    progress = progress_bar()

    def on_start(ctx: TrialContext) -> None:
        state["ctx"] = ctx
        m = ctx.molecules
        sizes = ctx.split.sizes()
        lines = [
            f"[bold]dataset[/] {m.spec.name}: {len(m.smiles)} molecules ({len(m.dropped)} rows dropped), "
            f"{m.num_tasks} task(s), {m.spec.task_type.value}, metric {ctx.metric.value}; "
            f"{split_source(ctx.config.data)} split {sizes[0]}/{sizes[1]}/{sizes[2]}",
            f"[bold]source[/] {m.spec.source} — licence: {m.spec.licence}",
            f"[bold]model[/] {ctx.config.model.name} ({ctx.model_info['num_layers']} layers x "
            f"{ctx.model_info['emb_dim']}, {ctx.model_info['parameters']:,} parameters), "
            f"init: {ctx.model_info['init']}",
            f"[bold]stopping[/] {ctx.live_label} ({ctx.config.mode} mode), budget {ctx.config.optim.max_epochs} epochs",
            f"[bold]emissions[/] {ctx.meter_info.get('meter')}: {ctx.meter_info.get('note')}",
            *([f"[bold]grid[/] {grid}"] if (grid := grid_line(ctx.meter_info)) else []),
            f"[bold]run files[/] {ctx.run_path}",
        ]
        if m.dropped:
            lines.append(f"[yellow]dropped rows[/] {m.report(max_rows=3).split('; dropped ', 1)[-1]}")
        for line in m.warnings:
            warn(line)
        console.print(Panel("\n".join(lines), title="greenft train", expand=False))
        header = (
            f"{'epoch':>5} {'train loss':>10} {'val ' + ctx.metric.value:>12} {'test ' + ctx.metric.value:>13} "
            f"{'kg CO2 (cum)':>13} {'kWh (cum)':>11} {'s (cum)':>8} {'%dPerf':>8} {'%dEmis':>8} "
            f"{'AER':>9} {'EMA':>9}  decision"
        )
        console.print(header, style="bold", soft_wrap=True)
        state["epoch_task"] = progress.add_task("epochs", total=ctx.config.optim.max_epochs)
        state["batch_task"] = progress.add_task(
            "batches", total=math.ceil(len(ctx.split.train) / ctx.config.optim.batch_size)
        )
        progress.start()

    def on_batch() -> None:
        if "batch_task" in state:
            progress.advance(state["batch_task"])

    def on_epoch(record: EpochRecord, ctx: TrialContext) -> None:
        with signals_held() as held:  # a stop in mid-print left the line in rich's buffer: printed twice
            _print_epoch(record, ctx)
        reraise_first(held)

    def _print_epoch(record: EpochRecord, ctx: TrialContext) -> None:
        decision = record.decisions.get(ctx.live_label)
        word = "stopped" if decision is None else ("[bold red]STOP[/]" if decision.should_stop else "continue")
        progress.console.print(
            f"{record.epoch:>5} {record.train_loss:>10.4f} "
            f"{_fmt(record.val_metric):>12} {_fmt(record.test_metric):>13} "
            f"{record.fit.emissions_kg:>13.3e} {record.fit.energy_kwh:>11.3e} {record.fit.duration_s:>8.1f} "
            f"{_fmt(decision.delta_perf_pct if decision else None, '.2f'):>8} "
            f"{_fmt(decision.delta_emis_pct if decision else None, '.2f'):>8} "
            f"{_fmt(decision.aer if decision else None, '.4f'):>9} "
            f"{_fmt(decision.ema if decision else None, '.4f'):>9}  {word}",
            soft_wrap=True,
        )
        progress.advance(state["epoch_task"])
        progress.reset(state["batch_task"])

    try:
        result = run_trial(config, on_start=on_start, on_epoch=on_epoch, on_batch=on_batch)
    except KeyboardInterrupt:
        progress.stop()
        where = state["ctx"].run_path if "ctx" in state else "(no run started)"
        console.print(f"[yellow]interrupted[/]: the epochs logged so far are kept in {where}")
        raise typer.Exit(code=130) from None
    except Exception as err:
        progress.stop()
        if isinstance(err, (DatasetSplitError, *USER_ERRORS)):
            fail(err)
        if isinstance(err, RunFailedError):  # exit 1: the run is recorded failed, its earlier epochs kept
            fail(f"{err}; run recorded as failed: {state['ctx'].run_path}", code=1)
        if (full := output_error(err, config.logging.runs_dir, disk_only=True)) is not None:
            fail(full)  # e.g. the emissions tracker's file on a full disk: one line, the epochs logged are kept
        raise
    progress.stop()
    try:
        _print_summary(result)
    except KeyboardInterrupt:  # the run is complete and closed: only its summary table was cut short
        console.print(f"[yellow]interrupted[/] while printing the summary; the run is complete in {result.run_path}")
        raise typer.Exit(code=130) from None


def _print_forecast(result: Any) -> None:
    """The full budget's forecast beside what the run spent; the first forecast's error once the budget ran out."""
    forecasts = [e.forecast for e in result.epochs if e.forecast is not None]
    if not forecasts:
        return
    s, spent = result.summary, result.epochs[-1].fit.emissions_kg
    first, last = forecasts[0], forecasts[-1]
    if FORECAST_ERROR in s:
        line = (
            f"forecast at epoch {s[FORECAST_EPOCH]}: {first.emissions_kg:.3e} kg for {first.budget_epochs} epochs; "
            f"they cost {spent:.3e} kg (error {_fmt(s[FORECAST_ERROR], '+.1f')}%)"
        )
    else:
        line = (
            f"forecast at epoch {last.epoch}: {last.emissions_kg:.3e} kg for the full budget of "
            f"{last.budget_epochs} epochs; this run spent {spent:.3e} kg"
        )
    console.print(line, soft_wrap=True)


def _print_summary(result: Any) -> None:
    s, m = result.summary, result.metric.value
    table = Table(title="summary", show_header=True)
    for column in ("", "epoch", f"val {m}", f"test {m}", "kg CO2", "kWh", "s"):
        table.add_column(column)
    for point, label in (
        (Point.STOP, "stop"),
        (Point.DEPLOYED, "deployed"),
        (Point.BEST, "best-val (hindsight)"),
        (Point.ORACLE, "best-test (limit)"),
        (Point.FULL, "full budget"),
    ):
        if point_key(point, AT_EPOCH) in s:

            def at(field: str, point: Point = point) -> Any:
                return s[point_key(point, field, m)]

            table.add_row(
                label,
                str(at(AT_EPOCH)),
                _fmt(at(AT_VAL)),
                _fmt(at(AT_TEST)),
                f"{at(AT_EMISSIONS):.3e}",
                f"{at(AT_ENERGY):.3e}",
                f"{at(AT_TIME):.1f}",
            )
    console.print(table)
    console.print(f"stopped by [bold]{s.get(STOP_RULE)}[/]: {s.get(STOP_REASON)}")
    extras = list(result.epochs[-1].test_extras) if result.epochs else []  # data.extra_metrics, as logged
    if extras and point_key(Point.DEPLOYED, AT_EPOCH) in s:
        scores = [
            f"{name} {_fmt(s.get(point_key(Point.DEPLOYED, AT_VAL, name)))} / "
            f"{_fmt(s.get(point_key(Point.DEPLOYED, AT_TEST, name)))}"
            for name in extras
        ]
        console.print(f"extra metrics at the deployed epoch (val / test): {', '.join(scores)}", soft_wrap=True)
    full_kg = s.get(point_key(Point.FULL, AT_EMISSIONS))
    if s.get(MODE) == Mode.SHADOW and full_kg:
        full_metric = s[point_key(Point.FULL, AT_TEST, m)]
        for label, stop in sorted(shadow_stop_epochs(s).items()):
            kg, metric = s[shadow_key(SHADOW_EMISSIONS, label)], s[shadow_key(SHADOW_TEST, label, m)]
            where = f"epoch {stop}" if stop is not None else "never (full budget)"
            if stop is not None and stop == s.get(point_key(Point.FULL, AT_EPOCH)):
                where += " (the last epoch: no early stop)"  # said stop, saved nothing: not an early stop
            console.print(
                f"  shadow {label}: stops {where}, test {m} {_fmt(metric)} vs {_fmt(full_metric)} at full budget, "
                f"emissions saved {100 * (1 - kg / full_kg):.1f}%",
                soft_wrap=True,
            )
    _print_forecast(result)
    test_kg = s.get(TOTAL_TEST_EVAL_EMISSIONS, 0)
    console.print(f"test-set evaluation (logged apart, unseen by the rule): {test_kg:.3e} kg")
    console.print(f"[bold]W&B run[/] {result.run_path}", soft_wrap=True)
    if (result.run_path / f"run-{result.run_id}.wandb").exists():
        console.print(f"  browse: wandb beta leet {result.run_path}", soft_wrap=True)
        console.print(f"  upload later: wandb sync {result.run_path}", soft_wrap=True)
    console.print(f"  epoch log: {result.files_dir / EPOCHS_FILE}", soft_wrap=True)
    deployed = result.files_dir / DEPLOYED_MODEL_FILE
    if deployed.is_file():
        epoch = s.get(point_key(Point.DEPLOYED, AT_EPOCH))
        console.print(f"  deployed weights (epoch {epoch}): {deployed}", soft_wrap=True)
    for what, (file_key, epoch_key) in SAVED_MODEL_KEYS.items():
        if file_key in s:
            console.print(f"  saved model, {what} (epoch {s.get(epoch_key)}): {s[file_key]}", soft_wrap=True)
