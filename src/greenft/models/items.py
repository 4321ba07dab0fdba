"""How a loaded dataset becomes a family's items: from SMILES, or (3D families) from each molecule's structure.

The one place that decides, so the trainer and the benchmarks call one function and a 3D family on a dataset
without coordinates fails in one line before any model is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from greenft.data.loading import LabelledMolecules
from greenft.models.base import ModelFamily
from greenft.models.errors import ModelOptionError


def encode_items(family: ModelFamily, molecules: LabelledMolecules) -> Sequence[Any]:
    """The family's items for ``molecules``: :meth:`ModelFamily.encode` on the SMILES, or, for a family that
    ``needs_structures``, :meth:`ModelFamily.encode_structures` on the dataset's coordinates.

    A 3D family on a set without coordinates is refused rather than given RDKit conformers: a model trained on
    force-field geometries is a different experiment from one trained on QM9's DFT geometries, and embedding a
    few thousand molecules costs minutes on a CPU (docs/models.md, "schnet").
    """
    if not family.needs_structures:
        return family.encode(molecules.smiles, molecules.labels)
    if molecules.structures is None:
        raise ModelOptionError(
            f"model {family.name!r} needs 3D coordinates and dataset {molecules.spec.name!r} has none; train it on a "
            "dataset with coordinates (qm9)"
        )
    return family.encode_structures(molecules.structures, molecules.labels)
