"""Read a dataset spec into validated molecules and labels, reporting every row that had to be dropped.

Invalid SMILES (RDKit cannot parse them) and rows without any label are counted, reported with their row
numbers and dropped; a run never crashes on them. What *is* an error: a file that cannot be read as a table
(data/tables.py), a missing column, labels a model cannot learn from (data/labels.py), nothing valid left, or
valid molecules that cannot train (data/quality.py). Each message names the file, the column and the rows.
Repeated molecules and a task type inferred as regression for integer labels are warnings, kept with the
molecules (:attr:`LabelledMolecules.warnings`) for the commands to print.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem

from greenft.data.generated import generated_table
from greenft.data.labels import infer_task_type, large_label_warning, parse_labels
from greenft.data.multiclass import class_labels
from greenft.data.quality import check_labels_usable, duplicate_warnings
from greenft.data.rdkit_quiet import rdkit_quiet
from greenft.data.registry import DEFAULT_METRICS, DatasetSpec, Metric, TaskType
from greenft.data.sources import package_data_dir
from greenft.data.structures import Structure
from greenft.data.tables import (
    SDF_UNPARSABLE,
    DatasetFileError,
    check_columns,
    check_file,
    is_sdf,
    read_table,
)


@dataclass(frozen=True)
class DroppedRow:
    row: int  # 1-based data row number in the file (header excluded)
    smiles: str
    why: str


@dataclass
class LabelledMolecules:
    """Canonical SMILES with a label matrix (rows x tasks; NaN marks a missing label)."""

    spec: DatasetSpec
    path: Path
    smiles: list[str]
    labels: np.ndarray
    dropped: list[DroppedRow] = field(default_factory=list)
    total_rows: int = 0
    rows: list[int] = field(default_factory=list)  # each molecule's data row in the file (1-based, as dropped)
    warnings: list[str] = field(default_factory=list)  # one line each, for the commands to print
    structures: list[Structure] | None = None  # 3D sets (spec.structures): each molecule's atoms, in order

    @property
    def num_tasks(self) -> int:
        return int(self.labels.shape[1])

    def report(self, max_rows: int = 5) -> str:
        """A one-paragraph account of what was read and what was dropped (file, column and row numbers)."""
        text = f"{self.spec.name}: {len(self.smiles)} molecules read from {self.path} ({self.total_rows} rows)"
        if self.dropped:
            shown = "; ".join(f"row {d.row} {d.smiles!r}: {d.why}" for d in self.dropped[:max_rows])
            more = f" (+{len(self.dropped) - max_rows} more)" if len(self.dropped) > max_rows else ""
            text += f"; dropped {len(self.dropped)} (SMILES column {self.spec.smiles_column!r}): {shown}{more}"
        return text


def resolve_paths(spec: DatasetSpec) -> list[Path]:
    """Every file of the dataset: the user's file, a generated table (made on first use, greenft.data.generated),
    or the package's file(s) found by path (never imported)."""
    if spec.file is not None:
        paths = [spec.file]
    elif spec.generator is not None:
        paths = [generated_table(spec.generator)]
    else:
        assert spec.package is not None and spec.relative_path is not None, f"spec {spec.name} has no location"
        root = package_data_dir(spec.package, spec.install_hint)
        paths = [root / spec.relative_path, *(root / extra for extra in spec.extra_relative_paths)]
    for path in paths:
        if spec.file is not None:
            check_file(path)
        elif not path.is_file():
            raise DatasetFileError(f"dataset {spec.name!r}: file not found: {path}")
    return paths


def resolve_path(spec: DatasetSpec) -> Path:
    """The dataset's (first) file."""
    return resolve_paths(spec)[0]


def count_rows(spec: DatasetSpec) -> int:
    """Data rows (records) in the dataset's file(s) without validating any molecule: cheap enough for a listing.

    Tables are tokenised with :mod:`csv` (a quoted field may hold a line break, as B3DB's do) and blank lines
    skipped, as pandas does; an SDF's records are its ``$$$$`` terminators. ``datasets show`` validates them.
    """
    if spec.structures is not None:  # a coordinates table: its lines (no quoted line breaks), never parsed here
        from greenft.data.qm9 import count_table_rows

        return count_table_rows(spec)
    total = 0
    for path in resolve_paths(spec):
        if is_sdf(path):
            total += path.read_bytes().count(b"$$$$")
            continue
        with path.open(newline="", encoding="utf-8", errors="replace") as handle:
            rows = sum(1 for row in csv.reader(handle, delimiter=spec.separator) if any(c.strip() for c in row))
        total += max(rows - 1, 0)
    return total


LIMIT_SAMPLE_SEED = 0


def load_molecules(spec: DatasetSpec, limit: int | None = None) -> LabelledMolecules:
    """Read, validate and canonicalise a dataset.

    ``limit`` keeps a random sample of N valid molecules, the same for every trial (seed
    ``LIMIT_SAMPLE_SEED``), so quick runs of different seeds or rules compare on the same molecules. A set with
    coordinates (``spec.structures``) is read by its own reader, which also fills ``structures``.
    """
    if spec.structures is not None:
        from greenft.data.qm9 import read_qm9  # the one coordinates reader so far (qm9pack's tables)

        read = read_qm9(spec, limit, LIMIT_SAMPLE_SEED)
        dropped_rows = [DroppedRow(*row) for row in read.dropped]
        return LabelledMolecules(
            spec,
            read.path,
            read.smiles,
            read.labels,
            dropped_rows,
            total_rows=read.total_rows,
            rows=read.rows,
            warnings=[*spec.notes],
            structures=read.structures,
        )
    paths = resolve_paths(spec)
    path = paths[0]
    frames = [read_table(p, spec.separator) for p in paths]
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    check_columns(path, frame, spec.smiles_column, spec.target_columns, spec.separator)
    if spec.task_type is TaskType.MULTICLASS:  # class indices; the spec records the class names
        labels, spec = class_labels(path, frame, spec)
    else:
        labels = parse_labels(path, frame, spec.target_columns, spec.label_map, spec.task_type)
    smiles_out: list[str] = []
    keep: list[int] = []
    dropped: list[DroppedRow] = []
    with rdkit_quiet():
        for index, raw in enumerate(frame[spec.smiles_column].fillna("").tolist()):
            text = str(raw).strip()
            if text == SDF_UNPARSABLE:
                dropped.append(DroppedRow(index + 1, "", "SDF record RDKit cannot parse"))
                continue
            mol = Chem.MolFromSmiles(text) if text else None
            if mol is None or mol.GetNumAtoms() == 0:
                dropped.append(DroppedRow(index + 1, text, "invalid SMILES" if text else "empty SMILES"))
                continue
            if np.isnan(labels[index]).all():
                dropped.append(DroppedRow(index + 1, text, "no label"))
                continue
            smiles_out.append(Chem.MolToSmiles(mol))
            keep.append(index)
    if not keep:
        raise DatasetFileError(
            f"{path}: no valid molecule in column {spec.smiles_column!r} "
            f"({len(dropped)} rows dropped, e.g. row {dropped[0].row}: {dropped[0].why})"
            if dropped
            else f"{path}: the file has a header but no data rows"
        )
    check_labels_usable(path, labels[keep], spec.target_columns, spec.task_type)
    rows = [index + 1 for index in keep]
    large = large_label_warning(path, labels[keep], spec.target_columns, rows)
    warnings = [*spec.notes, *duplicate_warnings(path, smiles_out, labels[keep], rows), *([large] if large else [])]
    if limit is not None and limit < len(keep):
        # A fixed-seed sample, not the first N rows: files are often sorted by label or source.
        chosen = np.sort(np.random.default_rng(LIMIT_SAMPLE_SEED).choice(len(keep), size=limit, replace=False))
        smiles_out = [smiles_out[i] for i in chosen]
        keep = [keep[i] for i in chosen]
    return LabelledMolecules(
        spec,
        path,
        smiles_out,
        labels[keep],
        dropped,
        total_rows=len(frame),
        rows=[i + 1 for i in keep],
        warnings=warnings,
    )


def user_dataset_spec(
    file: Path,
    smiles_column: str,
    target_columns: list[str],
    task_type: TaskType | None = None,
    metric: Metric | None = None,
    separator: str | None = None,
) -> DatasetSpec:
    """A spec for the user's own CSV/TSV/SDF; task type and metric inferred from the labels when not given.

    Inference: labels that are all 0/1 mean classification (ROC-AUC), anything else regression (RMSE); regression
    chosen for a few integer values (0/1/2) is noted in the spec's ``notes``, which loading turns into a warning.
    """
    file = Path(file)
    check_file(file)
    if not target_columns:
        raise DatasetFileError(f"{file}: give at least one target column")
    sep = separator or ("\t" if file.suffix.lower() in {".tsv", ".tab"} else ",")
    if metric is not None and task_type is not None and not metric.fits(task_type):
        raise DatasetFileError(f"{file}: metric {metric.value} does not fit task type {task_type.value}")
    notes: tuple[str, ...] = ()
    if task_type is None and metric is not None:
        task_type = metric.task_type
    elif task_type is None:
        frame = read_table(file, sep)
        check_columns(file, frame, smiles_column, target_columns, sep)
        task_type, note = infer_task_type(file, frame, target_columns)
        notes = (note,) if note else ()
    if metric is None:
        metric = DEFAULT_METRICS[task_type]
    return DatasetSpec(
        name=file.stem,
        description=f"user file {file}",
        file=file.resolve(),
        separator=sep,
        smiles_column=smiles_column,
        target_columns=tuple(target_columns),
        task_type=task_type,
        metric=metric,
        source=f"user file {file}",
        licence="user-provided",
        notes=notes,
    )
