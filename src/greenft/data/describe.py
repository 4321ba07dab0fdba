"""What ``greenft datasets show`` reports about a dataset before anyone trains on it.

The numbers that decide whether a benchmark result means anything: how many rows were unusable and why,
label balance (classification) or value range (regression) per task, how many Bemis-Murcko scaffolds the
molecules fall into, and what each split makes of them — including whether every part can be scored (ROC-AUC
needs both classes in a task). A split ``greenft train`` would refuse (an empty or unscorable part) is named in
:attr:`DatasetSummary.warnings`, together with the loader's warnings (repeated molecules, inferred task type).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from greenft.data.loading import DroppedRow, LabelledMolecules
from greenft.data.registry import TaskType
from greenft.data.splits import SplitKind, make_split, scaffold_of


@dataclass(frozen=True)
class TaskSummary:
    name: str
    labelled: int
    missing: int
    positives: int | None = None  # classification
    negatives: int | None = None
    minimum: float | None = None  # regression
    maximum: float | None = None
    mean: float | None = None
    std: float | None = None


@dataclass(frozen=True)
class SplitSummary:
    kind: str
    seed: int
    sizes: tuple[int, int, int]
    scorable_tasks: tuple[int, int, int]  # per part: tasks with both classes (classification) or any label
    positive_rate: tuple[float, float, float] | None  # classification: mean over labelled entries


@dataclass
class DatasetSummary:
    name: str
    paths: list[str]
    source: str
    licence: str
    task_type: str
    metric: str
    rows: int
    molecules: int
    dropped: list[DroppedRow]
    dropped_by_reason: dict[str, int]
    tasks: list[TaskSummary]
    scaffolds: int
    largest_scaffold_set: int
    acyclic: int
    splits: list[SplitSummary] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _task_summary(name: str, column: np.ndarray, task_type: TaskType) -> TaskSummary:
    present = column[~np.isnan(column)]
    missing = int(len(column) - len(present))
    if task_type is TaskType.CLASSIFICATION:
        positives = int((present == 1.0).sum())
        return TaskSummary(name, len(present), missing, positives=positives, negatives=len(present) - positives)
    if len(present) == 0:
        return TaskSummary(name, 0, missing)
    return TaskSummary(
        name,
        len(present),
        missing,
        minimum=float(present.min()),
        maximum=float(present.max()),
        mean=float(present.mean()),
        std=float(present.std()),
    )


def _split_summary(molecules: LabelledMolecules, kind: SplitKind, seed: int, scaffolds: list[str]) -> SplitSummary:
    split = make_split(molecules.smiles, kind, seed, scaffolds=scaffolds)
    scorable = []
    rates = []
    for part in (split.train, split.val, split.test):
        labels = molecules.labels[part]
        if molecules.spec.task_type is TaskType.CLASSIFICATION:
            scorable.append(sum(len(np.unique(col[~np.isnan(col)])) == 2 for col in labels.T))
            present = labels[~np.isnan(labels)]
            rates.append(float(present.mean()) if len(present) else float("nan"))
        else:
            scorable.append(sum(bool((~np.isnan(col)).any()) for col in labels.T))
    positive_rate = (rates[0], rates[1], rates[2]) if rates else None
    return SplitSummary(kind.value, seed, split.sizes(), (scorable[0], scorable[1], scorable[2]), positive_rate)


PARTS = ("train", "val", "test")


def split_warnings(splits: list[SplitSummary], molecules: int, classification: bool) -> list[str]:
    """One line per split that ``greenft train`` refuses: a part with no molecule, or no task it can score."""
    out = []
    for split in splits:
        empty = [part for part, size in zip(PARTS, split.sizes, strict=True) if size == 0]
        unscorable = [part for part, n in zip(PARTS, split.scorable_tasks, strict=True) if n == 0 and part not in empty]
        if empty:
            out.append(
                f"the {split.kind} split leaves {'/'.join(empty)} empty ({molecules} molecules): greenft train refuses "
                "it; use a file with more molecules (or more scaffolds), or another --split"
            )
        elif unscorable and classification:
            out.append(
                f"the {split.kind} split's {'/'.join(unscorable)} part holds one class only (ROC-AUC undefined): "
                "greenft train refuses it; use more molecules, another --split or --seed"
            )
    return out


def summarise_dataset(
    molecules: LabelledMolecules, paths: list[str], seed: int = 0, kinds: tuple[SplitKind, ...] = tuple(SplitKind)
) -> DatasetSummary:
    """Everything ``datasets show`` prints; scaffolds are computed once per molecule (seconds for 40k)."""
    spec = molecules.spec
    per_molecule = [scaffold_of(smiles) for smiles in molecules.smiles]
    scaffolds = Counter(per_molecule)
    reasons = Counter(d.why for d in molecules.dropped)
    splits = [_split_summary(molecules, kind, seed, per_molecule) for kind in kinds]
    classification = spec.task_type is TaskType.CLASSIFICATION
    return DatasetSummary(
        name=spec.name,
        paths=paths,
        source=spec.source,
        licence=spec.licence,
        task_type=spec.task_type.value,
        metric=spec.metric.value,
        rows=molecules.total_rows,
        molecules=len(molecules.smiles),
        dropped=list(molecules.dropped),
        dropped_by_reason=dict(reasons),
        tasks=[
            _task_summary(name, molecules.labels[:, i], spec.task_type) for i, name in enumerate(spec.target_columns)
        ],
        scaffolds=len(scaffolds),
        largest_scaffold_set=max(scaffolds.values()) if scaffolds else 0,
        acyclic=scaffolds.get("", 0),
        splits=splits,
        warnings=[*molecules.warnings, *split_warnings(splits, len(molecules.smiles), classification)],
    )
