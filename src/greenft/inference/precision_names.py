"""Precision names as the user types them (``--precisions float32,dynamic-int8``), checked without torch.

Why apart from :mod:`greenft.inference.precision`: a typo must be answered in one line before the command imports
torch (seconds, tens on a busy machine), as every other ``greenft`` user error is (tests/test_cli_imports.py).
"""

from __future__ import annotations

from greenft.errors import UserError
from greenft.schema.inference import Precision

__all__ = ["UnknownPrecisionError", "parse_precisions"]


class UnknownPrecisionError(UserError):
    """A precision name that is not one of :class:`~greenft.schema.inference.Precision`."""


def parse_precisions(text: str) -> list[Precision]:
    """``"float32,dynamic-int8"`` -> the precisions in the given order (duplicates dropped).

    An unknown or empty name is a user error naming it and listing the valid ones."""
    valid = ", ".join(p.value for p in Precision)
    chosen: list[Precision] = []
    for name in (part.strip() for part in text.split(",")):
        try:
            precision = Precision(name)
        except ValueError:
            raise UnknownPrecisionError(f"--precisions: unknown precision {name!r} (valid: {valid})") from None
        if precision not in chosen:
            chosen.append(precision)
    return chosen
