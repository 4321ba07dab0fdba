"""Datasets: the registry of built-in sets, reading and validation, splits, featurisation and its cache.

Names are imported lazily, on first use, as in greenft.sweeps: `greenft --help` and a user error found before any
work must not pay for the heavy modules (torch, RDKit, pandas) that only some of these names need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greenft.data.loading import LabelledMolecules, load_molecules, user_dataset_spec
    from greenft.data.registry import (
        BUILTIN_DATASETS,
        DatasetSpec,
        Metric,
        SplitKind,
        TaskType,
        UnknownDatasetError,
        get_dataset_spec,
    )
    from greenft.data.sources import MissingDataPackageError
    from greenft.data.splits import Split, make_split
    from greenft.data.tables import DatasetFileError

_EXPORTS = {
    "DatasetFileError": "greenft.data.tables",
    "LabelledMolecules": "greenft.data.loading",
    "load_molecules": "greenft.data.loading",
    "user_dataset_spec": "greenft.data.loading",
    "BUILTIN_DATASETS": "greenft.data.registry",
    "DatasetSpec": "greenft.data.registry",
    "Metric": "greenft.data.registry",
    "TaskType": "greenft.data.registry",
    "UnknownDatasetError": "greenft.data.registry",
    "get_dataset_spec": "greenft.data.registry",
    "MissingDataPackageError": "greenft.data.sources",
    "Split": "greenft.data.splits",
    "SplitKind": "greenft.data.registry",
    "make_split": "greenft.data.splits",
}

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


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'greenft.data' has no attribute {name!r}")
