"""``gin-rich``: its featuriser against features read from RDKit here, and a real 2-epoch trial through the registry.

The expected feature vectors are built in this file from RDKit's atom/bond getters and the one-hot layout the
module docstring of greenft.data.featurize_rich states (group sizes 101, 7, 6, 4, 6, 7, then aromatic and
mass / 100), not from the featuriser's own helpers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from rdkit import Chem
from torch_geometric.data import Batch

from conftest import small_trial
from greenft.agents.config import parse_trial_config
from greenft.agents.trial import run_trial
from greenft.data.featurize_rich import ATOM_DIM, BOND_DIM, rich_smiles_to_graph
from greenft.models import ModelConfig, build_model, get_family
from greenft.models.errors import ModelOptionError

# (offset, size) of each one-hot group, written out from the documented layout
ELEMENT, DEGREE, CHARGE, CHIRAL, HYDROGENS, HYBRID = (0, 101), (101, 7), (108, 6), (114, 4), (118, 6), (124, 7)
AROMATIC, MASS = 131, 132


def _slot(offset_size: tuple[int, int], index: int | None) -> int:
    """The position of ``index`` in a group, or the group's last ("other") slot when ``index`` is None."""
    offset, size = offset_size
    return offset + (size - 1 if index is None else index)


def _expected_atom(atom: Chem.Atom) -> torch.Tensor:
    row = torch.zeros(133)
    z = atom.GetAtomicNum()
    row[_slot(ELEMENT, z - 1 if 1 <= z <= 100 else None)] = 1
    degree = atom.GetTotalDegree()
    row[_slot(DEGREE, degree if degree <= 5 else None)] = 1
    charge = atom.GetFormalCharge()
    row[_slot(CHARGE, charge + 2 if -2 <= charge <= 2 else None)] = 1
    chiral = {"CHI_UNSPECIFIED": 0, "CHI_TETRAHEDRAL_CW": 1, "CHI_TETRAHEDRAL_CCW": 2}.get(str(atom.GetChiralTag()))
    row[_slot(CHIRAL, chiral)] = 1
    hs = atom.GetTotalNumHs()
    row[_slot(HYDROGENS, hs if hs <= 4 else None)] = 1
    hybrid = {"S": 0, "SP": 1, "SP2": 2, "SP3": 3, "SP3D": 4, "SP3D2": 5}.get(str(atom.GetHybridization()))
    row[_slot(HYBRID, hybrid)] = 1
    row[AROMATIC] = float(atom.GetIsAromatic())
    row[MASS] = atom.GetMass() / 100
    return row


def _expected_bond(bond: Chem.Bond) -> torch.Tensor:
    row = torch.zeros(13)
    kind = {"SINGLE": 0, "DOUBLE": 1, "TRIPLE": 2, "AROMATIC": 3}.get(str(bond.GetBondType()))
    if kind is not None:
        row[kind] = 1
    row[4], row[5] = float(bond.GetIsConjugated()), float(bond.IsInRing())
    stereo = ["STEREONONE", "STEREOANY", "STEREOZ", "STEREOE", "STEREOCIS", "STEREOTRANS"]
    name = str(bond.GetStereo())
    row[6 + (stereo.index(name) if name in stereo else 6)] = 1
    return row


@pytest.mark.parametrize(
    "smiles",
    [
        "C[C@H](N)C(=O)[O-]",  # chirality, charge, H counts
        "c1ccccc1C#N",  # aromatic ring, triple bond, SP
        r"F/C=C/Cl",  # bond stereo
        "[NH4+].[Cl-]",  # no bonds at all
        "[Se]1C=CC=C1",  # a less common element
    ],
)
def test_rich_features_match_rdkit(smiles: str) -> None:
    graph = rich_smiles_to_graph(smiles)
    mol = Chem.MolFromSmiles(smiles)
    assert (ATOM_DIM, BOND_DIM) == (133, 13)
    assert graph.x.shape == (mol.GetNumAtoms(), 133) and graph.x.dtype == torch.float32
    assert graph.edge_index.shape == (2, 2 * mol.GetNumBonds())
    assert graph.edge_attr.shape == (2 * mol.GetNumBonds(), 13)
    for atom in mol.GetAtoms():
        assert torch.allclose(graph.x[atom.GetIdx()], _expected_atom(atom)), atom.GetSymbol()
    for k, bond in enumerate(mol.GetBonds()):
        ends = {(bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()), (bond.GetEndAtomIdx(), bond.GetBeginAtomIdx())}
        assert {tuple(graph.edge_index[:, 2 * k + d].tolist()) for d in (0, 1)} == ends
        for d in (0, 1):
            assert torch.equal(graph.edge_attr[2 * k + d], _expected_bond(bond))


def test_pooling_applies_and_refusals(tmp_path: Path) -> None:
    family = get_family("gin-rich")
    graphs = Batch.from_data_list(list(family.encode(["CCO", "c1ccccc1O"], np.array([[1.0], [0.0]]), tmp_path)))
    built = build_model(ModelConfig(name="gin-rich", num_layers=2, emb_dim=16), 1)
    assert built.applied == {} and built.info["readout"] == "mean" and built.info["featurizer"] == "rich"
    assert built.model.eval()(graphs).shape == (2, 1)
    summed = build_model(ModelConfig(name="gin-rich", num_layers=2, emb_dim=16, pooling="sum"), 1).model.eval()
    summed.load_state_dict(built.model.state_dict())  # same weights: only the readout differs
    nodes = summed.gnn(graphs.x, graphs.edge_index, graphs.edge_attr)
    by_hand = torch.stack([nodes[graphs.batch == g].sum(0) for g in range(2)]) @ summed.head.weight.T
    assert torch.allclose(summed(graphs), by_hand + summed.head.bias, atol=1e-5)
    with pytest.raises(ModelOptionError, match="no pretrained checkpoints"):
        build_model(ModelConfig(name="gin-rich", checkpoint=tmp_path / "x.pth"), 1)
    with pytest.raises(ModelOptionError, match="norm"):
        build_model(ModelConfig(name="gin-rich", pooling="norm"), 1)


def test_gin_rich_trains_two_epochs(tmp_path: Path) -> None:
    config = parse_trial_config(
        small_trial(
            tmp_path,
            data={"dataset": "esol", "limit": 120},
            model={"name": "gin-rich", "num_layers": 2, "emb_dim": 16},
            optim={"max_epochs": 2},
            tracking={"meter": "wallclock"},
            logging={"runs_dir": str(tmp_path / "runs"), "wandb_mode": "disabled"},
            stopping={"rule": "none"},
        )
    )
    result = run_trial(config)
    assert result.status == "finished" and len(result.epochs) == 2
    assert all(np.isfinite(epoch.val_metric) for epoch in result.epochs)
    assert result.summary["metric"] == "rmse"
