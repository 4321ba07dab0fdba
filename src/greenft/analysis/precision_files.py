"""Reading precision-table files (``greenft analyze --precision-table FILE``) into checked rows.

Why apart from :mod:`greenft.analysis.inference_tables`: that module is pure; this one touches files. The rows'
definition and JSON form live in :mod:`greenft.schema.inference` (``greenft quantize`` writes them); here they
are also checked field by field, since a hand-edited file with a number written as text would otherwise fail
far away, in the report's formatting. Any problem is a :class:`PrecisionTableError` (a user error: one line
naming the file and the entry, exit 2).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path

from greenft.errors import UserError
from greenft.io import read_text
from greenft.schema.inference import PrecisionRow, precision_rows_from_json

__all__ = ["PrecisionTableError", "check_precision_row", "read_precision_tables"]

WHAT = "precision table"


class PrecisionTableError(UserError, ValueError):
    """A precision-table file that is missing, not JSON, or holds an entry that is not a valid row."""


_KINDS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "bool": (bool,),
    "float | None": (int, float, type(None)),
    "int | None": (int, type(None)),
}


def check_precision_row(row: PrecisionRow) -> None:
    """ValueError naming the first field whose value has the wrong type (``"0.8"`` for a metric) or is negative
    or not finite where only a non-negative finite number makes sense (sizes, counts, costs)."""
    for f in fields(row):
        value = getattr(row, f.name)
        kinds = _KINDS.get(str(f.type), (object,))
        wrong_bool = isinstance(value, bool) and bool not in kinds
        if wrong_bool or not isinstance(value, kinds):
            raise ValueError(f"field {f.name!r} is {value!r}, expected {f.type}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if f.name == "metric" and not math.isfinite(value):
            raise ValueError(f"field 'metric' is {value!r}, expected a finite number")
        if f.name != "metric" and (not math.isfinite(value) or value < 0):
            raise ValueError(f"field {f.name!r} is {value!r}, expected a finite number >= 0")


def read_precision_tables(paths: Iterable[Path]) -> list[PrecisionRow]:
    """Every row of every file, in order; :class:`PrecisionTableError` names the file (and the entry) at fault."""
    rows: list[PrecisionRow] = []
    for path in paths:
        text = read_text(path, WHAT, PrecisionTableError)  # missing or unreadable: named by io
        try:  # not JSON (json's own error is a ValueError), not a list, an entry that is not a row
            found = precision_rows_from_json(text)
        except ValueError as err:
            raise PrecisionTableError(f"{WHAT} {path}: {err}") from None
        for index, row in enumerate(found):
            try:
                check_precision_row(row)
            except ValueError as err:
                raise PrecisionTableError(f"{WHAT} {path}: entry {index}: {err}") from None
        rows.extend(found)
    return rows
