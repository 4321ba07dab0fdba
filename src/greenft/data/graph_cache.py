"""Featurised graphs cached on disk, keyed by content, so a sweep does not featurise the same set again.

The cache stores plain concatenated tensors (no pickled Python objects), loads with ``weights_only=True``,
and is written atomically (temporary file then rename), so a crash never leaves a half-written entry; a cache
folder that cannot be written (read-only, full) costs a warning and the time to featurise again, not the run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data

from greenft.data.featurize import HU2020, Featurizer
from greenft.data.rdkit_quiet import rdkit_quiet
from greenft.io import atomic_save, cache_root, write_cache_entry


def default_cache_dir() -> Path:
    """``$GREENFT_CACHE_DIR`` or ``~/.cache/greenft`` (:func:`greenft.io.cache_root`)."""
    return cache_root()


def _key(smiles: list[str], labels: np.ndarray, featurizer: Featurizer = HU2020) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([featurizer.name, featurizer.version, smiles]).encode())
    digest.update(np.ascontiguousarray(labels, dtype=np.float64).tobytes())
    return digest.hexdigest()[:32]


def _pack(graphs: list[Data]) -> dict[str, torch.Tensor]:
    return {
        "x": torch.cat([g.x for g in graphs]),
        "edge_index": torch.cat([g.edge_index for g in graphs], dim=1),
        "edge_attr": torch.cat([g.edge_attr for g in graphs]),
        "y": torch.cat([g.y for g in graphs]),
        "num_nodes": torch.tensor([g.x.shape[0] for g in graphs]),
        "num_edges": torch.tensor([g.edge_index.shape[1] for g in graphs]),
    }


def _unpack(packed: dict[str, torch.Tensor]) -> list[Data]:
    graphs = []
    node_offsets = [0, *torch.cumsum(packed["num_nodes"], 0).tolist()]
    edge_offsets = [0, *torch.cumsum(packed["num_edges"], 0).tolist()]
    for i in range(len(packed["num_nodes"])):
        n0, n1, e0, e1 = node_offsets[i], node_offsets[i + 1], edge_offsets[i], edge_offsets[i + 1]
        graphs.append(
            Data(
                x=packed["x"][n0:n1],
                edge_index=packed["edge_index"][:, e0:e1],
                edge_attr=packed["edge_attr"][e0:e1],
                y=packed["y"][i : i + 1],
            )
        )
    return graphs


def featurise(
    smiles: list[str], labels: np.ndarray, cache_dir: Path | None = None, featurizer: Featurizer = HU2020
) -> list[Data]:
    """One graph per molecule with ``y`` (1 x tasks, NaN = missing), from the cache when present.

    ``featurizer`` (Hu et al.'s by default) is part of the cache key, so graphs made for one published
    encoder's vocabulary are never served to another's.
    """
    directory = cache_dir if cache_dir is not None else default_cache_dir()
    path = directory / "graphs" / f"{_key(smiles, labels, featurizer)}.pt"
    if path.is_file():
        try:
            return _unpack(torch.load(path, map_location="cpu", weights_only=True))
        except Exception:
            path.unlink(missing_ok=True)  # a corrupt entry is rebuilt, never trusted
    graphs = []
    y = torch.tensor(labels, dtype=torch.float32)
    with rdkit_quiet():  # e.g. AddHs on a bare [H+]: RDKit's warning is noise here, the graph is still right
        for index, text in enumerate(smiles):
            graph = featurizer.smiles_to_graph(text)
            graph.y = y[index : index + 1]
            graphs.append(graph)
    write_cache_entry(path, lambda target: atomic_save(target, lambda handle: torch.save(_pack(graphs), handle)))
    return graphs
