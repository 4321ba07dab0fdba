"""``greenft sweep run|create|sync|validate|status`` and ``greenft agent``: one sweep YAML, two ways to run it.

* ``greenft sweep run FILE`` runs the sweep here, offline, with W&B's open-source engine (the embedded
  controller, :mod:`greenft.sweeps.controller`); re-running it resumes.
* ``greenft sweep create FILE`` registers it on your W&B server and prints the ``wandb agent`` command that
  GPU boxes (or ``docker compose``) run; each trial there is ``python -m greenft agent ...``.
* ``greenft sweep sync FILE`` uploads a sweep run here offline and creates its W&B sweep, linking the runs
  (:mod:`greenft.sweeps.sync`).

User errors (a bad sweep file, an unknown parameter, model or dataset) print one line and exit with code 2;
a sweep stopped by Ctrl-C / SIGTERM exits with 130 once its running trials are closed and marked preempted.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Annotated, Any

import typer

from greenft.agents.config import TrialConfig, WandbMode, load_trial_config
from greenft.agents.preflight import check_before_heavy_work
from greenft.cli.app import USER_ERRORS, app, command_group, console, fail, progress_bar
from greenft.errors import RunFailedError
from greenft.io import output_error
from greenft.schema import Point, point_key
from greenft.schema.summary import AT_EMISSIONS, AT_EPOCH, AT_VAL, METRIC, STOP_REASON
from greenft.signals import sigterm_as_interrupt

sweep_app = command_group("Hyperparameter sweeps from W&B sweep YAMLs: run them here (offline) or on a W&B server.")
app.add_typer(sweep_app, name="sweep")

SweepFile = Annotated[Path, typer.Argument(help="a W&B sweep YAML (see sweeps/)")]


def _load(file: Path, base: TrialConfig | None = None) -> Any:
    from greenft.sweeps.spec import load_sweep_spec

    try:
        return load_sweep_spec(file, base)
    except USER_ERRORS as err:
        fail(err)


@sweep_app.command("validate")
def validate(files: Annotated[list[Path], typer.Argument(help="sweep YAMLs")]) -> None:
    """Check sweep YAMLs against W&B's schema and greenft's trial config, without running anything."""
    for file in files:
        spec = _load(file)
        size = spec.grid_size()
        extent = f"{size} grid points" if size is not None else f"run_cap {spec.run_cap or 'none'}"
        console.print(f"[green]ok[/] {file}: {spec.name} ({spec.method}, {extent}), sweep id {spec.sweep_id}")


@sweep_app.command("run")
def run(
    file: SweepFile,
    count: Annotated[
        int | None, typer.Option(help="trials in the whole sweep (finished + crashed); default: grid size / run_cap")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="local worker processes running trials in parallel")] = 1,
    runs_dir: Annotated[Path, typer.Option(help="W&B run files and the sweep state go here")] = Path("runs"),
    wandb_mode: Annotated[WandbMode, typer.Option(help="W&B mode of the trials")] = "offline",
    threads: Annotated[int | None, typer.Option(help="torch threads per trial (default: free cores / workers)")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="base trial config YAML under the sweep")] = None,
    retry_crashed: Annotated[bool, typer.Option(help="run crashed trials again (e.g. after a fix)")] = False,
    grace: Annotated[float, typer.Option(help="seconds running trials get to close their logs on stop")] = 120.0,
) -> None:
    """Run a sweep here with W&B's open-source engine, offline by default; run it again to resume."""
    from greenft.sweeps.controller import SweepOptions, SweepProgress, run_sweep
    from greenft.sweeps.state import SweepBusyError, SweepStateError

    try:
        base = load_trial_config(config) if config else None
    except USER_ERRORS as err:
        fail(err)
    spec = _load(file, base)
    options = SweepOptions(
        count=count,
        workers=workers,
        runs_dir=runs_dir,
        wandb_mode=wandb_mode,
        threads=threads,
        retry_crashed=retry_crashed,
        grace_s=grace,
        base=base,
    )
    bar = progress_bar()
    task = bar.add_task(f"sweep {spec.name}", total=None)

    def show(now: SweepProgress) -> None:
        running = ", ".join(now.running) or "-"
        bar.update(task, total=now.target, completed=now.done, description=f"sweep {spec.name} (running: {running})")

    try:
        with bar:
            outcome = run_sweep(
                spec,
                options,
                report=lambda line: console.print(line, soft_wrap=True, highlight=False),
                progress=show,
            )
    except (SweepBusyError, SweepStateError) as err:
        fail(err)
    except USER_ERRORS as err:
        fail(err)
    except RuntimeError as err:  # workers that cannot start (broken install): say so without a traceback
        console.print(f"[bold red]error:[/] {err}", soft_wrap=True)
        raise typer.Exit(code=1) from None
    state = outcome.state
    finished, crashed = state.count("finished"), state.count("crashed")
    queued = state.count("preempted", "pending", "running")
    console.print(
        f"[bold]sweep {state.name}[/] ({state.sweep_id}): {finished} finished, {crashed} crashed, "
        f"{queued} to run on resume; runs in {runs_dir / 'wandb'} (tag sweep:{state.sweep_id}); "
        f"state {outcome.state_path}",
        soft_wrap=True,
    )
    if outcome.interrupted:
        console.print(f"[yellow]stopped[/]: run the same command again to resume: greenft sweep run {file} ...")
        raise typer.Exit(code=130)


@sweep_app.command("status")
def status(
    file: SweepFile,
    runs_dir: Annotated[Path, typer.Option(help="where `greenft sweep run` kept it")] = Path("runs"),
) -> None:
    """Show the trials of a sweep run here: parameters, status, result, run directory."""
    from rich.table import Table

    from greenft.sweeps.controller import describe, read_state

    spec = _load(file)
    try:
        state = read_state(spec, runs_dir)
    except USER_ERRORS as err:  # a damaged state file: one line naming it, and it is left as it is
        fail(err)
    if state is None:
        console.print(f"sweep {spec.name} ({spec.sweep_id}) has not run under {runs_dir} yet")
        return
    table = Table(title=f"sweep {state.name} ({state.sweep_id}, {state.method})")
    for column in ("trial", "status", "parameters", "stop epoch", "val metric", "kg CO2", "attempts", "run"):
        table.add_column(column)
    for trial in state.trials:
        s = trial.summary
        metric = s.get(METRIC, "")
        val, kg = s.get(point_key(Point.STOP, AT_VAL, metric)), s.get(point_key(Point.STOP, AT_EMISSIONS))
        attempt = trial.last_attempt
        table.add_row(
            trial.trial_id,
            trial.status,
            describe(trial.params, spec),
            str(s.get(point_key(Point.STOP, AT_EPOCH), "")),
            f"{val:.4f}" if isinstance(val, int | float) else "",
            f"{kg:.2e}" if isinstance(kg, int | float) else "",
            str(len(trial.attempts)),
            (Path(attempt.run_path).name if attempt.run_path else attempt.error or "") if attempt else "",
        )
    console.print(table)


@sweep_app.command("create")
def create(
    file: SweepFile,
    project: Annotated[str | None, typer.Option(help="W&B project (default: the file's, else greenft)")] = None,
    entity: Annotated[str | None, typer.Option(help="W&B entity (default: your default entity)")] = None,
) -> None:
    """Register the sweep on your W&B server (needs `wandb login`) and print the agent and compose commands."""
    from greenft.agents.run_log import check_wandb_environment
    from greenft.sweeps.agent import wandb_agent_command

    spec = _load(file)
    project, entity = spec.wandb_project(project), spec.wandb_entity(entity)
    try:
        check_wandb_environment()
    except USER_ERRORS as err:
        fail(err)
    import wandb

    try:
        sweep_id = wandb.sweep(sweep=spec.raw, project=project, entity=entity)
    except Exception as err:  # wandb raises several kinds (UsageError, CommError, ...): all mean "not created"
        reason = " ".join(str(err).split())  # one line, whatever wandb wrapped into its message
        fail(f"could not create the sweep on W&B ({type(err).__name__}: {reason}); run `wandb login` first?")
    if not sweep_id:
        fail("W&B did not return a sweep id (are you logged in? `wandb login`)")
    path = "/".join(part for part in (entity, project, sweep_id) if part)
    console.print(f"created sweep [bold]{path}[/] from {file} ({spec.method})", soft_wrap=True)
    console.print("start an agent on each GPU box:", soft_wrap=True)
    console.print(f"  {shlex.join(wandb_agent_command(path))}", soft_wrap=True, highlight=False)
    console.print("or N agents in Docker:", soft_wrap=True)
    console.print(
        f"  SWEEP_ID={path} AGENTS=4 docker compose -f docker/compose.yaml up --build", soft_wrap=True, highlight=False
    )


@sweep_app.command("sync")
def sync(
    file: SweepFile,
    runs_dir: Annotated[Path, typer.Option(help="where `greenft sweep run` kept it")] = Path("runs"),
    project: Annotated[str | None, typer.Option(help="W&B project (default: the file's, else greenft)")] = None,
    entity: Annotated[str | None, typer.Option(help="W&B entity (default: the file's, else your default)")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print what would be uploaded and created; touch nothing")
    ] = False,
    new_sweep: Annotated[
        bool, typer.Option("--new-sweep", help="create another W&B sweep when this one was synced to the project")
    ] = False,
) -> None:
    """Upload an offline sweep's runs (`wandb sync`) and create its W&B sweep from the same YAML, linking them."""
    from greenft.sweeps.sync import describe_plan, plan_sync, sync_sweep

    spec = _load(file)
    try:
        plan = plan_sync(spec, runs_dir, project=project, entity=entity)
    except USER_ERRORS as err:
        fail(err)
    if dry_run:
        for line in describe_plan(plan):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        console.print("dry run: nothing uploaded, no sweep created", highlight=False)
        return
    try:
        created = sync_sweep(
            plan, new_sweep=new_sweep, report=lambda line: console.print(line, highlight=False, soft_wrap=True)
        )
    except USER_ERRORS as err:
        fail(err)
    console.print(
        f"created sweep [bold]{created.path}[/] from {file} with {len(plan.runs)} run(s), state FINISHED",
        soft_wrap=True,
    )
    if created.url:
        console.print(f"sweep page: {created.url}", soft_wrap=True, highlight=False)


@app.command(
    "agent",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def agent(
    ctx: typer.Context,
    params_file: Annotated[
        Path | None, typer.Option("--params", help="JSON/YAML of parameters (default: $WANDB_SWEEP_PARAM_PATH)")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="base trial config YAML under the sweep")] = None,
) -> None:
    """Run one sweep trial from KEY=VALUE parameters (`greenft agent dataset=bbbp alpha=0.9 W=3`).

    This is the program a sweep file's `command` runs under `wandb agent`: exact values come from
    $WANDB_SWEEP_PARAM_PATH when the agent set it. SIGTERM/Ctrl-C preempt the trial (exit 130).
    """
    from greenft.agents.run_log import check_run_outputs
    from greenft.sweeps.agent import agent_trial, collect_params

    try:
        base = load_trial_config(config) if config else None
        params = collect_params(list(ctx.args), params_file, os.environ)
        trial_config, metadata = agent_trial(params, os.environ, base)
        check_before_heavy_work(trial_config)
        check_run_outputs(trial_config.logging)  # before the data and the model: the run must have a home
    except USER_ERRORS as err:
        fail(err)
    from greenft.agents.trial import EpochRecord, TrialContext, run_trial  # torch: once the parameters are valid

    def on_start(context: TrialContext) -> None:
        console.print(f"greenft agent: {context.run_path} ({context.live_label}, params {params})", soft_wrap=True)

    def on_epoch(record: EpochRecord, context: TrialContext) -> None:
        console.print(
            f"epoch {record.epoch}: val {context.metric.value} {record.val_metric:.4f}, "
            f"{record.fit.emissions_kg:.3e} kg CO2",
            soft_wrap=True,
            highlight=False,
        )

    try:
        with sigterm_as_interrupt(KeyboardInterrupt):  # also before the epoch loop (data, W&B start)
            result = run_trial(
                trial_config, on_start=on_start, on_epoch=on_epoch, run_metadata=metadata, preemptible=True
            )
    except KeyboardInterrupt:
        console.print("[yellow]preempted[/]: logged epochs kept; run marked preempting (W&B re-queues it)")
        raise typer.Exit(code=130) from None
    except USER_ERRORS as err:
        fail(err)
    except RunFailedError as err:  # the run is recorded failed (W&B exit code 1): not a finished trial
        fail(err, code=1)
    except OSError as err:
        if (full := output_error(err, trial_config.logging.runs_dir, disk_only=True)) is None:
            raise
        fail(full)
    s = result.summary
    console.print(f"done: {s.get(STOP_REASON)} (stop epoch {result.stop_epoch}); run {result.run_path}", soft_wrap=True)
