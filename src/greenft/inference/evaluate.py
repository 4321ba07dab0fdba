"""``greenft evaluate``'s work: which labelled molecules to score a saved model on, and the scores.

Why the default is the run's own test split, recomputed: the header records the whole training config, so the
very molecules the trainer scored are rebuilt with the trainer's own loader (:func:`greenft.agents.trial.load_data`:
the same file, ``limit`` sample and canonical SMILES) and split (:func:`~greenft.data.split_sources.resolve_split`:
the run's split kind, seed and fractions, or its split file, split column or test file, read again; one that is
gone is one line naming it). The dataset metric computed as the trainer computes it then reproduces
``header.test_metric``: the check that the file holds the weights the run logged. Another built-in dataset is split
the same way (the run's split settings; refused, except ``--split all``, for a run whose split came from a file or
column), a labelled file is scored whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from greenft.errors import UserError
from greenft.inference.metrics import Scores, dataset_metric, score_predictions

if TYPE_CHECKING:
    from greenft.models.saved import SavedModel, SavedModelHeader

__all__ = ["Evaluation", "EvaluationData", "EvaluationError", "data_for", "evaluate_saved"]

SplitPart = Literal["train", "val", "test", "all"]
SPLIT_PARTS: tuple[str, ...] = ("train", "val", "test", "all")


class EvaluationError(UserError, ValueError):
    """A dataset or label file that cannot score this model (tasks that do not match, an unknown split)."""


@dataclass(frozen=True)
class EvaluationData:
    """Labelled molecules to score: canonical SMILES, labels (molecules x the model's tasks) and what they are."""

    description: str
    smiles: list[str]
    labels: np.ndarray
    dataset: str
    part: str
    dropped_rows: int = 0
    own_split: bool = False  # the model's own dataset and split: its test score must equal the logged one


@dataclass(frozen=True)
class Evaluation:
    """Every metric, the dataset metric as the trainer computes it, and what could not be predicted."""

    scores: Scores
    metric: str
    metric_value: float
    molecules: int
    invalid: dict[int, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.scores.as_dict(),
            "metric": self.metric,
            "metric_value": None if np.isnan(self.metric_value) else self.metric_value,
            "molecules": self.molecules,
            "invalid": {str(k): v for k, v in self.invalid.items()},
        }


def _training_config(header: SavedModelHeader) -> Any:
    from greenft.agents.config import TrialConfig

    known = {key: value for key, value in header.training_config.items() if key in TrialConfig.model_fields}
    return TrialConfig.model_validate(known)


def _check_tasks(header: SavedModelHeader, columns: Sequence[str], source: str) -> None:
    if len(columns) != header.num_tasks:
        raise EvaluationError(
            f"{source} has {len(columns)} task(s) {list(columns)}, the model predicts {header.num_tasks} "
            f"{list(header.task_names)}: give one label column per model task, in the model's order"
        )


def _part(split: Any, part: str, count: int) -> np.ndarray:
    if part == "all":
        return np.arange(count)
    indices: np.ndarray = getattr(split, part)
    return indices


def data_for(
    header: SavedModelHeader,
    dataset: str | None = None,
    part: str = "test",
    data_file: Path | None = None,
    smiles_column: str = "smiles",
    label_columns: Sequence[str] = (),
) -> EvaluationData:
    """The molecules to score: a labelled file (whole), another built-in dataset (``part`` of the run's split
    settings applied to it), or by default the model's own dataset and split, rebuilt from its training config."""
    from greenft.agents.trial import load_data
    from greenft.data.loading import load_molecules, user_dataset_spec
    from greenft.data.registry import Metric, TaskType, get_dataset_spec
    from greenft.data.split_sources import resolve_split, split_source
    from greenft.data.splits import make_split

    if part not in SPLIT_PARTS:
        raise EvaluationError(f"--split {part!r}: expected one of {', '.join(SPLIT_PARTS)}")
    if header.task_type == "multiclass":  # a file's classes would be re-read from it, maybe not the model's
        raise EvaluationError(
            f"the model is multiclass ({header.dataset}): greenft evaluate scores binary and regression models only; "
            "its run logged val/ and test/ of every metric asked for, and greenft predict writes its probabilities"
        )
    config = _training_config(header)
    if data_file is not None:
        columns = list(label_columns) or list(header.task_names)
        _check_tasks(header, columns, f"label columns of {data_file}")
        spec = user_dataset_spec(
            Path(data_file), smiles_column, columns, TaskType(header.task_type), Metric(header.metric)
        )
        molecules = load_molecules(spec)
        return EvaluationData(
            f"{data_file} (all {len(molecules.smiles)} labelled molecules)",
            molecules.smiles,
            molecules.labels,
            spec.name,
            "all",
            len(molecules.dropped),
        )
    own = dataset is None or (config.data.file is None and dataset == config.data.dataset)
    custom = split_source(config.data) != config.data.split.value  # a split file / column or a test file
    if own:
        molecules, split = resolve_split(config.data, load_data(config), config.seed)  # the run's very split
    else:
        assert dataset is not None
        if custom and part != "all":
            raise EvaluationError(
                f"--dataset {dataset!r} --split {part}: the run's split came from {split_source(config.data)}, "
                f"which indexes the run's own data only; use --split all, or leave --dataset out"
            )
        spec = get_dataset_spec(dataset)
        if spec.task_type.value != header.task_type:
            raise EvaluationError(
                f"--dataset {dataset!r} is {spec.task_type.value}, the model is {header.task_type} "
                f"({header.dataset}): choose a {header.task_type} dataset"
            )
        _check_tasks(header, spec.target_columns, f"dataset {dataset!r}")
        molecules = load_molecules(spec)
        split = make_split(molecules.smiles, config.data.split, config.seed, config.data.split_fractions)
    indices = _part(split, part, len(molecules.smiles))
    name = molecules.spec.name
    how = split_source(config.data) if custom else f"{config.data.split.value} split (seed {config.seed})"
    what = "all molecules" if part == "all" else f"{how}, {part} part"
    return EvaluationData(
        f"{name}: {what}, {len(indices)} molecules",
        [molecules.smiles[int(i)] for i in indices],
        molecules.labels[indices],
        name,
        part,
        len(molecules.dropped),
        own_split=own,
    )


def evaluate_saved(
    saved: SavedModel, data: EvaluationData, batch_size: int = 256, on_batch: Callable[[int], None] | None = None
) -> Evaluation:
    """Predict ``data``'s molecules and score them; a molecule the model cannot read is left out (and counted)."""
    header = saved.header
    predictions = saved.predict(data.smiles, batch_size=batch_size, on_batch=on_batch)
    scores = score_predictions(predictions.values, data.labels, header.task_type, header.task_names)
    value = dataset_metric(predictions.values, data.labels, header.metric)
    return Evaluation(scores, header.metric, value, len(data.smiles), predictions.invalid)
