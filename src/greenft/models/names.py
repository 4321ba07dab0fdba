"""The model names a config may use, known without importing a model family (torch, PyTorch Geometric).

Why apart from :mod:`greenft.models.registry`: the registry builds every family at import, which imports torch
(seconds); ``greenft train --model nope`` must say the name is unknown before that, in about a second. The
registry registers exactly :data:`BUILTIN_MODELS` (``tests/test_cli_imports.py`` holds the two together) and
raises :class:`UnknownModelError` through :func:`unknown_model`, so both checks print the same line.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from greenft.errors import UserError

HUB_PREFIX = "hub:"
"""``hub:<name or directory>``: any transformers checkpoint, made on demand."""

BUILTIN_MODELS: tuple[str, ...] = (
    "chemprop-dmpnn",
    "dual-view-both",
    "dual-view-graph",
    "dual-view-seq",
    "ecfp-mlm",
    "gcn",
    "gcn-contrastive",
    "gcn-molclr",
    "gin",
    "gin-contrastive",
    "gin-molclr",
    "gin-rich",
    "graphormer",
    "schnet",
    "selfies-mlm",
    "selfies-transformer",
    "smiles-mlm",
    "smiles-transformer",
)
"""The families :mod:`greenft.models.registry` registers at import."""


class UnknownModelError(UserError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def unknown_model(name: str, known: Iterable[str]) -> UnknownModelError:
    """The error for a name that is none of ``known`` (the registry's names, or the built-in ones)."""
    listed = ", ".join([*sorted(known), f"{HUB_PREFIX}<name>"])
    return UnknownModelError(f"unknown model {name!r}; known models: {listed}")


def check_model_name(name: str) -> None:
    """Raise :class:`UnknownModelError` unless ``name`` is a model ``get_family`` would find.

    A family registered at run time is registered in the imported registry, so when the registry is loaded its
    table is the one consulted; otherwise only the built-in names can exist.
    """
    if name.startswith(HUB_PREFIX):
        return
    registry = sys.modules.get("greenft.models.registry")
    known: Iterable[str] = getattr(registry, "MODEL_FAMILIES", BUILTIN_MODELS)
    if name not in known:
        raise unknown_model(name, known)
