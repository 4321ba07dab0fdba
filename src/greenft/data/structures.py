"""The one contract by which 3D coordinates reach a model family: a per-molecule :class:`Structure` (Z, pos).

Why one record and not a featuriser argument per family: a dataset that has coordinates (QM9, greenft.data.qm9)
carries them beside its SMILES in :attr:`greenft.data.loading.LabelledMolecules.structures`, in the molecules'
order, and only a family that declares it needs them (``ModelFamily.needs_structures``) reads them
(greenft.models.items). 1D and 2D families never see them, and a dataset without coordinates has ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Structure:
    """One molecule's atoms: atomic numbers ``z`` (n,) and Cartesian positions ``pos`` (n, 3) in Angstrom,
    hydrogens included, in the order of the source file."""

    z: np.ndarray
    pos: np.ndarray

    def __post_init__(self) -> None:
        if self.z.ndim != 1 or self.pos.shape != (len(self.z), 3):
            raise ValueError(f"a structure needs z (n,) and pos (n, 3); got {self.z.shape} and {self.pos.shape}")

    @property
    def num_atoms(self) -> int:
        return len(self.z)


ELEMENT_NUMBERS: dict[str, int] = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9, "S": 16, "Cl": 17, "Br": 35, "I": 53}
"""Element symbol -> atomic number for the elements the coordinate files hold (QM9: H, C, N, O, F)."""
