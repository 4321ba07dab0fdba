"""chemprop's featurised molecule graphs cached on disk, keyed by content, as greenft's own graphs are.

Why a cache: chemprop's featuriser costs what greenft's graph featuriser costs (BBBP's 2,039 molecules: 14.0 s
against GIN's 13.3 s, 0.25 s from this cache; 2-core box at load 8, docs/models.md), and every trial of a sweep
featurises the same molecules again. The entry holds plain concatenated tensors (no pickled objects: loaded
with ``weights_only=True``), written atomically; a corrupt entry is rebuilt, an unwritable cache costs a warning
(:func:`greenft.io.write_cache_entry`). The key holds chemprop's version and the featuriser's dimensions, so graphs
made by another chemprop are never served. No chemprop import here: the caller passes its version and MolGraph type.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from greenft.io import atomic_save, cache_root, write_cache_entry
from greenft.models.torch_io import load_torch_file

FIELDS = ("V", "E", "edge_index", "rev_edge_index")
"""chemprop's ``MolGraph`` arrays, in its order."""


def cache_path(cache_dir: Path | None, identity: list[Any], smiles: list[str], labels: np.ndarray) -> Path:
    digest = hashlib.sha256()
    digest.update(json.dumps([*identity, smiles]).encode())
    digest.update(np.ascontiguousarray(labels, dtype=np.float64).tobytes())
    directory = cache_dir if cache_dir is not None else cache_root()
    return directory / "chemprop-graphs" / f"{digest.hexdigest()[:32]}.pt"


def pack(graphs: list[Any], y: torch.Tensor) -> dict[str, torch.Tensor]:
    return {
        "V": torch.from_numpy(np.concatenate([g.V for g in graphs])),
        "E": torch.from_numpy(np.concatenate([g.E for g in graphs])),
        "edge_index": torch.from_numpy(np.concatenate([g.edge_index for g in graphs], axis=1)),
        "rev_edge_index": torch.from_numpy(np.concatenate([g.rev_edge_index for g in graphs])),
        "num_atoms": torch.tensor([len(g.V) for g in graphs]),
        "num_edges": torch.tensor([len(g.E) for g in graphs]),
        "y": y,
    }


def unpack(packed: dict[str, torch.Tensor], make_graph: Callable[..., Any]) -> tuple[list[Any], torch.Tensor]:
    """The graphs (``make_graph(V, E, edge_index, rev_edge_index)``, numpy arrays) and the labels."""
    arrays = {name: packed[name].numpy() for name in FIELDS}
    atoms = np.cumsum([0, *packed["num_atoms"].tolist()])
    edges = np.cumsum([0, *packed["num_edges"].tolist()])
    graphs = [
        make_graph(
            arrays["V"][atoms[i] : atoms[i + 1]],
            arrays["E"][edges[i] : edges[i + 1]],
            arrays["edge_index"][:, edges[i] : edges[i + 1]],
            arrays["rev_edge_index"][edges[i] : edges[i + 1]],
        )
        for i in range(len(atoms) - 1)
    ]
    return graphs, packed["y"]


def load(path: Path, make_graph: Callable[..., Any]) -> tuple[list[Any], torch.Tensor] | None:
    """The cached graphs and labels, or None when there is no (readable) entry; a corrupt one is removed."""
    if not path.is_file():
        return None
    try:
        return unpack(load_torch_file(path, "chemprop graph cache entry"), make_graph)
    except Exception:  # CheckpointError (not a safe torch dict) or a dict of the wrong shape
        path.unlink(missing_ok=True)  # rebuilt, never trusted
        return None


def store(path: Path, graphs: list[Any], y: torch.Tensor) -> None:
    write_cache_entry(path, lambda target: atomic_save(target, lambda handle: torch.save(pack(graphs, y), handle)))
