"""Multiclass labels: one target column of K classes read as class indices 0..K-1, the class names recorded.

Why the file decides the classes: a user's column holds integers (0, 1, 2) or words (``active``, ``inactive``,
``inconclusive``); the model needs indices and every later reader (the saved model, ``greenft predict``) needs
the names in the model's output order. The classes are the sorted distinct labels of the whole file (numbers
sorted as numbers, else as text), fixed before any sample or split, so a ``--limit`` run and a full run of the
same file agree on what output 2 means.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from greenft.data.registry import DatasetSpec
from greenft.data.tables import DatasetFileError

__all__ = ["class_labels"]


def _name(value: object) -> str:
    """A class's name as written: ``2`` for a 2 or 2.0 read from the file, the text otherwise."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def class_labels(path: Path, frame: pd.DataFrame, spec: DatasetSpec) -> tuple[np.ndarray, DatasetSpec]:
    """The (rows x 1) class indices (NaN where a cell is empty) and ``spec`` with its ``classes``.

    One target column only, and at least two classes: a :class:`DatasetFileError` naming the file otherwise.
    """
    if len(spec.target_columns) != 1:
        raise DatasetFileError(
            f"{path}: task type multiclass takes one target column, got {len(spec.target_columns)} "
            f"({', '.join(spec.target_columns)})"
        )
    (column,) = spec.target_columns
    raw = frame[column]
    present = raw.dropna()
    names = present.map(_name)
    names = names[names != ""]
    numbers = pd.to_numeric(names, errors="coerce")
    if numbers.notna().all():
        order = sorted(set(zip(numbers.tolist(), names.tolist(), strict=True)))
        classes = tuple(dict.fromkeys(name for _, name in order))
    else:
        classes = tuple(sorted(set(names.tolist())))
    if len(classes) < 2:
        found = f"one class ({classes[0]!r})" if classes else "no label"
        raise DatasetFileError(f"{path}: column {column!r} has {found}; multiclass needs at least two classes")
    index = {name: float(i) for i, name in enumerate(classes)}
    values = [index.get(_name(v), np.nan) if pd.notna(v) and _name(v) != "" else np.nan for v in raw.tolist()]
    return np.array(values, dtype=float).reshape(-1, 1), spec.model_copy(update={"classes": classes})
