"""Every key greenft logs, looked up by name: which table holds it, its type, and the metric or rule in it.

Why: readers meet concrete keys (``stop/val_rmse``, ``shadow/patience_p5_d0.0/aer``) and need to know what they
are: a sweep file's metric must be a key greenft logs (per epoch, for early termination), and decoding JSON
needs each key's type. Both answers come from the tables, so a key added there is known here at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from greenft.schema import history, summary
from greenft.schema.keys import match_template

__all__ = ["KeyInfo", "find_key", "history_kinds", "kind_of", "summary_kinds"]


def history_kinds() -> list[tuple[str, type]]:
    """Every history key template with its type."""
    # Read through the module, never copied at import: the tables are the one list of keys.
    epoch = [(c.template, c.kind) for c in history.EPOCH_COLUMNS]
    return epoch + [(c.template, c.kind) for c in history.SHADOW_EPOCH_COLUMNS]


def summary_kinds() -> list[tuple[str, type]]:
    """Every summary key template with its type."""
    return summary.summary_columns()


def kind_of(name: str, kinds: Iterable[tuple[str, type]]) -> type | None:
    """The type of the concrete key ``name`` under the templates ``kinds``; None for a key not among them."""
    for template, kind in kinds:
        if match_template(name, template) is not None:
            return kind
    return None


@dataclass(frozen=True)
class KeyInfo:
    """What a concrete key is: its template and type, whether it is logged every epoch, what fills its slots."""

    template: str
    kind: type
    per_epoch: bool
    metric: str | None = None
    rule: str | None = None


def find_key(name: str) -> KeyInfo | None:
    """The key ``name`` as greenft logs it (history first: ``stop/reason`` is both), or None if it never does."""
    for per_epoch, kinds in ((True, history_kinds()), (False, summary_kinds())):
        for template, kind in kinds:
            found = match_template(name, template)
            if found is not None:
                return KeyInfo(template, kind, per_epoch, found.get("metric"), found.get("rule"))
    return None
