"""``greenft tune``: Optuna search over the stopping rules (exact AN-GES, AN-GES-pp, patience, patience-pp) and
their parameters, scored by replay on logged curves or, with ``--live``, by real training runs; with
``--leave-datasets-out``, each dataset is scored by a config tuned on the others.

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

from greenft.analysis.optuna_storage import DASHBOARD_INSTALL
from greenft.analysis.search_space import DEFAULT_RULES, TUNABLE_RULES, SearchSpace
from greenft.analysis.tuning import DEFAULT_MAX_LOSS, DEFAULT_STUDY, TuneResult
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


def _rules(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in TUNABLE_RULES]
    if not names or unknown:
        fail(f"--rules {text!r}: expected a comma-separated list of {', '.join(TUNABLE_RULES)} (anges always)")
    return names


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
        typer.Option(
            "--source",
            "--runs",
            help="runs with complete curves (shadow runs): a directory or wandb:ENTITY/PROJECT[/SWEEP]",
        ),
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
    rules: Annotated[
        str, typer.Option(help="rules searched, comma-separated (the exact anges is always one of them)")
    ] = ",".join(DEFAULT_RULES),
    alpha_range: Annotated[str, typer.Option(help="alpha LOW,HIGH (anges and anges-pp)")] = "0,1",
    beta_range: Annotated[str, typer.Option(help="beta LOW,HIGH (anges and anges-pp)")] = "0,1",
    warmup_range: Annotated[
        str | None, typer.Option(help="W LOW,HIGH (integers; default 2,max(3,budget//3) of the curves' budget)")
    ] = None,
    patience_range: Annotated[
        str | None, typer.Option(help="patience LOW,HIGH (integers; default 1,max(5,budget//3))")
    ] = None,
    max_loss: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="constrained pick: the Pareto config saving the most CO2 whose median quality loss vs best-val "
            "(hindsight) is at most this many percent",
        ),
    ] = DEFAULT_MAX_LOSS,
    leave_datasets_out: Annotated[
        bool,
        typer.Option(
            "--leave-datasets-out",
            help="also score each dataset by a config tuned on the other datasets (held_out.json, held_out.md)",
        ),
    ] = False,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="only runs with this W&B tag (repeat)")] = None,
    cache_dir: Annotated[Path | None, typer.Option(help="run cache (default $GREENFT_CACHE_DIR/analysis)")] = None,
    live: Annotated[bool, typer.Option("--live", help="score trials by real training runs instead of replay")] = False,
    config: Annotated[Path | None, typer.Option("--config", help="--live: base trial config YAML")] = None,
    seeds: Annotated[str, typer.Option(help="--live: comma-separated seeds trained per trial")] = "0",
) -> None:
    """Multi-objective stopping-rule tuning (minimise CO2, keep the deployed weights' quality); writes the picks."""
    from greenft.agents.run_log import check_wandb_environment
    from greenft.analysis.held_out import leave_datasets_out as run_held_out
    from greenft.analysis.held_out import write_held_out
    from greenft.analysis.tuning import check_storage, new_seed, tune_by_replay, write_tuning_outputs

    a_low, a_high = _range(alpha_range, "alpha-range")
    b_low, b_high = _range(beta_range, "beta-range")
    warmup = None if warmup_range is None else _range(warmup_range, "warmup-range", integer=True)
    patience = None if patience_range is None else _range(patience_range, "patience-range", integer=True)
    if not (a_low >= 0.0 and a_high <= 1.0 and b_low >= 0.0 and (warmup is None or warmup[0] >= 0)):
        fail("search ranges: alpha within [0, 1], beta >= 0, W >= 0")
    if patience is not None and patience[0] < 1:
        fail(f"--patience-range {patience_range!r}: patience must be at least 1")
    if leave_datasets_out and live:
        fail("--leave-datasets-out: replays logged curves; it cannot be combined with --live")
    space = SearchSpace(
        (a_low, a_high),
        (b_low, b_high),
        None if warmup is None else (int(warmup[0]), int(warmup[1])),
        rules=_rules(rules),
        patience=None if patience is None else (int(patience[0]), int(patience[1])),
    )
    seed = new_seed() if seed is None else seed  # drawn here so the held-out folds derive theirs from it
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
            if leave_datasets_out and len(datasets) < 2:  # before any trial, not after the main study
                fail(
                    f"--leave-datasets-out: curves of {len(datasets)} dataset(s) ({', '.join(datasets)}); expected "
                    "at least 2 (each dataset is scored by a config tuned on the others)"
                )
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
                    max_loss=max_loss,
                    progress=lambda done, total: progress.update(task, completed=done),
                )
                if leave_datasets_out:
                    folds = progress.add_task("leave-datasets-out folds", total=trials * len(datasets))
                    done_before: dict[str, int] = {}

                    def fold_progress(dataset: str, done: int, total: int) -> None:
                        done_before[dataset] = done
                        progress.update(folds, completed=sum(done_before.values()))

                    result.held_out = run_held_out(
                        curves,
                        out,
                        n_trials=trials,
                        study_name=study_name or DEFAULT_STUDY,
                        sampler=sampler,
                        seed=seed,
                        space=space,
                        metric_split=metric_split,
                        max_loss=max_loss,
                        progress=fold_progress,
                    )
        # staged: a full disk leaves each output file of an earlier call whole, never half a YAML
        files = write_files_into(
            out,
            lambda staging: (
                write_tuning_outputs(result, staging, datasets=datasets, seeds=seed_list)
                + ([] if result.held_out is None else write_held_out(result.held_out, staging))
            ),
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
        f"proposals replaced by fresh configs ({result.claimed_elsewhere} of them claimed first by another worker); "
        "this worker's sampler seed "
        f"{result.seed} (--seed {result.seed} repeats its proposals)",
        soft_wrap=True,
        markup=False,
    )
    if result.dashboard is not None:  # an in-memory study is gone: nothing to browse
        console.print(
            f"browse the study: {result.dashboard}  ({DASHBOARD_INSTALL}"
            + ("; the password is masked here" if "***" in result.dashboard else "")
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


def _mark(row: dict[str, object], result: TuneResult) -> str:
    marks = [_fmt(row["dominates_defaults"])]
    if result.recommended is row:
        marks.append("[green]knee[/]")
    if result.constrained is row:
        marks.append(f"[green]max-loss {result.max_loss:g} pick[/]")
    return ", ".join(marks)


def _print_result(result: TuneResult) -> None:
    if result.mode == "replay":
        _print_replay(result)
        return
    table = Table(title="Pareto-optimal configs (live trials)")
    for column in ("config", "mean kg CO2-eq", "mean val metric (oriented)", "mean test metric", "stop epoch"):
        table.add_column(column)
    rows = ([(result.defaults, " [bold](defaults)[/]")] if result.defaults else []) + [(r, "") for r in result.pareto]
    for r, mark in rows:
        table.add_row(
            f"{r['label']}{mark}",
            _fmt(r["emissions_kg"], ".3e"),
            _fmt(r["val_metric_oriented"], ".4f"),
            _fmt(r["test_metric_mean"], ".4f"),
            _fmt(r["stop_epoch_mean"], ".1f"),
        )
    console.print(table)


def _print_replay(result: TuneResult) -> None:
    split = result.metric_split
    table = Table(
        title=f"Pareto-optimal stopping configs ({', '.join(result.rules)}; budget {result.budget} epochs) vs the "
        "exact AN-GES defaults"
    )
    for column in (
        "config",
        "CO2 saved %",
        f"{split} vs best-val %",
        "test vs best-val %",
        "within 1 %",
        "beats defaults",
    ):
        table.add_column(column, justify="right")
    d = result.defaults
    rows = [(d, "[bold]defaults[/]"), *((r, _mark(r, result)) for r in result.pareto)]
    for r, mark in rows:
        table.add_row(
            str(r["label"]),
            _fmt(r["co2_saved_median_pct"], ".1f"),
            _fmt(r["quality_change_median_pct"]),
            _fmt(r["test_vs_best_val_median_pct"]),
            str(r["within_1pct"]),
            mark,
        )
    console.print(table, soft_wrap=True)
    console.print(
        f"medians over the curves; quality = the deployed (best-so-far) weights vs the full run's best-val "
        f"(hindsight) checkpoint, positive = better; the objective uses the {split} metric. 'beats defaults': at "
        "least as good on both objectives and better on one",
        soft_wrap=True,
    )
    if result.constrained is None:
        console.print(f"[yellow]constrained pick: none[/]: {result.constrained_note}", soft_wrap=True)
    if result.held_out is not None:
        header, rows_ = result.held_out.table()
        held = Table(title="Held-out datasets: each scored by a config tuned on the others (test metric)")
        for column in header:
            held.add_column(column, justify="right")
        for row in rows_:
            held.add_row(*(_fmt(v) if isinstance(v, float) else str(v).replace("**", "") for v in row))
        console.print(held, soft_wrap=True)
