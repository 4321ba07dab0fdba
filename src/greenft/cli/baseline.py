"""``greenft baseline``: Morgan-fingerprint models and the prior on the data and split a ``greenft train`` run uses.

Why the same flags as ``greenft train`` (the data ones, the seed, threads and the meter): the baselines must see the
very molecules and split of the run they are compared with, so they are read through the same alias table and the
same merge (:mod:`greenft.agents.overrides`), never a second parser. A user error prints one line and exits 2.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from greenft.agents.config import TrialConfig, load_trial_config
from greenft.agents.overrides import Override, apply_overrides, overrides, parse_assignments, value_type
from greenft.agents.preflight import check_before_heavy_work
from greenft.cli.app import USER_ERRORS, app, console, fail
from greenft.io import atomic_write_text, ensure_writable_directory
from greenft.tracking.grid import grid_line

_PATHS = ("seed", "threads", "tracking.country_iso_code", "tracking.meter")
FLAGS: tuple[Override, ...] = tuple(
    row for row in overrides() if (row.path.startswith("data.") or row.path in _PATHS) and row.switch is None
)
"""The rows of ``greenft train``'s alias table that decide the data, the split and the measurement."""


def _keyword(name: str, kind: Any, option: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[kind, option])


def _flag(row: Override) -> inspect.Parameter:
    # --data-file is checked by the loader (one line naming the file and why), as in `greenft train`
    extra: dict[str, Any] = {"readable": False} if row.name in ("data_file", "split_file", "test_file") else {}
    return _keyword(row.name, value_type(row.path) | None, typer.Option(row.flag, help=row.help, **extra))


def _fmt(value: float) -> str:
    return "-" if value != value else f"{value:.4f}"  # NaN: a metric with no scorable task


def baseline(
    config_file: Path | None = None,
    assignments: list[str] | None = None,
    out: Path | None = None,
    **flags: Any,
) -> None:
    """Fingerprint random forest, ridge/logistic regression and the prior on train's data and split, with their CO2."""
    try:
        base = load_trial_config(config_file) if config_file else None
        values = {name: value for name, value in flags.items() if value is not None and value != []}
        values.update(parse_assignments(assignments or []))
        config = apply_overrides(base, values, str(config_file or "command line"))
        check_before_heavy_work(config)  # an unknown dataset or missing file told before the heavy imports
        if out is not None:  # before minutes of fitting, not after: an unwritable --out folder is told now
            ensure_writable_directory(out.parent, "folder of --out")
    except USER_ERRORS as err:
        fail(err)
    _run(config, out)


def _run(config: TrialConfig, out: Path | None) -> None:
    from greenft.agents.baselines import load_split, run_baselines
    from greenft.agents.threads import apply_threads, choose_threads

    try:
        apply_threads(choose_threads(config.threads))
        molecules, split = load_split(config)
        for line in molecules.warnings:
            console.print(f"warning: {line}", markup=False)
        report = run_baselines(config, molecules, split)
        if out is not None:
            atomic_write_text(out, report.model_dump_json(indent=2) + "\n")
    except USER_ERRORS as err:
        fail(err)
    m = report.metric
    sizes = "/".join(str(n) for n in report.sizes)
    table = Table(title=f"baselines: {report.dataset}, {report.split} split {sizes}, seed {report.seed}")
    for column in ("baseline", f"val {m}", f"test {m}", "fit kg CO2-eq", "fit kWh", "fit s", "predict kg CO2-eq"):
        table.add_column(column)
    for row in report.rows:
        table.add_row(
            row.baseline + (f" ({row.prior_tasks} task(s) by prior)" if row.prior_tasks else ""),
            _fmt(row.val_metric),
            _fmt(row.test_metric),
            f"{row.fit_emissions_kg:.3e}",
            f"{row.fit_energy_kwh:.3e}",
            f"{row.fit_duration_s:.2f}",
            f"{row.predict_emissions_kg:.3e}",
        )
    console.print(table)
    console.print(f"emissions: {report.meter.get('meter')}: {report.meter.get('note')}", markup=False, soft_wrap=True)
    if (grid := grid_line(report.meter)) is not None:
        console.print(f"grid: {grid}", markup=False, soft_wrap=True)
    if out is not None:
        console.print(f"rows written to {out}", markup=False, soft_wrap=True)


_SET_HELP = "any trial config field by its dotted path, the value read as YAML, e.g. data.limit=300 (repeat)"
baseline.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # Typer reads the options from here
    [
        _keyword("config_file", Path | None, typer.Option("--config", help="trial config YAML; flags override it")),
        *(_flag(row) for row in FLAGS),
        _keyword("assignments", list[str] | None, typer.Option("--set", metavar="PATH=VALUE", help=_SET_HELP)),
        _keyword("out", Path | None, typer.Option("--out", help="write the rows as JSON (greenft.schema.baseline)")),
    ]
)
app.command()(baseline)
