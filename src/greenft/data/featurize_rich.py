"""Molecular graphs with chemprop-like one-hot atom and bond features (the ``gin-rich`` model's featuriser).

Why a second graph featuriser: the Hu et al. 2020 layout (:mod:`greenft.data.featurize`) gives a randomly
initialised GIN only the element and the chirality tag of each atom, and the bond type and direction. That is all
a published checkpoint's embedding tables can read, but a model trained from scratch on a thousand molecules then
has to learn from bond patterns alone what chemprop's D-MPNN is simply told: how many hydrogens an atom carries,
its charge, hybridisation, aromaticity, ring membership. The feature groups follow chemprop's default featuriser
(Yang et al. 2019; chemprop v2 ``MultiHotAtomFeaturizer`` / ``MultiHotBondFeaturizer``), written here from their
published description, so graphs are dense float vectors rather than embedding indices:

* atom (``ATOM_DIM`` = 133 floats): element one-hot over Z = 1..100 plus "other" (101); degree 0..5 plus other
  (7); formal charge -2..2 plus other (6); chirality unspecified / CW / CCW plus other (4); total hydrogen count
  0..4 plus other (6); hybridisation S, SP, SP2, SP3, SP3D, SP3D2 plus other (7); aromatic (1); mass / 100 (1).
* bond (``BOND_DIM`` = 13 floats): single / double / triple / aromatic (4); conjugated (1); in a ring (1);
  stereo none / any / Z / E / cis / trans plus other (7).

Every chemical bond becomes two directed edges with the same features, as in the Hu et al. featuriser.
"""

from __future__ import annotations

import torch
from rdkit import Chem
from torch_geometric.data import Data

from greenft.data.featurize import Featurizer

RICH_FEATURIZER_NAME = "rich"
RICH_FEATURIZER_VERSION = 1

MAX_ATOMIC_NUMBER = 100
DEGREES = (0, 1, 2, 3, 4, 5)
FORMAL_CHARGES = (-2, -1, 0, 1, 2)
CHIRAL_TAGS = (
    Chem.ChiralType.CHI_UNSPECIFIED,
    Chem.ChiralType.CHI_TETRAHEDRAL_CW,
    Chem.ChiralType.CHI_TETRAHEDRAL_CCW,
)
HYDROGEN_COUNTS = (0, 1, 2, 3, 4)
HYBRIDISATIONS = (
    Chem.HybridizationType.S,
    Chem.HybridizationType.SP,
    Chem.HybridizationType.SP2,
    Chem.HybridizationType.SP3,
    Chem.HybridizationType.SP3D,
    Chem.HybridizationType.SP3D2,
)
BOND_TYPES = (Chem.BondType.SINGLE, Chem.BondType.DOUBLE, Chem.BondType.TRIPLE, Chem.BondType.AROMATIC)
BOND_STEREO = (
    Chem.BondStereo.STEREONONE,
    Chem.BondStereo.STEREOANY,
    Chem.BondStereo.STEREOZ,
    Chem.BondStereo.STEREOE,
    Chem.BondStereo.STEREOCIS,
    Chem.BondStereo.STEREOTRANS,
)

# one-hot groups with an "other" slot, in feature order: (name, number of slots incl. other)
ATOM_GROUPS: tuple[tuple[str, int], ...] = (
    ("element", MAX_ATOMIC_NUMBER + 1),
    ("degree", len(DEGREES) + 1),
    ("formal_charge", len(FORMAL_CHARGES) + 1),
    ("chirality", len(CHIRAL_TAGS) + 1),
    ("hydrogens", len(HYDROGEN_COUNTS) + 1),
    ("hybridisation", len(HYBRIDISATIONS) + 1),
)
ATOM_DIM = sum(size for _, size in ATOM_GROUPS) + 2  # + aromatic + mass / 100
BOND_DIM = len(BOND_TYPES) + 2 + len(BOND_STEREO) + 1  # types, conjugated, in ring, stereo + other


def _one_hot(value: object, choices: tuple[object, ...]) -> list[float]:
    """``len(choices) + 1`` floats: a 1 at ``value``'s position, or in the last ("other") slot."""
    out = [0.0] * (len(choices) + 1)
    out[choices.index(value) if value in choices else len(choices)] = 1.0
    return out


def atom_features(atom: Chem.Atom) -> list[float]:
    """The ``ATOM_DIM`` floats of one atom (see the module docstring for the groups and their order)."""
    z = atom.GetAtomicNum()
    element = [0.0] * (MAX_ATOMIC_NUMBER + 1)
    element[z - 1 if 1 <= z <= MAX_ATOMIC_NUMBER else MAX_ATOMIC_NUMBER] = 1.0
    return [
        *element,
        *_one_hot(atom.GetTotalDegree(), DEGREES),
        *_one_hot(atom.GetFormalCharge(), FORMAL_CHARGES),
        *_one_hot(atom.GetChiralTag(), CHIRAL_TAGS),
        *_one_hot(atom.GetTotalNumHs(), HYDROGEN_COUNTS),
        *_one_hot(atom.GetHybridization(), HYBRIDISATIONS),
        1.0 if atom.GetIsAromatic() else 0.0,
        atom.GetMass() / 100.0,
    ]


def bond_features(bond: Chem.Bond) -> list[float]:
    """The ``BOND_DIM`` floats of one bond: type one-hot (no "other": unknown types are all zeros), conjugated,
    in ring, stereo one-hot with "other"."""
    kind = [1.0 if bond.GetBondType() == t else 0.0 for t in BOND_TYPES]
    return [
        *kind,
        1.0 if bond.GetIsConjugated() else 0.0,
        1.0 if bond.IsInRing() else 0.0,
        *_one_hot(bond.GetStereo(), BOND_STEREO),
    ]


def rich_mol_to_graph(mol: Chem.Mol) -> Data:
    """``x`` (atoms x ATOM_DIM, float), ``edge_index`` (2 x 2*bonds), ``edge_attr`` (2*bonds x BOND_DIM, float)."""
    x = torch.tensor([atom_features(a) for a in mol.GetAtoms()], dtype=torch.float32).view(-1, ATOM_DIM)
    pairs: list[tuple[int, int]] = []
    attrs: list[list[float]] = []
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        feature = bond_features(bond)
        pairs += [(i, j), (j, i)]
        attrs += [feature, feature]
    edge_index = torch.tensor(pairs, dtype=torch.long).t().contiguous().view(2, -1)
    edge_attr = torch.tensor(attrs, dtype=torch.float32).view(-1, BOND_DIM)
    return Data(x=x, edge_index=edge_index, edge_attr=edge_attr)


def rich_smiles_to_graph(smiles: str) -> Data:
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"invalid SMILES {smiles!r}")
    return rich_mol_to_graph(mol)


RICH = Featurizer(
    RICH_FEATURIZER_NAME,
    RICH_FEATURIZER_VERSION,
    rich_smiles_to_graph,
    f"chemprop-like one-hot features: atom {ATOM_DIM} floats (element, degree, charge, chirality, H count, "
    f"hybridisation, aromatic, mass), bond {BOND_DIM} floats (type, conjugated, ring, stereo)",
)
