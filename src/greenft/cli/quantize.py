"""``greenft quantize --model PATH``: a saved model at each numeric precision, measured on its own test split.

For float32, float16, bfloat16, dynamic int8 and static int8: file size, parameter count, the run's metric on
its test molecules, and seconds, kg CO2-eq and kWh per 1,000 molecules (CodeCarbon, one torch thread). Prints a
table and writes the rows as JSON (:mod:`greenft.schema.inference`), which the analysis report reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from greenft.cli.app import USER_ERRORS, app, console, fail
from greenft.schema.inference import PRECISION_TABLE_FILE, Precision, PrecisionRow
from greenft.tracking.grid import grid_line

if TYPE_CHECKING:
    from greenft.tracking import EmissionMeter

ALL_PRECISIONS = ",".join(p.value for p in Precision)


def _number(value: float | int | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _table(rows: list[PrecisionRow], title: str) -> Table:
    table = Table(title=title)
    for column in ("precision", "metric", "parameters", "file KB", "s / 1k mol", "kg CO2 / 1k mol", "kWh / 1k mol"):
        table.add_column(column, justify="left" if column == "precision" else "right")
    table.add_column("note")
    for row in rows:
        table.add_row(
            row.precision,
            _number(row.metric, ".4f"),
            _number(row.parameters, ","),
            _number(None if row.file_bytes is None else row.file_bytes / 1024, ".1f"),
            _number(row.seconds_per_1000, ".3f"),
            _number(row.kg_co2_per_1000, ".3e"),
            _number(row.kwh_per_1000, ".3e"),
            row.note if not row.supported else "",
        )
    return table


@app.command("quantize")
def quantize(
    model: Annotated[Path, typer.Option("--model", help="a saved greenft model file (a run's model_best.pt)")],
    precisions: Annotated[
        str, typer.Option("--precisions", help=f"comma-separated, from: {ALL_PRECISIONS}")
    ] = ALL_PRECISIONS,
    out: Annotated[Path, typer.Option("--out", help="the precision table (JSON list of rows)")] = Path(
        PRECISION_TABLE_FILE
    ),
    device: Annotated[str, typer.Option("--device", help="cpu or cuda (int8 rows: CPU only)")] = "cpu",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 256,
    repeats: Annotated[
        int, typer.Option("--repeats", min=1, help="passes over the test molecules per measurement (steadier energy)")
    ] = 1,
) -> None:
    """A saved model at float32 / float16 / bfloat16 / dynamic int8 / static int8: size, metric, time, CO2."""
    try:
        from greenft.inference.precision_names import parse_precisions

        chosen = parse_precisions(precisions)  # typos and a missing file are answered before torch is imported
        if device not in ("cpu", "cuda"):
            fail(f"--device {device!r}: expected cpu or cuda")
        if not model.exists():
            fail(f"model file not found: {model}")
        from greenft.agents.trial import resolve_device
        from greenft.inference.precision_table import precision_table
        from greenft.inference.quantize import meter_factory, precision_task
        from greenft.io import atomic_write_text
        from greenft.models.saved import load_saved_model
        from greenft.schema.inference import precision_rows_to_json

        torch_device = resolve_device(device)
        saved = load_saved_model(model)
        header = saved.header
        task = precision_task(saved, batch_size=batch_size, repeats=repeats, device=torch_device)
        meters = meter_factory(header)
        made: list[EmissionMeter] = []

        def meter() -> EmissionMeter:
            made.append(meters())
            return made[-1]

        console.print(
            f"{header.family} on {header.dataset} ({header.which} epoch {header.epoch}, logged test "
            f"{header.metric} {header.test_metric:.4f}): {len(task.test_smiles)} test molecules x {repeats}, "
            f"{torch_device.type}, 1 torch thread while measuring",
            markup=False,
            highlight=False,
        )
        rows = precision_table(
            saved.model,
            chosen,
            task,
            meter,
            on_row=lambda row: console.print(f"  {row.precision}: {'measured' if row.supported else 'unsupported'}"),
        )
        atomic_write_text(out, precision_rows_to_json(rows))
        describe = made[-1].describe() if made else {"note": "no precision was measured"}
    except USER_ERRORS as err:
        fail(err)
    console.print(_table(rows, f"{header.family} / {header.dataset}: precision trade-off ({header.metric})"))
    console.print(f"energy: {describe.get('note', '')}", markup=False, highlight=False)
    if (grid := grid_line(describe)) is not None:
        console.print(f"grid {grid}", markup=False, highlight=False)
    console.print(f"wrote {out}", markup=False, highlight=False)
