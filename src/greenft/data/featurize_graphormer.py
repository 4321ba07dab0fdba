"""Molecular graphs for the ``graphormer`` family: OGB-style atom and bond features, atoms in canonical order.

Graphormer was trained and evaluated on OGB molecules (``ogb.utils.smiles2graph``): 9 categorical features per
atom and 3 per bond, richer than Hu et al.'s (type, chirality), which a model without message passing needs
more, since a Transformer sees an atom's neighbourhood only through the attention biases. This featuriser
follows OGB's feature list and value ranges (our own code; the ``ogb`` package is not a dependency), every
out-of-range value mapped to the feature's last, "other" index as OGB does:

* atom: atomic number (1..118 -> 0..117, else 118), chirality tag (4 + other), degree (0..10 + other), formal
  charge (-5..5 + other), total hydrogens (0..8 + other), radical electrons (0..4 + other), hybridisation
  (SP, SP2, SP3, SP3D, SP3D2 + other), aromatic (0/1), in a ring (0/1);
* bond: type (single, double, triple, aromatic + other), stereo (6 RDKit values), conjugated (0/1).

Why canonical atom order (RDKit ``CanonicalRankAtoms``): a pair of atoms may be joined by several shortest paths
(across a ring), and Graphormer's edge encoding follows one of them; which one must not depend on how the SMILES
happened to number the atoms, or the same molecule written two ways would get two predictions. Renumbering the
atoms canonically before anything else makes every later tie-break (by atom index) a property of the molecule.
Bonds are listed sorted by their (canonical) end atoms for the same reason. Every bond becomes two directed edges.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from rdkit import Chem
from torch_geometric.data import Data

from greenft.data.featurize import Featurizer

GRAPHORMER_FEATURIZER_NAME = "ogb-canonical"
GRAPHORMER_FEATURIZER_VERSION = 1

_CHIRALITY = [
    Chem.ChiralType.CHI_UNSPECIFIED,
    Chem.ChiralType.CHI_TETRAHEDRAL_CW,
    Chem.ChiralType.CHI_TETRAHEDRAL_CCW,
    Chem.ChiralType.CHI_OTHER,
]
_HYBRIDISATION = [
    Chem.HybridizationType.SP,
    Chem.HybridizationType.SP2,
    Chem.HybridizationType.SP3,
    Chem.HybridizationType.SP3D,
    Chem.HybridizationType.SP3D2,
]
_BOND_TYPE = [Chem.BondType.SINGLE, Chem.BondType.DOUBLE, Chem.BondType.TRIPLE, Chem.BondType.AROMATIC]
_STEREO = [
    Chem.BondStereo.STEREONONE,
    Chem.BondStereo.STEREOZ,
    Chem.BondStereo.STEREOE,
    Chem.BondStereo.STEREOCIS,
    Chem.BondStereo.STEREOTRANS,
    Chem.BondStereo.STEREOANY,
]

ATOM_FEATURE_SIZES: tuple[int, ...] = (119, 5, 12, 12, 10, 6, 6, 2, 2)
"""Values each atom feature takes (the embedding table sizes), in the column order of ``x``."""
BOND_FEATURE_SIZES: tuple[int, ...] = (5, 6, 2)
"""Values each bond feature takes, in the column order of ``edge_attr``."""


def _index(values: Sequence[object], value: object) -> int:
    """``value``'s position in ``values``, or ``len(values)`` (the "other" index) when absent."""
    return values.index(value) if value in values else len(values)


def _clamped(value: int, low: int, high: int) -> int:
    """``value - low`` inside ``low..high``; the "other" index ``high - low + 1`` outside."""
    return value - low if low <= value <= high else high - low + 1


def atom_features(atom: Chem.Atom) -> list[int]:
    number = atom.GetAtomicNum()
    return [
        number - 1 if 1 <= number <= 118 else 118,
        _index(_CHIRALITY, atom.GetChiralTag()),
        _clamped(atom.GetTotalDegree(), 0, 10),
        _clamped(atom.GetFormalCharge(), -5, 5),
        _clamped(atom.GetTotalNumHs(), 0, 8),
        _clamped(atom.GetNumRadicalElectrons(), 0, 4),
        _index(_HYBRIDISATION, atom.GetHybridization()),
        int(atom.GetIsAromatic()),
        int(atom.IsInRing()),
    ]


def bond_features(bond: Chem.Bond) -> list[int]:
    return [
        _index(_BOND_TYPE, bond.GetBondType()),
        min(_index(_STEREO, bond.GetStereo()), len(_STEREO) - 1),
        int(bond.GetIsConjugated()),
    ]


def canonical_order(mol: Chem.Mol) -> Chem.Mol:
    """``mol`` with its atoms renumbered by RDKit's canonical ranks (the same numbering however it was written)."""
    ranks = list(Chem.CanonicalRankAtoms(mol, breakTies=True))
    order = sorted(range(mol.GetNumAtoms()), key=ranks.__getitem__)
    return Chem.RenumberAtoms(mol, order)


def graphormer_mol_to_graph(mol: Chem.Mol) -> Data:
    """A PyG graph: ``x`` (atoms x 9, long), ``edge_index`` (2 x 2*bonds), ``edge_attr`` (2*bonds x 3, long)."""
    mol = canonical_order(mol)
    x = torch.tensor([atom_features(atom) for atom in mol.GetAtoms()], dtype=torch.long).view(-1, 9)
    bonds = sorted(
        (min(b.GetBeginAtomIdx(), b.GetEndAtomIdx()), max(b.GetBeginAtomIdx(), b.GetEndAtomIdx()), bond_features(b))
        for b in mol.GetBonds()
    )
    pairs: list[tuple[int, int]] = []
    attrs: list[list[int]] = []
    for i, j, feature in bonds:
        pairs += [(i, j), (j, i)]
        attrs += [feature, feature]
    edge_index = torch.tensor(pairs, dtype=torch.long).t().contiguous().view(2, -1)
    edge_attr = torch.tensor(attrs, dtype=torch.long).view(-1, 3)
    return Data(x=x, edge_index=edge_index, edge_attr=edge_attr)


def graphormer_smiles_to_graph(smiles: str) -> Data:
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"invalid SMILES {smiles!r}")
    return graphormer_mol_to_graph(mol)


GRAPHORMER_FEATURES = Featurizer(
    GRAPHORMER_FEATURIZER_NAME,
    GRAPHORMER_FEATURIZER_VERSION,
    graphormer_smiles_to_graph,
    "OGB smiles2graph features (9 per atom, 3 per bond), heavy atoms in RDKit canonical order",
)
