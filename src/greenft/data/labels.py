"""Label columns read as numbers a model can learn from, or refused with the rows that are not.

What is refused, and why at load time: a label that is text (``high``), a missing-value word (``NaN``, ``N/A``,
``null``: an empty cell is how a missing label is written), an infinity, or a value beyond float32's range
(``1e39``; the model computes in float32, where it becomes infinite). Any of these reaches the loss as NaN or
inf and makes a run that looks finished but learnt nothing, so the message names the column and the rows.
Rows are data rows counted from 1, the header excluded, as everywhere in greenft's reports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from greenft.data.registry import TaskType
from greenft.data.tables import DatasetFileError

FLOAT32_MAX = float(np.finfo(np.float32).max)
SQUARE_OVERFLOW = math.sqrt(FLOAT32_MAX)  # |y| above this (~1.8e19) overflows y**2 in float32: loss and RMSE
MISSING_WORDS = frozenset(
    {"nan", "-nan", "+nan", "na", "n/a", "#n/a", "#na", "n.a.", "null", "none", "nil", "missing", "-", "?", "--"}
)
INTEGER_CLASSES_MAX = 10  # integer labels with at most this many distinct values may well be classes
SHOWN_ROWS = 10


def rows_text(rows: Sequence[int], shown: int = SHOWN_ROWS) -> str:
    """``rows [2, 4]``, or the first ``shown`` and the count: ``rows [1, 2, ..., 10] ... (57 rows)``."""
    listed = list(rows[:shown])
    return f"rows {listed}" + (f" ... ({len(rows)} rows)" if len(rows) > shown else "")


def _refuse_text(path: Path, column: str, raw: pd.Series, values: pd.Series) -> None:
    bad = raw.notna() & values.isna()
    if not bad.any():
        return
    rows = (np.flatnonzero(bad.to_numpy()) + 1).tolist()
    words = sorted({str(v) for v in raw[bad] if str(v).strip().casefold() in MISSING_WORDS})
    why = (
        f"; {' and '.join(map(repr, words[:3]))} {'is' if len(words) == 1 else 'are'} not read as a missing label: "
        "leave the cell empty instead"
        if words
        else "; labels must be numbers (classification: 0/1)"
    )
    raise DatasetFileError(
        f"{path}: column {column!r} has non-numeric labels in {rows_text(rows)} (e.g. {raw[bad].iloc[0]!r}){why}"
    )


def _refuse_out_of_range(path: Path, column: str, raw: pd.Series, values: np.ndarray) -> None:
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(values) & ~(np.abs(values) <= FLOAT32_MAX)
    if not bad.any():
        return
    rows = (np.flatnonzero(bad) + 1).tolist()
    raise DatasetFileError(
        f"{path}: column {column!r} has labels that are infinite or beyond float32's range (|value| > "
        f"{FLOAT32_MAX:.4g}) in {rows_text(rows)} (e.g. {raw[bad].iloc[0]!r}); a model cannot learn from them: "
        "fix, rescale or remove those rows"
    )


def parse_labels(
    path: Path, frame: pd.DataFrame, columns: Sequence[str], label_map: dict[str, float] | None, task: TaskType
) -> np.ndarray:
    """The label matrix (rows x columns, NaN where a cell is empty); a :class:`DatasetFileError` otherwise."""
    parsed = []
    for column in columns:
        raw = frame[column]
        if label_map is not None:
            unknown = sorted(set(raw.dropna()) - set(label_map))
            if unknown:
                known = sorted(label_map)
                raise DatasetFileError(f"{path}: column {column!r} has labels {unknown[:5]} outside {known}")
            values = raw.map(label_map).astype(float).to_numpy(dtype=float)
        else:
            numbers = pd.to_numeric(raw, errors="coerce")
            _refuse_text(path, column, raw, numbers)
            values = numbers.to_numpy(dtype=float)
            _refuse_out_of_range(path, column, raw, values)
        if task is TaskType.CLASSIFICATION:
            outside = ~np.isnan(values) & (values != 0.0) & (values != 1.0)
            if outside.any():
                found = sorted(set(values[outside].tolist()))
                rows = (np.flatnonzero(outside) + 1).tolist()
                raise DatasetFileError(
                    f"{path}: column {column!r}: classification labels must be 0/1, found {found[:5]} in "
                    f"{rows_text(rows)}"
                )
        parsed.append(values)
    return np.stack(parsed, axis=1)


def large_label_rows(labels: np.ndarray, columns: Sequence[str], rows: Sequence[int]) -> dict[str, list[int]]:
    """``{column: data rows}`` whose labels pass the float32 range but overflow float32 squares."""
    with np.errstate(invalid="ignore"):
        big = np.abs(labels) > SQUARE_OVERFLOW
    found = {column: np.flatnonzero(big[:, k]).tolist() for k, column in enumerate(columns)}
    return {column: [rows[i] for i in indices] for column, indices in found.items() if indices}


def large_label_warning(path: Path, labels: np.ndarray, columns: Sequence[str], rows: Sequence[int]) -> str | None:
    """A warning naming the rows :func:`large_label_rows` finds: training on them will likely end in an inf metric."""
    found = large_label_rows(labels, columns, rows)
    if not found:
        return None
    where = "; ".join(f"column {column!r} {rows_text(r)}" for column, r in found.items())
    return (
        f"{path}: labels above {SQUARE_OVERFLOW:.3g} in {where} overflow float32 squares: the loss or RMSE will "
        "likely become infinite and the run fail; rescale them (e.g. log units)"
    )


def infer_task_type(path: Path, frame: pd.DataFrame, columns: Sequence[str]) -> tuple[TaskType, str | None]:
    """Classification when every label is 0 or 1, else regression; with a warning when regression was chosen
    for integer labels with few values (``0/1/2``, ``1/2``), which are often classes."""
    values = pd.concat([pd.to_numeric(frame[c], errors="coerce") for c in columns]).dropna()
    values = values[np.isfinite(values.to_numpy(dtype=float))]
    seen = sorted(set(values.unique().tolist()))
    if seen and set(seen) <= {0.0, 1.0}:
        return TaskType.CLASSIFICATION, None
    integers = bool(seen) and all(float(v).is_integer() for v in seen)
    if integers and 2 <= len(seen) <= INTEGER_CLASSES_MAX:
        shown = "/".join(str(int(v)) for v in seen)
        names = ", ".join(repr(c) for c in columns)
        return TaskType.REGRESSION, (
            f"{path}: labels of column(s) {names} are only the integers {shown}: greenft treats them as regression "
            "(RMSE); "
            "if these are classes, pass --task-type multiclass (one column of K classes) or recode them as 0/1 (one "
            "column per class) and pass --task-type classification, or pass --task-type regression to keep "
            "regression without this warning"
        )
    return TaskType.REGRESSION, None
