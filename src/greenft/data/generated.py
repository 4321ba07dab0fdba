"""Built-in datasets greenft generates itself, once, into its cache: a spec's ``generator`` names one here.

Why a table of generators rather than a path: a generated table's file name depends on what made it (source
file, sample, library version: see greenft.data.descriptors), so only its generator knows where it is, and
generating it needs RDKit, which the registry (read by ``--help`` and config checks) must not import.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from greenft.data.descriptors import descriptor_table

GENERATORS: dict[str, Callable[[], Path]] = {"descriptors": descriptor_table}
"""Generator name -> a function returning the table's path in the cache, generating it when absent."""


def generated_table(name: str) -> Path:
    """The path of generator ``name``'s table (generated on first use)."""
    return GENERATORS[name]()
