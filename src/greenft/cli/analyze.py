"""``greenft analyze``: runs (offline directories or a W&B project) -> trade-off report folder.

Reading shows a progress bar (it is the slow part on a large W&B project; re-runs hit the local cache). A
source that cannot be read (W&B unreachable, no runs in the directory), a malformed ``--rule`` or a bad
``--precision-table`` file (named, with the entry at fault) prints one line and exits with code 2, like every
greenft user error; rules and precision tables are checked before a single run is read.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from greenft.cli.app import USER_ERRORS, app, console, fail, warn
from greenft.cli.reading import read_with_progress
from greenft.errors import UserError
from greenft.io import OutputError, ensure_writable_directory

if TYPE_CHECKING:
    from greenft.analysis.compute import Analysis


@app.command()
def analyze(
    source: Annotated[
        str, typer.Option(help="runs directory (W&B offline run dirs) or wandb:ENTITY/PROJECT[/SWEEP_ID]")
    ],
    out: Annotated[Path, typer.Option(help="report folder (created)")] = Path("report"),
    rule: Annotated[
        list[str] | None,
        typer.Option(
            "--rule",
            help="headline rule(s) to replay, e.g. anges, 'anges:alpha=0.5,beta=0.1', patience:patience=3, "
            "anges_a0.9_b0.2_w3 (repeat; default: AN-GES 0.9/0.2/W3, patience 5 and every rule the runs logged)",
        ),
    ] = None,
    grid: Annotated[
        bool, typer.Option("--grid/--no-grid", help="also replay a grid of AN-GES and patience configs")
    ] = True,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="only runs with this W&B tag (repeat)")] = None,
    cache_dir: Annotated[Path | None, typer.Option(help="run cache (default $GREENFT_CACHE_DIR/analysis)")] = None,
    cache: Annotated[bool, typer.Option("--cache/--no-cache", help="reuse runs read before")] = True,
    png: Annotated[bool, typer.Option("--png/--no-png", help="matplotlib figures")] = True,
    html: Annotated[bool, typer.Option("--html/--no-html", help="interactive plotly page")] = True,
    max_curves: Annotated[int, typer.Option(min=1, help="runs drawn per dataset in per-epoch figures")] = 12,
    precision_table: Annotated[
        list[Path] | None,
        typer.Option(
            "--precision-table",
            metavar="FILE",
            help="a precision table (JSON rows written by greenft quantize) for the report's precision trade-off "
            "table (repeat to join several)",
        ),
    ] = None,
    baseline: Annotated[
        list[Path] | None,
        typer.Option(
            "--baseline",
            metavar="FILE",
            help="a greenft baseline --out report: its cheap baselines go beside the runs of the same dataset and "
            "split (repeat, e.g. one per seed)",
        ),
    ] = None,
    wandb_log: Annotated[
        bool | None,
        typer.Option(
            "--wandb/--no-wandb",
            help="log the analysis to W&B in a run of its own (job_type analysis): trade-off Table, Pareto chart, "
            "report Artifact. Default: on for wandb: sources (a W&B failure is then a warning), off for a runs "
            "directory (with --wandb: an offline run in OUT/wandb; a failure is an error); WANDB_MODE=disabled: off",
        ),
    ] = None,
    write_back: Annotated[
        bool,
        typer.Option(
            "--write-back",
            help="wandb: sources only: also add each replayed rule's stop epoch, CO2 saved and quality change to "
            "every source run's W&B summary (analysis/<rule>/...; rewrites those runs' summaries on the server)",
        ),
    ] = False,
    wandb_report: Annotated[
        bool,
        typer.Option(
            "--wandb-report",
            help="online only: also save a W&B Report (parallel coordinates and scatter of the green/* summary "
            "keys, a link to the analysis run); needs greenft[workspaces]",
        ),
    ] = False,
) -> None:
    """Trade-off report: CO2 saved vs metric per rule, Pareto fronts, replay checks, importance, plots, CO2 per
    phase (training, evaluation, inference per 1,000 molecules), break-even molecules, precision trade-off."""
    from greenft.analysis.baseline_files import read_baseline_reports
    from greenft.analysis.precision_files import read_precision_tables
    from greenft.analysis.replay import parse_rule
    from greenft.analysis.report import analyze as run_analysis
    from greenft.analysis.report import write_report
    from greenft.analysis.tradeoff import BEST_VAL

    start = time.perf_counter()
    try:
        rules = [parse_rule(r) for r in rule] if rule else None
        precision_rows = read_precision_tables(precision_table or [])  # a bad file: named before any run is read
        baseline_reports = read_baseline_reports(baseline or [])
        ensure_writable_directory(out, "report folder (--out)")  # before reading a single run
        if write_back and not source.startswith("wandb:"):
            raise UserError(
                f"--write-back: adds numbers to the source runs' W&B summaries, so it needs a "
                f"wandb:ENTITY/PROJECT[/SWEEP_ID] --source, got {source!r}"
            )
    except (
        USER_ERRORS
    ) as err:  # a malformed --rule, --precision-table or --baseline, or a folder that cannot be written
        fail(err)
    records = read_with_progress(source, tag, cache_dir, cache)
    read_s = time.perf_counter() - start
    try:
        with console.status("replaying rules and writing the report"):
            analysis = run_analysis(
                records,
                rules,
                grid=None if grid else [],
                source=source,
                precision_rows=precision_rows,
                baseline_reports=baseline_reports,
            )
            files = write_report(analysis, out, png=png, html=html, max_curves=max_curves)
    except OutputError as err:  # the disk filled while writing: the files written before are whole
        fail(err)
    matched = analysis.replay_matched
    console.print(
        f"read {len(records)} runs in {read_s:.1f} s; {len(analysis.curves)} complete curves analysed, "
        f"{len(analysis.skipped)} skipped; replay reproduced {matched}/{len(analysis.replay_checks)} logged stops"
    )
    for row in sorted(analysis.summary, key=lambda r: (str(r.key["dataset"]), r.kind, r.strategy)):
        if row.kind == "budget":
            continue
        console.print(
            f"  {row.key['model']} / {row.key['dataset']:<12} {row.strategy:<24} saved "
            f"{row.emissions_saved_pct.text()} %  test vs {BEST_VAL} {row.test_vs_best_val_pct.text(2)} % "
            f"(within 1 %: {row.within_text()})  stop-epoch weights vs last epoch {row.metric_change_pct.text(2)} %  "
            f"({row.n_runs} runs)",
            soft_wrap=True,
        )
    print_inference_summary(analysis)
    if source.startswith("wandb:") if wandb_log is None else wandb_log:
        log_to_wandb(analysis, out, source, tag or [], report=wandb_report, explicit=wandb_log is not None)
    if write_back:
        write_back_to_source_runs(analysis, source, tag or [])
    for (model, dataset), params in analysis.training.parameters.items():  # a training sweep
        console.print(
            f"  training    {model} / {dataset:<12} {len(analysis.training.runs[(model, dataset)])} runs differ in "
            f"{', '.join(p.name for p in params)}: report.md 'Training parameters', training_params.csv",
            soft_wrap=True,
            markup=False,
        )
    console.print(
        f"[bold]report[/] {files.markdown}  ({len(files.tables)} tables, {len(files.pngs)} PNGs"
        + (f", {files.html.name}" if files.html else "")
        + f") in {time.perf_counter() - start:.1f} s",
        soft_wrap=True,
    )


def log_to_wandb(
    analysis: Analysis, out: Path, source: str, tags: list[str], *, report: bool = False, explicit: bool = True
) -> None:
    """The analysis run (greenft.analysis.wandb_export). The report folder is written before; a W&B failure is one
    ``error:`` line (exit 2) when the user asked for W&B (``explicit``: ``--wandb``), else one ``warning:`` line
    and exit 0: the default for a ``wandb:`` source must not turn a read-only user's report into a failure."""
    import wandb

    from greenft.analysis.reader import parse_source
    from greenft.analysis.wandb_export import export_analysis, export_target

    parsed = parse_source(source, tags)
    target = export_target(parsed, (r.project for r in analysis.records), out)
    if target is None:
        console.print("W&B: WANDB_MODE=disabled, the analysis is not logged", markup=False)
        return
    try:
        with console.status("logging the analysis to W&B"):
            done = export_analysis(analysis, out, target)
    except (wandb.errors.Error, OSError, ValueError) as err:
        message = f"logging the analysis to W&B failed ({err}); the report folder {out} is complete"
        if explicit:
            fail(message)
        warn(f"{message} (on by default for wandb: sources; --no-wandb skips it)")
        return
    where = done.url or f"{done.run_dir} (offline: wandb sync {done.run_dir})"
    console.print(f"W&B analysis run {done.run_id}: {where}, artifact {done.artifact}", markup=False, soft_wrap=True)
    if report and target.mode != "online":
        warn("--wandb-report needs W&B online (a Report lives on the server): not made")
    elif report and done.entity and done.project:
        from greenft.analysis.wandb_report import build_report, save_report

        try:
            url = save_report(build_report(done.entity, done.project, source, done.url))
        except USER_ERRORS as err:  # wandb-workspaces not installed
            fail(err)
        except Exception as err:  # wandb-workspaces raises bare Exception (e.g. not logged in)
            fail(f"saving the W&B Report failed ({err}); the analysis run {done.run_id} is logged")
        console.print(f"W&B Report: {url}", markup=False)


def write_back_to_source_runs(analysis: Analysis, source: str, tags: list[str], api: Any = None) -> None:
    """``--write-back``: each source run's replayed numbers into its W&B summary (opt-in: it rewrites other people's
    runs). Asked for, so a failure is one ``error:`` line, exit 2; ``wandb.Api().run`` raises ``ValueError`` for a
    deleted run. ``api``: the ``wandb.Api`` to use (default: a new one)."""
    import wandb

    from greenft.analysis.reader import parse_source
    from greenft.analysis.wandb_export import write_back, write_back_values

    try:
        with console.status("adding the trade-off numbers to the source runs' W&B summaries"):
            updated = write_back(parse_source(source, tags), write_back_values(analysis.comparisons), api=api)
    except (wandb.errors.Error, OSError, ValueError) as err:
        fail(f"--write-back: updating the source runs' W&B summaries failed ({err}); the report folder is complete")
    console.print(f"W&B: trade-off numbers added to the summaries of {updated} source runs", markup=False)


def print_inference_summary(analysis: Analysis) -> None:
    """The life-cycle tables in a few lines: per-phase kg, break-even molecules, precision rows (report.md has all)."""
    from greenft.analysis.inference_markdown import count_text, sci, spread_text
    from greenft.analysis.inference_tables import PER_MOLECULES

    per = f"{PER_MOLECULES:,} molecules"
    for p in analysis.phases:
        full = f" (full budget {spread_text(p.figure('train_kg_full'))} kg)" if p.n_full else ""
        console.print(
            f"  per phase   {p.model} / {p.dataset:<12} training {spread_text(p.figure('train_kg_stop'))} kg at the "
            f"stop{full}, evaluation {spread_text(p.figure('eval_kg_stop'))} kg, inference "
            f"{spread_text(p.figure('inference_kg_per_1000'))} kg per {per} ({p.n_runs} runs)",
            soft_wrap=True,
            markup=False,
        )
    for b in analysis.break_even:
        even = f"{count_text(b.molecules)} molecules predicted" if b.molecules is not None else f"n/a ({b.note})"
        console.print(
            f"  break-even  {b.model} / {b.dataset:<12} {b.strategy} ({b.source}): saved "
            f"{spread_text(b.saved_kg)} kg, break-even {even}",
            soft_wrap=True,
            markup=False,
        )
    for t in analysis.precision:
        r = t.row
        if not r.supported:
            what = f"not supported: {r.note}" if r.note else "not supported"
        else:
            change = f"{t.metric_change_pct:+.2f} %" if math.isfinite(t.metric_change_pct) else "-"
            metric = "-" if r.metric is None else f"{r.metric_name} {r.metric:.4f}"
            size = f"{t.size_ratio:.2f}x" if math.isfinite(t.size_ratio) else "-"
            what = (
                f"{metric} ({change} vs float32), size {size}, {sci(r.seconds_per_1000)} s and "
                f"{sci(r.kg_co2_per_1000)} kg per {per}"
            )
        console.print(
            f"  precision   {r.family} / {r.dataset} / {r.device} {r.precision}: {what}", soft_wrap=True, markup=False
        )
