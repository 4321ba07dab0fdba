"""Molecular graphs with the categorical features MolCLR (Wang et al. 2022) fine-tunes on.

MolCLR's encoders embed atoms and bonds by index like Hu et al.'s, but with their own vocabularies, and its
fine-tuning dataset adds explicit hydrogens. Their published weights only mean something on graphs built the
same way, so this featuriser reproduces their conventions (our own code, read from yuyangw/MolCLR's
``dataset/dataset_test.py`` and ``models/*_finetune.py``):

* explicit hydrogens: ``Chem.AddHs`` before featurising, as MolCLR's fine-tuning dataset does. (Its
  *pretraining* dataset leaves the ``AddHs`` call commented out; we follow the fine-tuning code, since that is
  what produced the paper's downstream numbers.)
* node feature 0, atom type: atomic number Z in 1..118 -> Z-1 (0..117); the table has 119 rows and row 118 is
  the mask token of pretraining. MolCLR's code raises on anything else (the dummy atom ``*``, Z = 0); we map
  it to the mask token, the one row that means "an atom of unknown type".
* node feature 1, chirality: unspecified 0, tetrahedral CW 1, tetrahedral CCW 2. MolCLR's list also has
  ``CHI_OTHER`` at index 3, but the published table has 3 rows (index 3 would fail), so other tags map to 0.
* edge feature 0, bond type: single 0, double 1, triple 2, aromatic 3; 4 is the self-loop the layers add (the
  table has 5 rows: no mask bond). Other RDKit bond types (dative, ...) map to single, where MolCLR raises.
* edge feature 1, bond direction: none 0, end-up-right 1, end-down-right 2 (others -> none).

Every chemical bond becomes two directed edges with the same features, in bond order, as in MolCLR.
"""

from __future__ import annotations

from rdkit import Chem
from torch_geometric.data import Data

from greenft.data.featurize import Featurizer, categorical_graph

MOLCLR_FEATURIZER_NAME = "molclr"
MOLCLR_FEATURIZER_VERSION = 1

MOLCLR_NUM_ATOM_TYPES = 119
MOLCLR_MASK_ATOM = 118
MOLCLR_NUM_CHIRALITY_TAGS = 3
MOLCLR_NUM_BOND_TYPES = 5
MOLCLR_SELF_LOOP_BOND = 4
MOLCLR_NUM_BOND_DIRECTIONS = 3


def molclr_atom_index(atomic_number: int) -> int:
    return atomic_number - 1 if 1 <= atomic_number <= 118 else MOLCLR_MASK_ATOM


def molclr_mol_to_graph(mol: Chem.Mol) -> Data:
    """A PyG graph of ``mol`` with hydrogens made explicit: ``x`` (atoms x 2), ``edge_index``, ``edge_attr``."""
    return categorical_graph(Chem.AddHs(mol), molclr_atom_index)


def molclr_smiles_to_graph(smiles: str) -> Data:
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"invalid SMILES {smiles!r}")
    return molclr_mol_to_graph(mol)


MOLCLR = Featurizer(
    MOLCLR_FEATURIZER_NAME,
    MOLCLR_FEATURIZER_VERSION,
    molclr_smiles_to_graph,
    "MolCLR (Wang et al. 2022): explicit hydrogens, atom vocab 119 (mask 118), bond vocab 5 (self-loop 4)",
)
