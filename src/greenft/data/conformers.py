"""3D coordinates for a SMILES when a file has none: RDKit's ETKDG embedding, then an MMFF94 relaxation, seeded.

Used by ``greenft predict`` with a 3D model (schnet): a user gives SMILES, the model needs atoms and positions.
The geometries are force-field ones, not the DFT geometries QM9 trained on, so predictions carry that extra
error (docs/models.md, "schnet"); training on a set without coordinates is refused instead (greenft.models.items).
"""

from __future__ import annotations

import numpy as np
from rdkit import Chem
from rdkit.Chem import AllChem

from greenft.data.rdkit_quiet import rdkit_quiet
from greenft.data.structures import Structure

CONFORMER_SEED = 0


def conformer_structure(smiles: str, seed: int = CONFORMER_SEED) -> Structure:
    """One ETKDG (v3) conformer of ``smiles`` with hydrogens, MMFF94-relaxed when MMFF has parameters for it;
    ValueError when RDKit cannot parse or embed the molecule."""
    with rdkit_quiet():
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            raise ValueError(f"invalid SMILES {smiles!r}")
        mol = Chem.AddHs(mol)
        params = AllChem.ETKDGv3()  # type: ignore[attr-defined]
        params.randomSeed = seed
        if AllChem.EmbedMolecule(mol, params) != 0:  # type: ignore[attr-defined]
            raise ValueError(f"RDKit cannot embed 3D coordinates for {smiles!r}")
        if AllChem.MMFFHasAllMoleculeParams(mol):  # type: ignore[attr-defined]
            AllChem.MMFFOptimizeMolecule(mol, maxIters=500)  # type: ignore[attr-defined]
        positions = np.asarray(mol.GetConformer().GetPositions(), dtype=np.float64)
    z = np.array([atom.GetAtomicNum() for atom in mol.GetAtoms()], dtype=np.int64)
    return Structure(z, positions)
