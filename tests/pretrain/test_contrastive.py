from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from pretrain_helpers import TINY_SIZES, tiny_corpus
from torch_geometric.data import Data

from conftest import small_trial
from greenft.agents import parse_trial_config, run_trial
from greenft.data.featurize import MASK_ATOM, smiles_to_graph
from greenft.models import ModelConfig, build_model
from greenft.pretrain.contrastive import augment, delete_bonds, mask_atoms, nt_xent, remove_subgraph
from greenft.pretrain.runner import pretrain

MOLECULES = ["CC(=O)Oc1ccccc1C(=O)O", "c1ccc2ccccc2c1", "CCN(CC)CCOC(=O)c1ccc(N)cc1", "O", "CC"]


def _bonds(graph: Data) -> set[tuple[int, int]]:
    return {(min(a, b), max(a, b)) for a, b in graph.edge_index.t().tolist()}


def _symmetric(graph: Data) -> bool:
    pairs = [tuple(p) for p in graph.edge_index.t().tolist()]
    return sorted(pairs) == sorted((b, a) for a, b in pairs) and graph.edge_attr.shape[0] == len(pairs)


@pytest.mark.parametrize("smiles", MOLECULES)
def test_augmentations_keep_atoms_and_paired_edges(smiles: str) -> None:
    graph = smiles_to_graph(smiles)
    before = graph.x.clone(), graph.edge_index.clone()
    n, bonds = graph.x.shape[0], _bonds(graph)
    generator = torch.Generator().manual_seed(0)

    masked = mask_atoms(graph, 0.25, generator, MASK_ATOM)
    hit = (masked.x[:, 0] == MASK_ATOM).nonzero().squeeze(1)
    assert masked.x.shape == graph.x.shape and len(hit) == max(1, math.floor(0.25 * n))
    assert (masked.x[hit, 1] == 0).all() and torch.equal(masked.edge_index, graph.edge_index)

    deleted = delete_bonds(graph, 0.25, generator)
    assert deleted.x.shape[0] == n and _symmetric(deleted)
    assert _bonds(deleted) <= bonds and len(bonds) - len(_bonds(deleted)) == math.floor(0.25 * len(bonds))

    removed = remove_subgraph(graph, 0.25, generator, MASK_ATOM)
    gone = set((removed.x[:, 0] == MASK_ATOM).nonzero().squeeze(1).tolist())
    assert removed.x.shape[0] == n and len(gone) == max(1, math.floor(0.25 * n)) and _symmetric(removed)
    assert not any(a in gone or b in gone for a, b in removed.edge_index.t().tolist())
    if len(gone) > 1:  # the removed atoms form a connected subgraph of the molecule
        inside = {(a, b) for a, b in bonds if a in gone and b in gone}
        assert len(inside) >= len(gone) - 1

    for strategy in ("mask+delete", "subgraph", "mask", "delete"):
        view = augment(graph, strategy, 0.25, generator, MASK_ATOM)
        assert view.x.shape[0] == n and _symmetric(view)
    assert torch.equal(graph.x, before[0]) and torch.equal(graph.edge_index, before[1])  # input untouched
    with pytest.raises(ValueError, match="unknown augmentation"):
        augment(graph, "rotate", 0.25, generator, MASK_ATOM)


def test_nt_xent_prefers_matching_views() -> None:
    torch.manual_seed(0)
    z = torch.randn(16, 8)
    identical = nt_xent(z, z.clone(), 0.1)
    unrelated = nt_xent(z, torch.randn(16, 8), 0.1)
    assert identical < unrelated
    assert identical < math.log(2 * 16 - 1)  # chance level: the positive among 2B-1 candidates
    with pytest.raises(ValueError, match="differ in shape"):
        nt_xent(z, z[:4], 0.1)


def test_gin_contrastive_pretrain_then_fine_tune_through_the_trainer(tmp_path: Path) -> None:
    result = pretrain(
        "gin-contrastive", tmp_path / "gin", corpus=tiny_corpus(), steps=4, meter="wallclock", **TINY_SIZES
    )
    checkpoint = result.checkpoint
    assert (checkpoint / "encoder.pt").is_file() and (checkpoint / "greenft_checkpoint.json").is_file()
    meta = json.loads((checkpoint / "greenft_checkpoint.json").read_text())
    assert meta["provenance"]["corpus"]["size"] == 120 and meta["provenance"]["steps"] == 4
    assert meta["architecture"] == {"type": "gin", "num_layers": 1, "emb_dim": 16}

    config = parse_trial_config(
        small_trial(
            tmp_path,
            data={"dataset": "b3db", "limit": 200},
            model={"name": "gin-contrastive", "checkpoint": str(result.run_dir)},
            optim={"max_epochs": 2, "batch_size": 64},
        )
    )
    trial = run_trial(config)
    assert trial.status == "finished" and len(trial.epochs) >= 1
    logged = json.loads((trial.files_dir / "greenft_config.json").read_text())["derived"]["model"]
    assert logged["init"] == f"pretrained:{checkpoint / 'encoder.pt'}" and logged["family"] == "gin-contrastive"
    assert logged["checkpoint_bytes"] > 0 and logged["pretraining_duration_s"] > 0
    assert (logged["num_layers"], logged["emb_dim"]) == (1, 16)  # the checkpoint's sizes win over the config's

    twin = build_model(ModelConfig(name="gin-contrastive", checkpoint=checkpoint, random_init=True), 1)
    assert twin.init == "random" and twin.info["parameters"] == logged["parameters"]


def test_gcn_contrastive_uses_the_gcn_encoder(tmp_path: Path) -> None:
    result = pretrain(
        "gcn-contrastive", tmp_path / "gcn", corpus=tiny_corpus(), steps=2, meter="wallclock", **TINY_SIZES
    )
    built = build_model(ModelConfig(name="gcn-contrastive", checkpoint=result.checkpoint), 2)
    assert built.init.startswith("pretrained:") and built.info["base_model"] == "gcn"
    assert type(built.model.gnn).__name__ == "GCNEncoder"
    fresh = build_model(ModelConfig(name="gcn", num_layers=1, emb_dim=16), 2)
    assert not torch.equal(fresh.model.gnn.x_embedding1.weight, built.model.gnn.x_embedding1.weight)
