from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from greenft.data.featurize import MASK_ATOM, OTHER_ATOM, SELF_LOOP_BOND, smiles_to_graph
from greenft.data.graph_cache import featurise


def test_atom_and_bond_indices_follow_hu_2020() -> None:
    graph = smiles_to_graph("C[C@H](N)O")
    # C, C, N, O -> Z-1
    assert graph.x[:, 0].tolist() == [5, 5, 6, 7]
    assert graph.x[1, 1].item() in (1, 2)  # the stereocentre is CW or CCW
    assert graph.x[[0, 2, 3], 1].tolist() == [0, 0, 0]
    assert graph.edge_index.shape == (2, 6)  # 3 bonds, both directions
    assert graph.edge_attr[:, 0].tolist() == [0] * 6  # all single


def test_aromatic_double_triple_and_direction() -> None:
    assert set(smiles_to_graph("c1ccccc1").edge_attr[:, 0].tolist()) == {3}
    assert smiles_to_graph("C=C").edge_attr[:, 0].tolist() == [1, 1]
    assert smiles_to_graph("C#N").edge_attr[:, 0].tolist() == [2, 2]
    directions = set(smiles_to_graph("F/C=C/F").edge_attr[:, 1].tolist())
    assert directions & {1, 2}


def test_dummy_atom_and_reserved_indices() -> None:
    graph = smiles_to_graph("*C")
    assert graph.x[0, 0].item() == OTHER_ATOM
    assert OTHER_ATOM < MASK_ATOM and SELF_LOOP_BOND == 4


def test_single_atom_has_no_edges() -> None:
    graph = smiles_to_graph("[Na+]")
    assert graph.x.shape == (1, 2) and graph.edge_index.shape == (2, 0) and graph.edge_attr.shape == (0, 2)


def test_cache_round_trip_and_corrupt_entry_rebuilt(tmp_path: Path) -> None:
    smiles = ["CCO", "c1ccccc1O", "[Na+]"]
    labels = np.array([[1.0], [0.0], [np.nan]])
    first = featurise(smiles, labels, cache_dir=tmp_path)
    entries = list((tmp_path / "graphs").glob("*.pt"))
    assert len(entries) == 1
    again = featurise(smiles, labels, cache_dir=tmp_path)
    for a, b in zip(first, again, strict=True):
        assert torch.equal(a.x, b.x) and torch.equal(a.edge_index, b.edge_index)
        assert torch.equal(a.edge_attr, b.edge_attr) and torch.allclose(a.y, b.y, equal_nan=True)
    entries[0].write_bytes(b"truncated")
    rebuilt = featurise(smiles, labels, cache_dir=tmp_path)
    assert torch.equal(rebuilt[1].x, first[1].x)
    other = featurise(smiles, np.array([[0.0], [0.0], [1.0]]), cache_dir=tmp_path)  # labels are part of the key
    assert other[0].y.item() == 0.0
