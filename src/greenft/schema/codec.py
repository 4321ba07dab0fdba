"""How logged values travel through greenft's JSON files, both ways.

Why: strict JSON has no NaN or infinity, and greenft's metrics have both (an undefined AER, a diverged loss).
The writer turns NaN into ``null`` and infinities into ``"inf"`` / ``"-inf"``; a reader that wants numbers back
must undo exactly that, and only for the keys that are numbers (a ``null`` ``shadow/<rule>/stop_epoch`` means
"never stopped", not NaN). The tables say which keys are ``float``, so decoding follows them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from greenft.schema.catalog import kind_of

__all__ = ["decode_floats", "number", "to_json_value"]


def to_json_value(value: Any) -> Any:
    """``value`` with NaN as None and infinities as ``"inf"`` / ``"-inf"``, recursively (dicts, lists, tuples)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    return value


def number(value: Any) -> float:
    """A logged value as a float: None (NaN in greenft's JSON), booleans and non-numbers become NaN."""
    if isinstance(value, bool) or value is None:
        return math.nan
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):  # "inf" / "-inf" / "NaN" as greenft's JSON lines write them
        try:
            return float(value)
        except ValueError:
            return math.nan
    return math.nan


def decode_floats(values: Mapping[str, Any], kinds: Iterable[tuple[str, type]]) -> dict[str, Any]:
    """``values`` with every ``float`` key turned back into a float (null -> NaN, ``"inf"`` -> inf).

    Other keys are left as written, so ``None`` keeps meaning "none" where a key is not a number.
    """
    table = list(kinds)
    exact = {template: kind for template, kind in table if "{" not in template}
    slotted = [(template, kind) for template, kind in table if "{" in template]
    out: dict[str, Any] = {}
    for name, value in values.items():
        kind = exact.get(name) or kind_of(name, slotted)
        out[name] = number(value) if kind is float and (value is None or isinstance(value, str)) else value
    return out
