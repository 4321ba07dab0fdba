"""``greenft tune``: Optuna search over AN-GES (alpha, beta, W), scored by replay on logged curves or, with
``--live``, by real training runs.

Replay is the default because it is what makes tuning a *green* activity: the curves were paid for once (shadow
runs), and every further trial costs microseconds of CPU instead of a training run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.progress import Progress
from rich.table import Table

from greenft.analysis.tuning import DEFAULT_STUDY, SearchSpace, TuneResult
from greenft.cli.app import USER_ERRORS, app, console, fail, progress_bar, warn
from greenft.cli.reading import read_with_progress
from greenft.errors import RunFailedError
from greenft.io import ensure_writable_directory, output_error, write_files_into

Sampler = Literal["nsga2", "tpe", "random"]
MetricSplit = Literal["val", "test"]


def _range(text: str, name: str, integer: bool = False) -> tuple[float, float]:
    try:
        low_text, high_text = text.split(",")
        low, high = (int(low_text), int(high_text)) if integer else (float(low_text), float(high_text))
    except ValueError:
        fail(f"--{name} {text!r}: expected LOW,HIGH (e.g. {'2,6' if integer else '0,1'})")
    if not low < high:
        fail(f"--{name} {text!r}: LOW must be below HIGH")
    return low, high


def _fmt(value: object, spec: str = ".2f") -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "-" if value != value else format(value, spec)
    return str(value)


@app.command()
def tune(
    source: Annotated[
        str | None,
        typer.Option(help="runs with complete curves (shadow runs): a directory or wandb:ENTITY/PROJECT[/SWEEP]"),
    ] = None,
    out: Annotated[Path, typer.Option(help="output folder (study journal, Pareto table, YAML configs)")] = Path("tune"),
    trials: Annotated[int, typer.Option(min=1, help="trials to run in this call")] = 200,
    storage: Annotated[
        str | None,
        typer.Option(
            help="Optuna storage shared by workers: any SQLAlchemy URL (sqlite:///tune.db, "
            "postgresql://USER:PASSWORD@HOST/DB with the driver of the postgres extra, mysql+pymysql://...), "
            "a journal file path (default OUT/optuna_journal.log), or memory"
        ),
    ] = None,
    study_name: Annotated[str | None, typer.Option(help="study name (shared by workers)")] = None,
    sampler: Annotated[Sampler, typer.Option(help="Optuna sampler")] = "nsga2",
    seed: Annotated[
        int | None,
        typer.Option(help="sampler seed (default: a fresh one per worker, printed; give it to repeat a run)"),
    ] = None,
    metric_split: Annotated[
        MetricSplit, typer.Option(help="metric the objective uses: val (default; no test leakage) or test")
    ] = "val",
    alpha_range: Annotated[str, typer.Option(help="alpha LOW,HIGH")] = "0,1",
    beta_range: Annotated[str, typer.Option(help="beta LOW,HIGH")] = "0,1",
    warmup_range: Annotated[str, typer.Option(help="W LOW,HIGH (integers)")] = "2,6",
    tag: Annotated[list[str] | None, typer.Option("--tag", help="only runs with this W&B tag (repeat)")] = None,
    cache_dir: Annotated[Path | None, typer.Option(help="run cache (default $GREENFT_CACHE_DIR/analysis)")] = None,
    live: Annotated[bool, typer.Option("--live", help="score trials by real training runs instead of replay")] = False,
    config: Annotated[Path | None, typer.Option("--config", help="--live: base trial config YAML")] = None,
    seeds: Annotated[str, typer.Option(help="--live: comma-separated seeds trained per trial")] = "0",
) -> None:
    """Multi-objective AN-GES tuning (minimise emissions, maximise retained metric); writes the best configs."""
    from greenft.agents.run_log import check_wandb_environment
    from greenft.analysis.tuning import check_storage, tune_by_replay, write_tuning_outputs

    a_low, a_high = _range(alpha_range, "alpha-range")
    b_low, b_high = _range(beta_range, "beta-range")
    w_low, w_high = _range(warmup_range, "warmup-range", integer=True)
    if not (a_low >= 0.0 and a_high <= 1.0 and b_low >= 0.0 and w_low >= 0):
        fail("search ranges: alpha within [0, 1], beta >= 0, W >= 0")
    space = SearchSpace((a_low, a_high), (b_low, b_high), (int(w_low), int(w_high)))
    progress = progress_bar()
    start = time.perf_counter()
    result: TuneResult
    datasets: list[str] = []
    seed_list: list[int] = []
    try:
        ensure_writable_directory(out, "tune output folder (--out)")  # before any run is read or trial run
        check_storage(storage, out)  # a wrong URL or password fails now, not after reading every run
        if live:
            check_wandb_environment()  # live trials start W&B runs: a bad WANDB_MODE fails now, not per trial
            result, seed_list = _live(config, seeds, out, trials, storage, study_name, sampler, seed, space, progress)
        else:
            if source is None:
                fail("--source is required (runs with complete curves), or use --live --config base.yaml")
            from greenft.analysis.records import CurveError, curve_from_record

            curves = []
            for record in read_with_progress(source, tag, cache_dir, True):
                try:
                    curve = curve_from_record(record)
                except CurveError:
                    continue
                if record.state == "finished" and curve.complete:
                    curves.append(curve)
            if not curves:
                fail(f"{source}: no complete curves (train shadow runs: greenft train --shadow)")
            datasets = sorted({c.dataset for c in curves})
            seed_list = sorted({c.seed for c in curves if c.seed is not None})
            with progress:
                task = progress.add_task(f"tuning by replay on {len(curves)} curves", total=trials)
                result = tune_by_replay(
                    curves,
                    out,
                    n_trials=trials,
                    storage=storage,
                    study_name=study_name or DEFAULT_STUDY,
                    sampler=sampler,
                    seed=seed,
                    space=space,
                    metric_split=metric_split,
                    progress=lambda done, total: progress.update(task, completed=done),
                )
        # staged: a full disk leaves each output file of an earlier call whole, never half a YAML
        files = write_files_into(
            out,
            lambda staging: write_tuning_outputs(result, staging, datasets=datasets, seeds=seed_list),
            "tune output folder (--out)",
        )
    except USER_ERRORS as err:
        fail(err)
    except RunFailedError as err:  # a live trial's loss or metric became NaN/inf: that run is recorded failed
        fail(err, code=1)
    except OSError as err:  # the disk filled while tuning (the journal): one line; the journal keeps whole lines
        if (full := output_error(err, out, disk_only=True)) is None:
            raise
        fail(full)
    _print_result(result)
    for warning in result.warnings:  # also in tune_report.md and best_configs.yaml
        warn(warning)
    console.print(
        f"{result.n_trials_run} trials in {result.elapsed_s:.1f} s ({time.perf_counter() - start:.1f} s total)"
    )
    for path in files:
        console.print(f"  wrote {path}", soft_wrap=True)
    others = f", {result.trials_from_others} added meanwhile by other workers" if result.trials_from_others else ""
    console.print(
        f"study {result.study_name!r}: {result.n_trials_total} trials{others}; {result.repeats_rejected} repeated "
        "proposals replaced by fresh configs; this worker's sampler seed "
        f"{result.seed} (--seed {result.seed} repeats its proposals)",
        soft_wrap=True,
        markup=False,
    )
    console.print(
        f"browse the study: optuna-dashboard {result.storage}  (pip install optuna-dashboard"
        + ("; the password is masked here" if "***" in result.storage else "")
        + ")",
        soft_wrap=True,
        markup=False,
    )


def _live(
    config: Path | None,
    seeds: str,
    out: Path,
    trials: int,
    storage: str | None,
    study_name: str | None,
    sampler: Sampler,
    seed: int | None,
    space: SearchSpace,
    progress: Progress,
) -> tuple[TuneResult, list[int]]:
    from greenft.agents.config import TrialConfig, load_trial_config
    from greenft.agents.run_log import check_run_outputs
    from greenft.analysis.tuning import tune_live

    base = load_trial_config(config) if config is not None else TrialConfig()
    check_run_outputs(base.logging)  # every live trial is a run: its folder must take files before the first
    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        fail(f"--seeds {seeds!r}: expected comma-separated integers")
    console.print(
        f"[yellow]live tuning[/]: {trials} trials x {len(seed_list)} seed(s) of real training "
        f"({base.data.dataset}, budget {base.optim.max_epochs} epochs); this trains and emits CO2"
    )
    with progress:
        task = progress.add_task("live trials", total=trials)
        result = tune_live(
            base,
            out,
            seeds=seed_list,
            n_trials=trials,
            storage=storage,
            study_name=study_name or f"{DEFAULT_STUDY}-live",
            sampler=sampler,
            seed=seed,
            space=space,
            progress=lambda done, total: progress.update(task, completed=done),
        )
    return result, seed_list


def _mark(row: dict[str, object], recommended: bool) -> str:
    beats = _fmt(row["dominates_defaults"])
    return f"[green]{beats}, recommended[/]" if recommended else beats


def _print_result(result: TuneResult) -> None:
    if result.mode == "replay":
        table = Table(title=f"Pareto-optimal AN-GES configs ({result.metric_split} metric) vs the defaults")
        for column in (
            "alpha",
            "beta",
            "W",
            "k",
            "CO2 saved %",
            "val metric %",
            "test metric %",
            "epochs saved",
            "beats defaults",
        ):
            table.add_column(column, justify="right")
        d = result.defaults
        rows = [
            (d, "[bold]defaults[/]"),
            *((r, _mark(r, result.recommended is r)) for r in result.pareto),
        ]
        for r, mark in rows:
            table.add_row(
                _fmt(r["alpha"]),
                _fmt(r["beta"]),
                str(r["warmup"]),
                _fmt(r["k"], ".4f"),
                _fmt(r["emissions_saved_pct"], ".1f"),
                _fmt(r["val_metric_change_pct"]),
                _fmt(r["test_metric_change_pct"]),
                _fmt(r["epochs_saved"]),
                mark,
            )
        console.print(table)
        console.print(
            "metric % = change vs the full budget (positive = better); 'beats defaults': at least as good on both "
            "objectives and better on one; 'recommended': the knee of the front",
            soft_wrap=True,
        )
    else:
        table = Table(title="Pareto-optimal AN-GES configs (live trials)")
        for column in ("config", "mean kg CO2-eq", "mean val metric (oriented)", "mean test metric", "stop epoch"):
            table.add_column(column)
        rows = ([(result.defaults, " [bold](defaults)[/]")] if result.defaults else []) + [
            (r, "") for r in result.pareto
        ]
        for r, mark in rows:
            table.add_row(
                f"{r['label']}{mark}",
                _fmt(r["emissions_kg"], ".3e"),
                _fmt(r["val_metric_oriented"], ".4f"),
                _fmt(r["test_metric_mean"], ".4f"),
                _fmt(r["stop_epoch_mean"], ".1f"),
            )
        console.print(table)
