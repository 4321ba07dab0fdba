"""Read a dataset spec into validated molecules and labels, reporting every row that had to be dropped.

Invalid SMILES (RDKit cannot parse them) and rows without any label are counted, reported with their row
numbers and dropped; a run never crashes on them. What *is* an error: a missing file, a missing column,
labels that are not numbers, or nothing valid left. Each message names the file, the column and the rows.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem

from greenft.data.rdkit_quiet import rdkit_quiet
from greenft.data.registry import DatasetSpec, Metric, TaskType
from greenft.data.sources import package_data_dir
from greenft.errors import UserError


class DatasetFileError(UserError, ValueError):
    """A dataset file cannot be used as asked; the message names the file, column and rows."""


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
    """Every file of the dataset: the user's file, or the package's file(s) found by path (never imported)."""
    if spec.file is not None:
        paths = [spec.file]
    else:
        assert spec.package is not None and spec.relative_path is not None, f"spec {spec.name} has no location"
        root = package_data_dir(spec.package, spec.install_hint)
        paths = [root / spec.relative_path, *(root / extra for extra in spec.extra_relative_paths)]
    for path in paths:
        if not path.is_file():
            raise DatasetFileError(f"dataset {spec.name!r}: file not found: {path}")
    return paths


def resolve_path(spec: DatasetSpec) -> Path:
    """The dataset's (first) file."""
    return resolve_paths(spec)[0]


def _is_sdf(path: Path) -> bool:
    return path.suffix.lower() in {".sdf", ".sd"}


def count_rows(spec: DatasetSpec) -> int:
    """Data rows (records) in the dataset's file(s) without validating any molecule: cheap enough for a listing.

    Tables are tokenised with :mod:`csv` (a quoted field may hold a line break, as B3DB's do) and blank lines
    skipped, as pandas does; an SDF's records are its ``$$$$`` terminators. ``datasets show`` validates them.
    """
    total = 0
    for path in resolve_paths(spec):
        if _is_sdf(path):
            total += path.read_bytes().count(b"$$$$")
            continue
        with path.open(newline="", encoding="utf-8", errors="replace") as handle:
            rows = sum(1 for row in csv.reader(handle, delimiter=spec.separator) if any(c.strip() for c in row))
        total += max(rows - 1, 0)
    return total


def _read_table(path: Path, separator: str) -> pd.DataFrame:
    try:
        if _is_sdf(path):
            return _read_sdf(path)
        return pd.read_csv(path, sep=separator, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DatasetFileError(f"{path}: cannot be read as a {separator!r}-separated table: {err}") from err


SDF_SMILES_COLUMN = "smiles"
_SDF_UNPARSABLE = "\x00unparsable"  # stands in for the SMILES of a record RDKit cannot read


def _read_sdf(path: Path) -> pd.DataFrame:
    """An SDF as a table: a ``smiles`` column from the molecule block plus every property."""
    rows: list[dict[str, str]] = []
    with rdkit_quiet():
        molecules = list(Chem.SDMolSupplier(str(path)))
    for mol in molecules:
        if mol is None:
            rows.append({SDF_SMILES_COLUMN: _SDF_UNPARSABLE})
            continue
        row = {key: str(value) for key, value in mol.GetPropsAsDict().items()}
        row[SDF_SMILES_COLUMN] = Chem.MolToSmiles(mol)
        rows.append(row)
    return pd.DataFrame(rows, dtype=str)


def _parse_labels(spec: DatasetSpec, path: Path, frame: pd.DataFrame) -> np.ndarray:
    columns = []
    for column in spec.target_columns:
        raw = frame[column]
        if spec.label_map is not None:
            unknown = sorted(set(raw.dropna()) - set(spec.label_map))
            if unknown:
                raise DatasetFileError(
                    f"{path}: column {column!r} has labels {unknown[:5]} outside {sorted(spec.label_map)}"
                )
            values = raw.map(spec.label_map).astype(float)
        else:
            values = pd.to_numeric(raw, errors="coerce")
            bad = raw.notna() & values.isna()
            if bad.any():
                rows = (np.flatnonzero(bad.to_numpy()) + 1).tolist()
                raise DatasetFileError(
                    f"{path}: column {column!r} has non-numeric labels in rows {rows[:10]}"
                    f"{' ...' if len(rows) > 10 else ''} (e.g. {raw[bad].iloc[0]!r})"
                )
        columns.append(values.to_numpy(dtype=float))
    labels = np.stack(columns, axis=1)
    if spec.task_type is TaskType.CLASSIFICATION:
        present = labels[~np.isnan(labels)]
        outside = sorted(set(present.tolist()) - {0.0, 1.0})
        if outside:
            raise DatasetFileError(f"{path}: classification labels must be 0/1, found {outside[:5]}")
    return labels


LIMIT_SAMPLE_SEED = 0


def load_molecules(spec: DatasetSpec, limit: int | None = None) -> LabelledMolecules:
    """Read, validate and canonicalise a dataset.

    ``limit`` keeps a random sample of N valid molecules, the same for every trial (seed
    ``LIMIT_SAMPLE_SEED``), so quick runs of different seeds or rules compare on the same molecules.
    """
    paths = resolve_paths(spec)
    path = paths[0]
    frames = [_read_table(p, spec.separator) for p in paths]
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    missing = [c for c in (spec.smiles_column, *spec.target_columns) if c not in frame.columns]
    if missing:
        hint = (
            f" (an SDF's SMILES column is {SDF_SMILES_COLUMN!r}, made from its molecule blocks)"
            if _is_sdf(path) and spec.smiles_column in missing
            else ""
        )
        raise DatasetFileError(
            f"{path}: column(s) {missing} not found; the file has columns {list(frame.columns)}{hint}"
        )
    labels = _parse_labels(spec, path, frame)
    smiles_out: list[str] = []
    keep: list[int] = []
    dropped: list[DroppedRow] = []
    with rdkit_quiet():
        for index, raw in enumerate(frame[spec.smiles_column].fillna("").tolist()):
            text = str(raw).strip()
            if text == _SDF_UNPARSABLE:
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
            else f"{path}: the file has no data rows"
        )
    if limit is not None and limit < len(keep):
        # A fixed-seed sample, not the first N rows: files are often sorted by label or source.
        chosen = np.sort(np.random.default_rng(LIMIT_SAMPLE_SEED).choice(len(keep), size=limit, replace=False))
        smiles_out = [smiles_out[i] for i in chosen]
        keep = [keep[i] for i in chosen]
    return LabelledMolecules(spec, path, smiles_out, labels[keep], dropped, total_rows=len(frame))


def user_dataset_spec(
    file: Path,
    smiles_column: str,
    target_columns: list[str],
    task_type: TaskType | None = None,
    metric: Metric | None = None,
    separator: str | None = None,
) -> DatasetSpec:
    """A spec for the user's own CSV/TSV/SDF; task type and metric inferred from the labels when not given.

    Inference: labels that are all 0/1 mean classification (ROC-AUC), anything else regression (RMSE).
    """
    file = Path(file)
    if not file.is_file():
        raise DatasetFileError(f"dataset file not found: {file}")
    if not target_columns:
        raise DatasetFileError(f"{file}: give at least one target column")
    sep = separator or ("\t" if file.suffix.lower() in {".tsv", ".tab"} else ",")
    if metric is not None and task_type is not None and metric.task_type is not task_type:
        raise DatasetFileError(f"{file}: metric {metric.value} does not fit task type {task_type.value}")
    if task_type is None:
        task_type = metric.task_type if metric is not None else _infer_task_type(file, sep, target_columns)
    if metric is None:
        metric = Metric.ROC_AUC if task_type is TaskType.CLASSIFICATION else Metric.RMSE
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
    )


def _infer_task_type(file: Path, separator: str, target_columns: list[str]) -> TaskType:
    frame = _read_table(file, separator)
    missing = [c for c in target_columns if c not in frame.columns]
    if missing:
        raise DatasetFileError(f"{file}: column(s) {missing} not found; the file has columns {list(frame.columns)}")
    values = pd.concat([pd.to_numeric(frame[c], errors="coerce") for c in target_columns]).dropna()
    if len(values) and set(values.unique().tolist()) <= {0.0, 1.0}:
        return TaskType.CLASSIFICATION
    return TaskType.REGRESSION
