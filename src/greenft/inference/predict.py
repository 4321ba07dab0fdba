"""``greenft predict``'s work, apart from its display: read the user's table, predict every row, write the table
back with one column per task and an ``error`` column, and a JSON record of what the prediction cost.

Why the output keeps every input row in order: a user joins predictions back to their own table by position; a
row RDKit cannot read is kept with empty predictions and its reason, never dropped and never a crash. Why the
JSON beside the CSV (``<out>.json``): the analysis reads inference cost per 1,000 molecules from it (the
break-even point against the training emissions the model's header records) without parsing a table.
Both files are written atomically (:mod:`greenft.io`): a reader sees the old file or the whole new one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from greenft.data.tables import check_columns, check_file, read_table
from greenft.io import atomic_write_json, atomic_write_text

if TYPE_CHECKING:
    from greenft.inference.measure import Measured
    from greenft.models.saved import Predictions, SavedModel, SavedModelHeader

__all__ = [
    "ERROR_COLUMN",
    "InputTable",
    "header_essentials",
    "output_columns",
    "prediction_frame",
    "read_input",
    "record_path",
    "write_outputs",
]

ERROR_COLUMN = "error"
"""The output column naming why a row has no prediction (empty when it has one)."""
CLASS_PROBABILITY = "_prob_"
"""Between a multiclass task's name and a class name in that class's probability column (``label_prob_active``)."""
PREDICTED_SUFFIX = "_predicted"
"""Appended to a task's output column when the input already has a column of that name (a labelled file)."""


@dataclass(frozen=True)
class InputTable:
    """The user's table as read (every column as text) and its SMILES column."""

    path: Path
    frame: pd.DataFrame
    smiles_column: str

    @property
    def smiles(self) -> list[str]:
        return [str(value).strip() for value in self.frame[self.smiles_column].fillna("").tolist()]


def separator_for(path: Path) -> str:
    """Tabs for ``.tsv``/``.tab`` files, commas otherwise (as ``greenft train --data-file`` reads them)."""
    return "\t" if path.suffix.lower() in {".tsv", ".tab"} else ","


def read_input(path: Path, smiles_column: str) -> InputTable:
    """The table in ``path``; a missing, unreadable or malformed file or a missing SMILES column is one
    :class:`~greenft.data.tables.DatasetFileError` naming the file (and the columns it does have)."""
    path = Path(path)
    check_file(path)
    separator = separator_for(path)
    frame = read_table(path, separator)
    check_columns(path, frame, smiles_column, [], separator)
    return InputTable(path, frame, smiles_column)


def output_columns(task_names: Sequence[str], existing: Sequence[str]) -> tuple[list[str], str]:
    """The output column of each task (the task's name, ``<task>_predicted`` when the input has that column) and
    the error column (``error``, likewise)."""
    taken = set(existing)

    def free(name: str) -> str:
        chosen = name if name not in taken else name + PREDICTED_SUFFIX
        taken.add(chosen)
        return chosen

    return [free(task) for task in task_names], free(ERROR_COLUMN)


def class_columns(task: str, classes: Sequence[str]) -> list[str]:
    """A multiclass model's output columns: ``<task>_prob_<class>`` per class, then ``<task>`` (the predicted
    class, the most probable one)."""
    return [f"{task}{CLASS_PROBABILITY}{name}" for name in classes] + [task]


def prediction_frame(
    table: InputTable, predictions: Predictions, task_names: Sequence[str], classes: Sequence[str] | None = None
) -> pd.DataFrame:
    """The input columns, one column per task (NaN -> an empty cell) and the error column, rows in input order.

    A multiclass model (``classes``: its class names in output order) writes one probability column per class and
    the predicted class's name (empty for a molecule without a prediction)."""
    names = class_columns(task_names[0], classes) if classes else list(task_names)
    columns, error_column = output_columns(names, [str(c) for c in table.frame.columns])
    out = table.frame.copy()
    for index, column in enumerate(columns[: predictions.values.shape[1]]):
        out[column] = predictions.values[:, index]
    if classes:
        valid = ~np.isnan(predictions.values).any(axis=1)
        chosen = np.nanargmax(np.where(valid[:, None], predictions.values, 0.0), axis=1)
        out[columns[-1]] = [classes[i] if ok else "" for i, ok in zip(chosen, valid, strict=True)]
    out[error_column] = [predictions.invalid.get(row, "") for row in range(len(out))]
    return out


def header_essentials(header: SavedModelHeader) -> dict[str, Any]:
    """What the prediction record says about the model: what it is, where it came from, what training cost."""
    return {
        "family": header.family,
        "dataset": header.dataset,
        "task_type": header.task_type,
        "task_names": list(header.task_names),
        "classes": header.classes,
        "metric": header.metric,
        "which": header.which,
        "epoch": header.epoch,
        "val_metric": header.val_metric,
        "test_metric": header.test_metric,
        "parameters": header.parameters,
        "training_emissions_kg": header.emissions_kg,
        "training_energy_kwh": header.energy_kwh,
        "run_id": header.run_id,
        "run_path": header.run_path,
        "greenft_version": header.greenft_version,
    }


def record_path(out: Path) -> Path:
    """The JSON record beside an output table: ``preds.csv`` -> ``preds.csv.json``."""
    return out.with_name(out.name + ".json")


def write_outputs(
    out: Path,
    frame: pd.DataFrame,
    saved: SavedModel,
    table: InputTable,
    measured: Measured[Predictions],
) -> tuple[Path, Path]:
    """Write the table (CSV, or TSV for a ``.tsv`` name) and its JSON record, each atomically."""
    text = frame.to_csv(index=False, sep=separator_for(out))
    invalid = measured.result.invalid
    record = {
        "model": str(saved.path),
        "header": header_essentials(saved.header),
        "file_bytes": saved.file_bytes,
        "device": str(next(iter(saved.model.parameters())).device),
        "input": str(table.path),
        "smiles_column": table.smiles_column,
        "output": str(out),
        "rows": len(frame),
        "predicted": len(frame) - len(invalid),
        "invalid": len(invalid),
        "invalid_rows": {str(row + 1): why for row, why in invalid.items()},  # 1-based data rows, as the loader
        "emissions": measured.emissions_dict(),
    }
    atomic_write_text(out, text)
    json_path = atomic_write_json(record_path(out), record, indent=2, default=str)
    return out, json_path
