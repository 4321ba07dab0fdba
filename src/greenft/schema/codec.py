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

__all__ = ["decode_floats", "number", "tidy", "to_json_value"]


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


SIGNIFICANT_DIGITS = 15


def tidy(value: Any) -> Any:
    """``value`` with every float at its shortest decimal of 15 significant digits (in dicts and lists too).

    Why: a stepped search space proposes ``0.8200000000000001`` (W&B's ``q_uniform``: ``round(x / q) * q``;
    ``0.0058000000000000005`` from ``q_log_uniform_values``), and that artefact was what the run config, the
    sweep state and the W&B dashboards showed. 15 significant digits is the most a double keeps for any decimal,
    so a value typed or meant as ``0.82`` comes back as ``0.82`` while a drawn ``0.7134912518223461`` changes
    below its 15th digit only; the value tidied is the value that trains, so the record stays exact.
    """
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, dict):
        return {key: tidy(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(tidy(item) for item in value)
    return value
