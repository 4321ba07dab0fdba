"""Molecular graphs with the categorical features of Hu et al. 2020 ("Strategies for Pre-training GNNs").

Published pretrained GIN/GCN encoders embed atoms and bonds by *index*, so the indices must mean what they
meant at pretraining time. We follow the pretrain-gnns conventions (our own code):

* node feature 0, atom type: atomic number Z in 1..118 -> Z-1 (0..117); anything else (the dummy atom ``*``,
  Z = 0) -> 118 (``OTHER_ATOM``); 119 is reserved for a masked atom (``MASK_ATOM``) in pretraining.
* node feature 1, chirality tag: unspecified 0, tetrahedral CW 1, tetrahedral CCW 2; any other RDKit tag is
  mapped to 0 because the published embedding tables have exactly 3 rows.
* edge feature 0, bond type: single 0, double 1, triple 2, aromatic 3 (others -> single); 4 is the self-loop
  the GIN layer adds, 5 a masked bond.
* edge feature 1, bond direction: none 0, end-up-right 1, end-down-right 2 (others -> none).

Every chemical bond becomes two directed edges.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from rdkit import Chem
from torch_geometric.data import Data

FEATURIZER_NAME = "hu2020"
FEATURIZER_VERSION = 1

NUM_ATOM_TYPES = 120
OTHER_ATOM = 118
MASK_ATOM = 119
NUM_CHIRALITY_TAGS = 3
NUM_BOND_TYPES = 6
SELF_LOOP_BOND = 4
MASK_BOND = 5
NUM_BOND_DIRECTIONS = 3

_CHIRALITY = {
    Chem.ChiralType.CHI_UNSPECIFIED: 0,
    Chem.ChiralType.CHI_TETRAHEDRAL_CW: 1,
    Chem.ChiralType.CHI_TETRAHEDRAL_CCW: 2,
}
_BOND_TYPE = {
    Chem.BondType.SINGLE: 0,
    Chem.BondType.DOUBLE: 1,
    Chem.BondType.TRIPLE: 2,
    Chem.BondType.AROMATIC: 3,
}
_BOND_DIRECTION = {
    Chem.BondDir.NONE: 0,
    Chem.BondDir.ENDUPRIGHT: 1,
    Chem.BondDir.ENDDOWNRIGHT: 2,
}


def atom_type_index(atomic_number: int) -> int:
    return atomic_number - 1 if 1 <= atomic_number <= 118 else OTHER_ATOM


def categorical_graph(mol: Chem.Mol, atom_index: Callable[[int], int]) -> Data:
    """The graph layout both published featurisations share (Hu et al. and MolCLR): per atom (type, chirality),
    per bond (type, direction), each bond as two directed edges; only the atom-type vocabulary differs."""
    x = torch.tensor(
        [[atom_index(a.GetAtomicNum()), _CHIRALITY.get(a.GetChiralTag(), 0)] for a in mol.GetAtoms()],
        dtype=torch.long,
    ).view(-1, 2)
    pairs: list[tuple[int, int]] = []
    attrs: list[tuple[int, int]] = []
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        feature = (_BOND_TYPE.get(bond.GetBondType(), 0), _BOND_DIRECTION.get(bond.GetBondDir(), 0))
        pairs += [(i, j), (j, i)]
        attrs += [feature, feature]
    edge_index = torch.tensor(pairs, dtype=torch.long).t().contiguous().view(2, -1)
    edge_attr = torch.tensor(attrs, dtype=torch.long).view(-1, 2)
    return Data(x=x, edge_index=edge_index, edge_attr=edge_attr)


def mol_to_graph(mol: Chem.Mol) -> Data:
    """A PyG graph: ``x`` (atoms x 2, long), ``edge_index`` (2 x 2*bonds), ``edge_attr`` (2*bonds x 2, long)."""
    return categorical_graph(mol, atom_type_index)


def smiles_to_graph(smiles: str) -> Data:
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"invalid SMILES {smiles!r}")
    return mol_to_graph(mol)


@dataclass(frozen=True)
class Featurizer:
    """A named, versioned SMILES -> graph function; the name and version are part of every cache key.

    Published encoders differ in what their embedding indices mean (Hu et al. vs MolCLR), so each model family
    names the featuriser it needs and graphs made for one are never served to the other from the cache.
    """

    name: str
    version: int
    smiles_to_graph: Callable[[str], Data]
    description: str


HU2020 = Featurizer(
    FEATURIZER_NAME,
    FEATURIZER_VERSION,
    smiles_to_graph,
    "Hu et al. 2020 (pretrain-gnns): heavy atoms, atom vocab 120, bond vocab 6 (self-loop 4, mask 5)",
)
