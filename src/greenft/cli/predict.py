"""``greenft predict`` and ``greenft evaluate``: use the model a run saved, and measure what using it costs.

``predict`` writes one output row per input row (an unreadable SMILES is kept, its predictions empty and its
reason in the ``error`` column) and prints CO2 and energy per 1,000 molecules, measured by the trainer's own
CodeCarbon settings. ``evaluate`` scores the model with the seed thesis' metrics on its own test split by default
(and says whether it reproduces the test metric the run logged), or on another dataset or a labelled file.

Everything a user can get wrong (a missing or corrupt model file, a missing data file or column, label columns
that do not match the model's tasks, an output that cannot be written) is found before any prediction where it
can be, and printed as one ``error:`` line with exit code 2; outputs are written atomically, never half.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.table import Table

from greenft.cli.app import USER_ERRORS, app, console, fail, progress_bar
from greenft.io import OutputError, atomic_write_json, ensure_writable_directory
from greenft.tracking.grid import grid_line

if TYPE_CHECKING:
    from greenft.inference.measure import Measured
    from greenft.models.saved import SavedModel

Device = Literal["auto", "cpu", "cuda"]
MODEL_HELP = "a greenft model file (a run's model_best.pt / model_stop.pt)"
MAX_LISTED_INVALID = 5
"""Invalid rows named on the terminal (all of them are in the output's ``error`` column and its JSON record)."""
METRIC_LABELS: dict[str, str] = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "accuracy": "acc",
    "precision_macro": "P macro",
    "recall_macro": "R macro",
    "f1_macro": "F1 macro",
    "mcc": "MCC",
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R2",
}
"""Short column heads, so the table fits an 80-column terminal (``--out`` JSON keeps the full names)."""


def _check_output(out: Path, option: str) -> None:
    """Refuse an --out that cannot be written before any work: a folder, or a place with no write access."""
    if out.is_dir():
        raise OutputError(f"{option} {out}: is a folder; expected a file name such as preds.csv")
    ensure_writable_directory(out.parent if str(out.parent) else Path("."), f"{option} folder")


def _load(model: Path, device: str) -> SavedModel:
    """The model on ``device`` (``auto``: CUDA when torch sees a GPU, as ``greenft train`` chooses)."""
    from greenft.models.saved import SavedModelError, load_saved_model

    if not model.exists():  # told before torch is imported; the loader says the same of a missing file
        raise SavedModelError(f"model file not found: {model}")
    saved = load_saved_model(model)
    from greenft.agents.trial import resolve_device

    return saved.to(resolve_device(device))


def _device_of(saved: SavedModel) -> str:
    return str(next(iter(saved.model.parameters())).device)


def _measured_lines(measured: Measured[Any], what: str) -> list[str]:
    return [
        f"{what}: {measured.seconds:.2f} s ({measured.molecules_per_second:,.0f} molecules/s), "
        f"{measured.emissions_kg:.3g} kg CO2-eq, {measured.energy_kwh:.3g} kWh",
        f"per 1,000 molecules: {measured.kg_co2_per_1000:.3g} kg CO2-eq, {measured.kwh_per_1000:.3g} kWh, "
        f"{measured.seconds_per_1000:.3g} s",
        f"emissions measured by {measured.power_method()}",
        *([f"grid {grid}"] if (grid := grid_line(measured.meter)) else []),
    ]


@app.command()
def predict(
    model: Annotated[Path, typer.Option("--model", help=MODEL_HELP)],
    data_file: Annotated[Path, typer.Option("--data-file", help="a CSV/TSV/SDF of molecules to predict")],
    out: Annotated[Path, typer.Option("--out", help="output table: the input columns, one per task, and 'error'")],
    smiles_column: Annotated[str, typer.Option("--smiles-column", help="the column holding SMILES")] = "smiles",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="molecules per forward pass")] = 256,
    device: Annotated[Device, typer.Option("--device", help="auto: CUDA when torch sees a GPU, else CPU")] = "auto",
) -> None:
    """Predict every molecule of a file with a saved model; print CO2 and kWh per 1,000 molecules."""
    from greenft.inference.predict import read_input, record_path

    try:
        _check_output(out, "--out")
        table = read_input(data_file, smiles_column)
        saved = _load(model, device)
    except USER_ERRORS as err:
        fail(err)
    from greenft.inference.measure import measure, tracking_of
    from greenft.inference.predict import prediction_frame, write_outputs

    header = saved.header
    smiles = table.smiles  # read as the trainer read its dataset: SavedModel.predict canonicalises each
    console.print(
        f"[bold]model[/] {header.family} for {header.dataset} ({header.task_type}, {header.num_tasks} task(s): "
        f"{', '.join(header.task_names)}), {header.which} epoch {header.epoch}, {header.parameters:,} parameters, "
        f"{saved.file_bytes:,} bytes, on {_device_of(saved)}",
        highlight=False,
        soft_wrap=True,
    )
    progress = progress_bar()
    with progress:
        task = progress.add_task("molecules", total=len(smiles))

        def advance(done: int) -> None:
            progress.update(task, completed=done)

        def work() -> Any:
            return saved.predict(smiles, batch_size=batch_size, on_batch=advance)

        try:
            measured = measure(work, len(smiles), tracking_of(header.training_config), header=header)
        except USER_ERRORS as err:
            fail(err)
    predictions = measured.result
    valid = len(smiles) - len(predictions.invalid)
    measured = replace(measured, molecules=valid)  # the cost per molecule actually predicted
    frame = prediction_frame(table, predictions, header.task_names, header.classes)
    try:
        written, _ = write_outputs(out, frame, saved, table, measured)
    except USER_ERRORS as err:
        fail(err)
    console.print(f"predicted {valid} of {len(smiles)} molecules; {len(predictions.invalid)} invalid", highlight=False)
    for row, why in list(predictions.invalid.items())[:MAX_LISTED_INVALID]:
        console.print(f"  row {row + 1}: {why}", markup=False, highlight=False, soft_wrap=True)
    if len(predictions.invalid) > MAX_LISTED_INVALID:
        console.print(f"  ... (+{len(predictions.invalid) - MAX_LISTED_INVALID} more, see the 'error' column)")
    for line in _measured_lines(measured, "prediction"):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(f"wrote {written} and {record_path(written).name}", markup=False, highlight=False, soft_wrap=True)


def _fmt(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.4f}"


@app.command()
def evaluate(
    model: Annotated[Path, typer.Option("--model", help=MODEL_HELP)],
    dataset: Annotated[
        str | None, typer.Option("--dataset", help="a built-in dataset (default: the model's own)")
    ] = None,
    split: Annotated[
        str, typer.Option("--split", help="train, val, test or all: a part of the run's split settings")
    ] = "test",
    data_file: Annotated[
        Path | None, typer.Option("--data-file", help="a labelled CSV/TSV/SDF, scored whole (instead of --dataset)")
    ] = None,
    smiles_column: Annotated[str, typer.Option("--smiles-column", help="with --data-file")] = "smiles",
    label_columns: Annotated[
        list[str] | None,
        typer.Option("--label-column", help="with --data-file: one per model task, in order (default: task names)"),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="molecules per forward pass")] = 256,
    device: Annotated[Device, typer.Option("--device", help="auto: CUDA when torch sees a GPU, else CPU")] = "auto",
    out: Annotated[Path | None, typer.Option("--out", help="write the metrics and emissions as JSON")] = None,
) -> None:
    """Score a saved model (ROC-AUC, PR-AUC, accuracy, macro P/R/F1, MCC; or RMSE, MAE, R2) and its emissions."""
    from greenft.inference.evaluate import EvaluationError, data_for

    try:
        if dataset is not None and data_file is not None:
            raise EvaluationError("give --dataset or --data-file, not both")
        if label_columns and data_file is None:
            raise EvaluationError("--label-column needs --data-file (a built-in dataset has its own label columns)")
        if out is not None:
            _check_output(out, "--out")
        saved = _load(model, device)
        data = data_for(saved.header, dataset, split, data_file, smiles_column, label_columns or ())
    except USER_ERRORS as err:
        fail(err)
    from greenft.inference.evaluate import evaluate_saved
    from greenft.inference.measure import measure, tracking_of

    header = saved.header
    progress = progress_bar()
    with progress:
        task = progress.add_task("molecules", total=len(data.smiles))

        def work() -> Any:
            return evaluate_saved(saved, data, batch_size, lambda done: progress.update(task, completed=done))

        try:
            measured = measure(work, len(data.smiles), tracking_of(header.training_config), header=header)
        except USER_ERRORS as err:
            fail(err)
    evaluation = measured.result
    console.print(
        f"[bold]model[/] {saved.path}: {header.family}, {header.which} epoch {header.epoch}, "
        f"{header.parameters:,} parameters, {saved.file_bytes:,} bytes, on {_device_of(saved)}",
        soft_wrap=True,
    )
    console.print(f"[bold]data[/] {data.description}", soft_wrap=True, highlight=False)
    table = Table(title=f"{header.task_type} metrics", title_justify="left")
    table.add_column("task")
    table.add_column("n", justify="right")
    for metric in evaluation.scores.metrics:
        table.add_column(METRIC_LABELS.get(metric, metric), justify="right")
    for name, values in evaluation.scores.per_task.items():
        n = str(evaluation.scores.labelled[name])
        table.add_row(name, n, *(_fmt(values[m]) for m in evaluation.scores.metrics))
    if len(evaluation.scores.per_task) > 1:
        table.add_row("mean", "", *(_fmt(evaluation.scores.mean[m]) for m in evaluation.scores.metrics), style="bold")
    console.print(table)
    for note in evaluation.scores.notes:
        console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    if evaluation.invalid:
        console.print(f"{len(evaluation.invalid)} molecule(s) could not be predicted and are left out", markup=False)
    check = _logged_check(header, data, evaluation.metric_value)
    console.print(f"dataset metric {header.metric} = {_fmt(evaluation.metric_value)}" + check["line"], highlight=False)
    for line in _measured_lines(measured, "evaluation"):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    if out is not None:
        from greenft.inference.predict import header_essentials

        payload = {
            "model": str(saved.path),
            "header": header_essentials(header),
            "file_bytes": saved.file_bytes,
            "device": _device_of(saved),
            "data": {
                "description": data.description,
                "dataset": data.dataset,
                "part": data.part,
                "molecules": len(data.smiles),
                "dropped_rows": data.dropped_rows,
            },
            **evaluation.as_dict(),
            "logged": {k: v for k, v in check.items() if k != "line"},
            "emissions": measured.emissions_dict(),
        }
        try:
            atomic_write_json(out, payload, indent=2, default=str)
        except USER_ERRORS as err:
            fail(err)
        console.print(f"wrote {out}", markup=False, highlight=False, soft_wrap=True)


REPRODUCE_RTOL = 1e-6
"""How close the recomputed metric must be to the logged one to be called reproduced (float32 forward passes in
another batch grouping differ in the last bits)."""


def _logged_check(header: Any, data: Any, value: float) -> dict[str, Any]:
    """On the model's own val/test part: the metric the run logged for this epoch and whether it is reproduced."""
    logged = {"test": header.test_metric, "val": header.val_metric}.get(data.part) if data.own_split else None
    if logged is None or math.isnan(logged) or math.isnan(value):
        return {"line": "", "logged_metric": None, "reproduced": None}
    same = math.isclose(value, logged, rel_tol=REPRODUCE_RTOL, abs_tol=1e-12)
    verdict = "reproduced" if same else f"DIFFERS by {abs(value - logged):.3g}"
    return {
        "line": f"; the run logged {data.part} {header.metric} = {logged:.6f} at epoch {header.epoch}: {verdict}",
        "logged_metric": logged,
        "reproduced": same,
    }


__all__ = ["evaluate", "predict"]
