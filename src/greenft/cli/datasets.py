"""``greenft datasets``: the built-in datasets with their source and licence, and a close look at one of them.

Every listing shows where each dataset comes from and under which terms: the MoleculeNet sets are read from
the optional ``molalkit`` package, whose own licence is restrictive (GPLv2 for non-commercial academic use,
else commercial) although the data are public, so users see that before they use it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import BaseModel, Field
from rich.markup import escape
from rich.table import Table

from greenft.cli.app import USER_ERRORS, app, command_group, console, fail, warn
from greenft.cli.listing import ListFormat, print_rows
from greenft.data.registry import BUILTIN_DATASETS, DatasetSpec, Metric, SplitKind, TaskType, get_dataset_spec
from greenft.data.sources import MissingDataPackageError
from greenft.io import OutputError

if TYPE_CHECKING:
    from greenft.data.describe import DatasetSummary

datasets_app = command_group("The built-in datasets.")
app.add_typer(datasets_app, name="datasets")


class DatasetListing(BaseModel):
    """One row of ``datasets list``: what ``--format csv|json`` writes and the table shows."""

    name: str
    molecules: int | None = Field(description="data rows in the file(s); None when its package is not installed")
    tasks: int
    task: str
    metric: str
    package: str | None
    installed: bool
    install: str = Field(description="the optional extra that holds the file, or how to install its package")
    source: str
    licence: str


def _listing(spec: DatasetSpec) -> DatasetListing:
    """A cheap row count, or how to install the package that holds the file."""
    from greenft.data.loading import count_rows  # pandas, RDKit: only once the command runs
    from greenft.data.tables import DatasetFileError

    cache_error = None
    try:
        rows: int | None = count_rows(spec)
    except (MissingDataPackageError, DatasetFileError):
        rows = None
    except OutputError:  # a generated set's table cannot be written: the other sets are still listed
        rows, cache_error = None, "generated on first use: the cache cannot be written (set GREENFT_CACHE_DIR)"
    if cache_error is not None:
        install = cache_error
    elif rows is None:
        install = spec.install_hint
    else:
        install = f"optional extra greenft[{spec.optional_extra}]" if spec.optional_extra else ""
    return DatasetListing(
        name=spec.name,
        molecules=rows,
        tasks=len(spec.target_columns),
        task=spec.task_type.value,
        metric=spec.metric.value,
        package=spec.package,
        installed=rows is not None,
        install=install,
        source=spec.source,
        licence=spec.licence,
    )


def _table(rows: list[DatasetListing]) -> Table:
    """Names and counts are never broken (``| grep clintox`` finds its line at any width); the text cells fold."""
    table = Table(show_header=True, caption="molecules: data rows in the file(s); `datasets show NAME` validates them")
    for column in ("name", "molecules"):
        table.add_column(column, no_wrap=True)
    for column in ("tasks", "task", "metric", "package", "installed", "source", "licence"):
        table.add_column(column, overflow="fold")
    for row in rows:
        note = f" ({row.install})" if row.install else ""
        installed = f"yes{note}" if row.installed else f"no: {row.install}"
        table.add_row(
            row.name,
            "-" if row.molecules is None else f"{row.molecules:,}",
            str(row.tasks),
            row.task,
            row.metric,
            row.package or "-",
            escape(installed),
            escape(row.source),
            escape(row.licence),
        )
    return table


@datasets_app.command("list")
def datasets_list(
    fmt: Annotated[
        ListFormat, typer.Option("--format", help="table for people; csv or json (plain, one row each) for scripts")
    ] = ListFormat.table,
) -> None:
    """Name, molecules, tasks, task type, metric, source package, licence and whether its package is installed."""
    rows = [_listing(spec) for spec in BUILTIN_DATASETS.values()]
    print_rows(rows, fmt, _table(rows), console)


def _fmt(value: float | None, spec: str = ".3g") -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


@datasets_app.command("show")
def datasets_show(
    name: Annotated[str | None, typer.Argument(help="a built-in dataset (greenft datasets list)")] = None,
    data_file: Annotated[
        Path | None, typer.Option(help="your own CSV/TSV/SDF instead of a built-in set", readable=False)
    ] = None,  # readable=False: the loader names an unreadable file in one line (Click printed a usage screen)
    smiles_column: Annotated[str | None, typer.Option(help="SMILES column of --data-file")] = None,
    target_column: Annotated[list[str] | None, typer.Option(help="target column(s) of --data-file (repeat)")] = None,
    task_type: Annotated[TaskType | None, typer.Option(help="inferred from the labels when omitted")] = None,
    metric: Annotated[Metric | None, typer.Option(help="roc_auc for classification, rmse/mae for regression")] = None,
    seed: Annotated[int, typer.Option(help="seed of the random_scaffold and random splits")] = 0,
    max_rows: Annotated[int, typer.Option(help="dropped rows to list")] = 10,
) -> None:
    """Invalid SMILES, label balance or value range, scaffold count and split sizes of one dataset."""
    try:
        if data_file is None and name is not None:
            get_dataset_spec(name)  # an unknown name is told before pandas and RDKit are imported
        from greenft.data.loading import load_molecules, resolve_paths, user_dataset_spec
        from greenft.data.tables import DatasetFileError

        if data_file is not None:
            if smiles_column is None or not target_column:
                raise DatasetFileError(f"{data_file}: give --smiles-column and at least one --target-column")
            spec = user_dataset_spec(data_file, smiles_column, target_column, task_type, metric)
        elif name is not None:
            spec = get_dataset_spec(name)
        else:
            raise DatasetFileError("give a dataset NAME (greenft datasets list) or --data-file")
        from greenft.data.describe import summarise_dataset

        molecules = load_molecules(spec)
        summary = summarise_dataset(molecules, [str(p) for p in resolve_paths(spec)], seed=seed)
        generated = _generated_note(molecules.path) if spec.generator is not None else None
    except USER_ERRORS as err:
        fail(err)
    _print_summary(summary, max_rows, generated)
    if spec.target_units:  # qm9: energies converted from Hartree (greenft.data.qm9)
        units = ", ".join(f"{t} {spec.target_units.get(t, '?')}" for t in spec.target_columns)
        console.print(f"[bold]units[/] {escape(units)}", soft_wrap=True)


def _generated_note(table: Path) -> str:
    """Where a generated table came from, from the provenance JSON beside it (greenft.data.descriptors)."""
    from greenft.data.descriptors import provenance_of

    p = provenance_of(table)
    return (
        f"from {p['source_file']} (sha256 {p['source_sha256'][:12]}), {p['molecules']:,} molecules, "
        f"sample seed {p['sample_seed']}, RDKit {p['rdkit_version']}; provenance {table.with_suffix('.json')}"
    )


def _print_summary(s: DatasetSummary, max_rows: int, generated: str | None = None) -> None:
    console.print(f"[bold]{escape(s.name)}[/]: {s.task_type}, metric {s.metric}, {len(s.tasks)} task(s)")
    console.print(f"[bold]source[/] {escape(s.source)} — licence: {escape(s.licence)}", soft_wrap=True)
    for path in s.paths:
        console.print(f"[bold]file[/] {escape(path)}", soft_wrap=True)
    if generated is not None:
        console.print(f"[bold]generated[/] {escape(generated)}", soft_wrap=True)
    reasons = ", ".join(f"{count} {why}" for why, count in s.dropped_by_reason.items()) or "none"
    console.print(f"[bold]rows[/] {s.rows:,}; valid molecules {s.molecules:,}; dropped {len(s.dropped)} ({reasons})")
    for row in s.dropped[:max_rows]:
        console.print(f"  row {row.row}: {escape(repr(row.smiles))} — {row.why}", soft_wrap=True)
    if len(s.dropped) > max_rows:
        console.print(f"  ... and {len(s.dropped) - max_rows} more")
    for line in s.warnings:
        warn(line)
    tasks = Table(title="labels", show_header=True, title_justify="left")
    if s.task_type == TaskType.CLASSIFICATION.value:
        for column in ("task", "labelled", "missing", "positives", "negatives", "positive rate"):
            tasks.add_column(column)
        for t in s.tasks:
            rate = (t.positives or 0) / t.labelled if t.labelled else float("nan")
            tasks.add_row(
                escape(t.name), str(t.labelled), str(t.missing), str(t.positives), str(t.negatives), _fmt(rate)
            )
    else:
        for column in ("task", "labelled", "missing", "min", "max", "mean", "sd"):
            tasks.add_column(column)
        for t in s.tasks:
            tasks.add_row(
                escape(t.name),
                str(t.labelled),
                str(t.missing),
                _fmt(t.minimum),
                _fmt(t.maximum),
                _fmt(t.mean),
                _fmt(t.std),
            )
    console.print(tasks)
    console.print(
        f"[bold]scaffolds[/] {s.scaffolds:,} Bemis-Murcko scaffolds; largest set {s.largest_scaffold_set:,} "
        f"molecules; {s.acyclic:,} acyclic (empty scaffold)"
    )
    splits = Table(title="splits (80/10/10)", show_header=True, title_justify="left")
    for column in ("split", "train", "val", "test", "scorable tasks (train/val/test)", "positive rate"):
        splits.add_column(column)
    for sp in s.splits:
        label = sp.kind if sp.kind == SplitKind.SCAFFOLD.value else f"{sp.kind} (seed {sp.seed})"
        rates = "/".join(_fmt(r, ".2f") for r in sp.positive_rate) if sp.positive_rate else "-"
        splits.add_row(label, *(str(n) for n in sp.sizes), "/".join(str(n) for n in sp.scorable_tasks), rates)
    console.print(splits)
