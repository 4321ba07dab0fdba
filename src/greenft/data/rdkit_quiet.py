"""Silence RDKit's parse warnings while we validate SMILES ourselves and report failures by row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rdkit import RDLogger


@contextmanager
def rdkit_quiet() -> Iterator[None]:
    RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]
    try:
        yield
    finally:
        RDLogger.EnableLog("rdApp.*")  # type: ignore[attr-defined]
