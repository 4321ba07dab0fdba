"""The precision trade-off table: one row per (model family, dataset, numeric precision) of a saved model.

Why here: ``greenft quantize`` and ``benchmarks/inference.py`` write these rows, the analysis report reads them
and draws the seed thesis' precision table (size, parameters, quality, time and CO2 per 1,000 molecules, for
float32, float16/bfloat16, dynamic and static int8). One definition for writer and reader, in the layer every
other one may import. Pure stdlib.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

__all__ = ["PRECISION_TABLE_FILE", "Precision", "PrecisionRow", "precision_rows_from_json", "precision_rows_to_json"]

PRECISION_TABLE_FILE = "precision_table.json"
"""The default file name of a precision table (a JSON list of :class:`PrecisionRow` objects)."""


class Precision(StrEnum):
    """Numeric precisions a saved model can be evaluated at (post-training, no retraining)."""

    FLOAT32 = "float32"
    FLOAT16 = "float16"
    BFLOAT16 = "bfloat16"
    DYNAMIC_INT8 = "dynamic-int8"  # torch.ao dynamic quantization of nn.Linear layers (int8 weights)
    STATIC_INT8 = "static-int8"  # calibrated on training molecules; only where the family's graph allows it


@dataclass(frozen=True)
class PrecisionRow:
    """One measured precision of one model on one dataset's test molecules.

    ``supported`` False: the precision cannot be applied to this family (``note`` says why); the measured fields
    are then None. ``metric`` is the dataset's own metric (ROC-AUC, RMSE, ...) on the same molecules for every
    precision of a model, so rows of one model compare directly. Per-1,000-molecule figures are inference only
    (featurisation included, model loading excluded); ``device`` names where it ran (e.g. "cpu", "cuda").
    """

    family: str
    dataset: str
    precision: str
    supported: bool
    note: str = ""
    metric_name: str = ""
    metric: float | None = None
    parameters: int | None = None
    file_bytes: int | None = None
    molecules: int | None = None
    seconds_per_1000: float | None = None
    kg_co2_per_1000: float | None = None
    kwh_per_1000: float | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        Precision(self.precision)  # a ValueError naming the value for anything else


def precision_rows_to_json(rows: Iterable[PrecisionRow]) -> str:
    return json.dumps([asdict(row) for row in rows], indent=2) + "\n"


def precision_rows_from_json(text: str) -> list[PrecisionRow]:
    """Rows read back; a ValueError names the first entry that is not a row (unknown or missing fields)."""
    value = json.loads(text)
    if not isinstance(value, list):
        raise ValueError("a precision table is a JSON list of rows")
    names = {f.name for f in fields(PrecisionRow)}
    rows: list[PrecisionRow] = []
    for index, entry in enumerate(value):
        if not isinstance(entry, Mapping) or not set(entry) <= names:
            raise ValueError(f"entry {index} is not a precision row (fields: {', '.join(sorted(names))})")
        try:
            rows.append(PrecisionRow(**dict[str, Any](entry)))
        except (TypeError, ValueError) as err:
            raise ValueError(f"entry {index}: {err}") from None
    return rows
