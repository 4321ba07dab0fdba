"""The guard that ends a trial whose training loss or metric became NaN or infinite.

Why: a NaN loss trains nothing, and an infinite RMSE makes every stopping rule and every summary point
meaningless, yet the epoch loop would carry on and the run would be reported ``finished`` with exit 0. The
trial stops at the first such epoch instead (that epoch is not logged; the ones before it are kept), the run is
recorded ``failed`` and the command exits 1 with one line naming the epoch, what became non-finite and the
likely cause: label rows too large for float32 arithmetic (squares of |y| above ~1.8e19 overflow, as the loss
and RMSE compute them), or else a model that diverged at this learning rate.
"""

from __future__ import annotations

import math

from greenft.data import LabelledMolecules, Metric
from greenft.data.labels import SQUARE_OVERFLOW, large_label_rows, rows_text
from greenft.errors import RunFailedError


class NonFiniteError(RunFailedError, ArithmeticError):
    """A training loss or metric became NaN or infinite: the run is failed (exit 1), never finished."""


def non_finite(loss: float, val: float, test: float, metric: Metric) -> str | None:
    """What became non-finite this epoch (the first of loss, validation, test), or None when all are finite."""
    for name, value in (("training loss", loss), (f"validation {metric.value}", val), (f"test {metric.value}", test)):
        if not math.isfinite(value):
            return f"the {name} became {value}"
    return None


def check_finite(epoch: int, loss: float, val: float, test: float, molecules: LabelledMolecules, lr: float) -> None:
    """Raise :class:`NonFiniteError` naming the epoch, the value and the cause when anything is not finite."""
    problem = non_finite(loss, val, test, molecules.spec.metric)
    if problem is None:
        return
    known = molecules.rows or list(range(1, len(molecules.smiles) + 1))
    rows = large_label_rows(molecules.labels, molecules.spec.target_columns, known)
    if rows:
        where = "; ".join(f"column {column!r} {rows_text(found)}" for column, found in rows.items())
        cause = (
            f"labels too large for float32 arithmetic (|value| > {SQUARE_OVERFLOW:.3g}) in {molecules.path}: "
            f"{where}; rescale them (e.g. log units) or remove those rows"
        )
    else:
        cause = f"the model diverged at learning rate {lr:g}; lower it (--lr)"
    raise NonFiniteError(f"epoch {epoch}: {problem}: {cause}")
