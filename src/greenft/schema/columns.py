"""A logged key as data: its template, its JSON type, how its value is computed and when it is present.

Why data rather than code: the builders, the docs test, the sweep-file check and the analysis' decoding all
need the same list of keys; as entries of a table they are written once and iterated everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["Column"]

T = TypeVar("T")


@dataclass(frozen=True)
class Column(Generic[T]):
    """One logged key.

    ``template`` may hold ``{metric}`` / ``{rule}``; ``kind`` is the JSON type (``float`` keys are written with
    NaN as null and infinities as ``"inf"``); ``value`` computes it from the builder's input; ``when`` (default:
    always) says whether the key is written at all for that input.
    """

    template: str
    kind: type
    value: Callable[[T], Any]
    when: Callable[[T], bool] | None = None

    def present(self, source: T) -> bool:
        return self.when is None or self.when(source)
