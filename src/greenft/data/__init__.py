"""Datasets: the registry of built-in sets, reading and validation, splits, featurisation and its cache."""

from greenft.data.loading import LabelledMolecules, load_molecules, user_dataset_spec
from greenft.data.registry import (
    BUILTIN_DATASETS,
    DatasetSpec,
    Metric,
    TaskType,
    UnknownDatasetError,
    get_dataset_spec,
)
from greenft.data.sources import MissingDataPackageError
from greenft.data.splits import Split, SplitKind, make_split
from greenft.data.tables import DatasetFileError

__all__ = [
    "BUILTIN_DATASETS",
    "DatasetFileError",
    "DatasetSpec",
    "LabelledMolecules",
    "Metric",
    "MissingDataPackageError",
    "Split",
    "SplitKind",
    "TaskType",
    "UnknownDatasetError",
    "get_dataset_spec",
    "load_molecules",
    "make_split",
    "user_dataset_spec",
]
