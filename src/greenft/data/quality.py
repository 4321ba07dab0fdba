"""Checks on the valid molecules of a dataset: what makes training impossible, and what deserves a warning.

Refused (a :class:`DatasetFileError`): a target column with no label on any valid molecule (its loss would be
NaN), and classification labels that are all one class (ROC-AUC is undefined on every split).

Warned about, never refused: the same molecule (same canonical SMILES) in several rows. With different labels
the file contradicts itself (real benchmarks do: MoleculeNet's BBBP and ClinTox hold such pairs), and the user
should know which rows. With the same labels the copies are kept, as the published benchmarks keep them; see
docs/datasets.md for why (and for what a random split then does with them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from greenft.data.registry import TaskType
from greenft.data.tables import DatasetFileError

SHOWN_GROUPS = 3


def check_labels_usable(path: Path, labels: np.ndarray, columns: Sequence[str], task: TaskType) -> None:
    """Every column labels some valid molecule; classification needs both classes in at least one column."""
    for index, column in enumerate(columns):
        if np.isnan(labels[:, index]).all():
            raise DatasetFileError(
                f"{path}: column {column!r} has no label on any of the {len(labels)} valid molecules; "
                "drop it from --target-column or fill it"
            )
    if task is not TaskType.CLASSIFICATION:
        return
    single = []
    for index, column in enumerate(columns):
        present = labels[~np.isnan(labels[:, index]), index]
        classes = np.unique(present)
        if len(classes) == 2:
            return
        single.append(f"{column!r} all {int(classes[0])}")
    raise DatasetFileError(
        f"{path}: every label is one class ({', '.join(single)}; {len(labels)} valid molecules): classification "
        "needs both 0 and 1 (ROC-AUC is undefined otherwise)"
    )


def _groups(smiles: Sequence[str]) -> list[list[int]]:
    found: dict[str, list[int]] = defaultdict(list)
    for index, text in enumerate(smiles):
        found[text].append(index)
    return [group for group in found.values() if len(group) > 1]


def _same(labels: np.ndarray, group: list[int]) -> bool:
    first = labels[group[0]]
    return all(np.array_equal(first, labels[i], equal_nan=True) for i in group[1:])


def _shown(groups: list[list[int]], rows: Sequence[int]) -> str:
    text = ", ".join("/".join(str(rows[i]) for i in group) for group in groups[:SHOWN_GROUPS])
    return text + (" ..." if len(groups) > SHOWN_GROUPS else "")


def duplicate_warnings(path: Path, smiles: Sequence[str], labels: np.ndarray, rows: Sequence[int]) -> list[str]:
    """One warning for molecules repeated with different labels, one for those repeated with the same labels."""
    groups = _groups(smiles)
    conflicting = [g for g in groups if not _same(labels, g)]
    identical = [g for g in groups if _same(labels, g)]
    warnings = []
    if conflicting:
        extra = sum(len(g) for g in conflicting)
        warnings.append(
            f"{path}: {len(conflicting)} molecule(s) appear in several rows with different labels ({extra} rows; "
            f"rows {_shown(conflicting, rows)}); all are kept: fix or remove the wrong ones"
        )
    if identical:
        warnings.append(
            f"{path}: {len(identical)} molecule(s) appear in several rows with the same labels (rows "
            f"{_shown(identical, rows)}); kept, as published benchmarks keep them (docs/datasets.md)"
        )
    return warnings
