"""Reading ``greenft baseline --out FILE.json`` reports for ``greenft analyze --baseline FILE`` (the I/O side of
:mod:`greenft.analysis.baseline_table`). A missing, non-JSON or malformed file is a :class:`BaselineFileError`:
one line naming the file and the field at fault, exit 2, before a single run is read."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from greenft.errors import UserError
from greenft.io import read_text
from greenft.schema.baseline import BaselineReport

__all__ = ["BaselineFileError", "read_baseline_reports"]

WHAT = "baseline report"


class BaselineFileError(UserError, ValueError):
    """A baseline report that is missing, not JSON, or not what ``greenft baseline --out`` writes."""


def read_baseline_reports(paths: Iterable[Path]) -> list[BaselineReport]:
    """Every report, in order."""
    reports = []
    for path in paths:
        text = read_text(path, WHAT, BaselineFileError)
        try:
            reports.append(BaselineReport.model_validate_json(text))
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(the file)"
            raise BaselineFileError(
                f"{WHAT} {path}: {where}: {first['msg']} (expected the JSON `greenft baseline --out` writes)"
            ) from None
    return reports
