"""Where a run's split comes from: greenft's splitter, a split file, a split column, and a separate test file.

What a chemprop user brings (chemprop v2's ``--splits-file``, ``--splits-column`` and ``--separate-test-path``):

* ``data.split_file``: train/val/test row indices (:mod:`greenft.data.split_file`, chemprop's format);
* ``data.split_column``: a column of the data file whose value on each row is ``train``, ``val`` or ``test``
  (case-insensitive; ``valid`` and ``validation`` also mean ``val``);
* ``data.test_file``: a labelled file with the same SMILES and target columns that is the whole test part; the
  main data are then split into train/val only (greenft's fractions renormalised over train + val, or the split
  file/column giving train and val).

Why indices are rows of the input table, not positions in greenft's molecule list: a split file is written
against the user's file (chemprop counts its rows so), while greenft drops rows with an invalid SMILES or no
label. Each index is mapped through the loader's rows; one that points at a dropped row is named in one warning
line and left out, never silently shifted onto the next molecule.

The result keeps greenft's own contract: a :class:`~greenft.data.splits.Split` of positions into the molecule
list, the test file's molecules appended after the main file's (what ``greenft_split.json`` records).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from greenft.data.loading import LabelledMolecules, load_molecules, resolve_paths
from greenft.data.registry import SplitKind
from greenft.data.split_file import SplitSourceError, read_split_file
from greenft.data.splits import Split, make_split
from greenft.data.tables import check_columns, read_table

__all__ = ["COLUMN_VALUES", "SplitSettings", "SplitSourceError", "resolve_split", "split_source"]

COLUMN_VALUES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
"""The values a split column may hold (compared lower-cased, stripped), and the part each one means."""
SHOWN = 3


class SplitSettings(Protocol):
    """The data settings a split is made from (:class:`greenft.agents.config.DataConfig` has them all)."""

    @property
    def split(self) -> SplitKind: ...
    @property
    def split_fractions(self) -> tuple[float, float, float]: ...
    @property
    def split_file(self) -> Path | None: ...
    @property
    def split_index(self) -> int: ...
    @property
    def split_column(self) -> str | None: ...
    @property
    def test_file(self) -> Path | None: ...


def split_source(settings: SplitSettings) -> str:
    """One phrase for where the split came from, e.g. ``scaffold``, ``file splits.json[0] + test file t.csv``."""
    if settings.split_file is not None:
        text = f"file {settings.split_file}[{settings.split_index}]"
    elif settings.split_column is not None:
        text = f"column {settings.split_column!r}"
    else:
        text = settings.split.value
    return text if settings.test_file is None else f"{text} + test file {settings.test_file}"


def _rows_of(molecules: LabelledMolecules) -> list[int]:
    """Each molecule's 0-based data row in the input table."""
    return [row - 1 for row in molecules.rows] if molecules.rows else list(range(len(molecules.smiles)))


def _positions_from_rows(
    parts: dict[str, list[int]], molecules: LabelledMolecules, label: str
) -> tuple[dict[str, list[int]], list[str]]:
    """Row indices to positions in the molecule list; rows the loader dropped or the ``limit`` sample left out
    are reported (one warning line each kind) and left out."""
    position = {row: pos for pos, row in enumerate(_rows_of(molecules))}
    dropped = {d.row - 1: d for d in molecules.dropped}
    total = molecules.total_rows or len(molecules.smiles)
    out: dict[str, list[int]] = {}
    hit_dropped: list[str] = []
    unsampled = 0
    for part, indices in parts.items():
        for index in indices:
            if index >= total:
                raise SplitSourceError(
                    f"{label}: index {index} in {part!r} is out of range: {molecules.path} has {total} data rows "
                    f"(indices 0..{total - 1}, header excluded)"
                )
        out[part] = sorted(position[i] for i in indices if i in position)
        for index in indices:
            if index in dropped:
                d = dropped[index]
                hit_dropped.append(f"index {index} in {part!r} (row {d.row} {d.smiles!r}: {d.why})")
            elif index not in position:
                unsampled += 1
    warnings = []
    if hit_dropped:
        more = f" (+{len(hit_dropped) - SHOWN} more)" if len(hit_dropped) > SHOWN else ""
        warnings.append(
            f"{label}: {len(hit_dropped)} index(es) point at rows the loader dropped, left out of the split: "
            f"{'; '.join(hit_dropped[:SHOWN])}{more}"
        )
    if unsampled:
        warnings.append(
            f"{label}: {unsampled} indexed row(s) are outside the data.limit sample of {len(molecules.smiles)} "
            "molecules, left out of the split"
        )
    return out, warnings


def _table(molecules: LabelledMolecules) -> pd.DataFrame:
    """The input table as the loader read it (the same files, concatenated, so row numbers agree)."""
    spec = molecules.spec
    frames = [read_table(path, spec.separator) for path in resolve_paths(spec)]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _parts_from_column(molecules: LabelledMolecules, column: str) -> dict[str, list[int]]:
    """Each molecule's part from the column; a value that names no part is an error naming row and value."""
    frame = _table(molecules)
    check_columns(molecules.path, frame, molecules.spec.smiles_column, [column], molecules.spec.separator)
    values = frame[column].tolist()
    parts: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for pos, row in enumerate(_rows_of(molecules)):
        raw = values[row]
        part = COLUMN_VALUES.get(str(raw).strip().lower()) if isinstance(raw, str) else None
        if part is None:
            shown = "" if not isinstance(raw, str) else raw
            raise SplitSourceError(
                f"{molecules.path}: row {row + 1}, split column {column!r}: value {shown!r} names no split part; "
                "expected train, val or test (case-insensitive; valid/validation also mean val)"
            )
        parts[part].append(pos)
    return parts


def _check_column_parts(
    molecules: LabelledMolecules, column: str, parts: dict[str, list[int]], test_file: bool
) -> None:
    if test_file and parts["test"]:
        raise SplitSourceError(
            f"{molecules.path}: split column {column!r} marks {len(parts['test'])} row(s) test and data.test_file "
            "gives the test part too; give the test part one way (mark those rows train/val, or drop the test file)"
        )
    for part in ("train", "val") if test_file else ("train", "val", "test"):
        if not parts[part]:
            raise SplitSourceError(
                f"{molecules.path}: split column {column!r} marks no row {part!r} among the {len(molecules.smiles)} "
                "molecules loaded; every part needs at least one"
            )


def _fractions(settings: SplitSettings) -> tuple[float, float, float]:
    """The configured fractions, or with a separate test file train and val renormalised to sum to 1."""
    train, val, test = settings.split_fractions
    if settings.test_file is None:
        return train, val, test
    return train / (train + val), val / (train + val), 0.0  # DataConfig refuses train + val = 0 with a test file


def _load_test_file(molecules: LabelledMolecules, test_file: Path) -> LabelledMolecules:
    """The test file read with the main data's columns, label map and task type (all of its molecules)."""
    if not Path(test_file).is_file():
        raise SplitSourceError(f"data.test_file: test file not found (or not a file): {test_file}")
    path = Path(test_file).resolve()
    separator = "\t" if path.suffix.lower() in {".tsv", ".tab"} else ","
    spec = molecules.spec.model_copy(
        update={"name": f"{molecules.spec.name} test file", "file": path, "separator": separator, "notes": ()}
    )
    return load_molecules(spec)


def _with_test_file(main: LabelledMolecules, test: LabelledMolecules, split: Split) -> tuple[LabelledMolecules, Split]:
    """The test file's molecules appended after the main ones, and they alone the test part."""
    n = len(main.smiles)
    dropped = [test.report(max_rows=SHOWN)] if test.dropped else []  # "<name> test file: ... dropped ..."
    used = {main.smiles[int(i)] for i in (*split.train, *split.val)}
    shared = [(row, smiles) for row, smiles in zip(test.rows, test.smiles, strict=True) if smiles in used]
    if shared:  # the same molecule trained on and tested: a test score on it is not held out
        shown = ", ".join(f"row {row} {smiles!r}" for row, smiles in shared[:SHOWN])
        dropped.append(
            f"test file {test.path}: {len(shared)} molecule(s) are also in the train/val data ({shown}"
            f"{' ...' if len(shared) > SHOWN else ''}); their test scores are not held out"
        )
    joined = dataclasses.replace(
        main,
        smiles=[*main.smiles, *test.smiles],
        labels=np.vstack([main.labels, test.labels]),
        rows=[*main.rows, *test.rows],
        warnings=[*main.warnings, *test.warnings, *dropped],
    )
    return joined, Split(split.train, split.val, np.arange(n, n + len(test.smiles), dtype=int))


def resolve_split(settings: SplitSettings, molecules: LabelledMolecules, seed: int) -> tuple[LabelledMolecules, Split]:
    """The molecules a run uses (with a test file's appended) and its split, from whichever source is set.

    Warnings (indices at dropped rows, a test file's dropped rows) are added to the molecules' ``warnings``, which
    the commands print. Raises :class:`SplitSourceError` (a user error: one line) for a split that cannot be used.
    """
    warnings: list[str] = []
    if settings.split_file is not None:
        label = f"split file {settings.split_file}"
        rows = read_split_file(settings.split_file, settings.split_index, settings.test_file)
        parts, warnings = _positions_from_rows(rows, molecules, label)
        split = Split(*(np.asarray(parts[p], dtype=int) for p in ("train", "val", "test")))
    elif settings.split_column is not None:
        parts = _parts_from_column(molecules, settings.split_column)
        _check_column_parts(molecules, settings.split_column, parts, settings.test_file is not None)
        split = Split(*(np.asarray(parts[p], dtype=int) for p in ("train", "val", "test")))
    else:
        split = make_split(molecules.smiles, settings.split, seed, _fractions(settings))
    if warnings:
        molecules = dataclasses.replace(molecules, warnings=[*molecules.warnings, *warnings])
    if settings.test_file is not None:
        molecules, split = _with_test_file(molecules, _load_test_file(molecules, settings.test_file), split)
    return molecules, split
