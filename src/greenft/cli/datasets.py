"""``greenft datasets``: the built-in datasets with their source and licence."""

from __future__ import annotations

import typer
from rich.table import Table

from greenft.cli.app import app, console
from greenft.data import BUILTIN_DATASETS, MissingDataPackageError
from greenft.data.sources import package_data_dir

datasets_app = typer.Typer(no_args_is_help=True, help="The built-in datasets.")
app.add_typer(datasets_app, name="datasets")


@datasets_app.command("list")
def datasets_list() -> None:
    """Name, task, metric, source and licence of every built-in dataset, and whether its package is installed."""
    table = Table(show_header=True)
    for column in ("name", "task", "metric", "installed", "source", "licence"):
        table.add_column(column)
    for spec in BUILTIN_DATASETS.values():
        try:
            package_data_dir(spec.package or "", spec.install_hint)
            installed = "yes"
        except MissingDataPackageError:
            installed = f"no: {spec.install_hint}"
        table.add_row(spec.name, spec.task_type.value, spec.metric.value, installed, spec.source, spec.licence)
    console.print(table)
