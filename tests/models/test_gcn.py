"""GCN encoders in the Hu et al. and MolCLR layouts: the layer maths, the featurisers, training end to end.

The reference forward passes below are written densely from the authors' equations (adjacency matrices, no
message passing), so they check our PyG layers independently: self-loops with bond type 4, Hu et al.'s
symmetric degree normalisation, MolCLR's unnormalised sum with scalar bond terms and ``x @ W``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, Data

from conftest import small_trial
from greenft.agents.config import parse_trial_config
from greenft.agents.trial import run_trial
from greenft.data.featurize import smiles_to_graph
from greenft.data.featurize_molclr import MOLCLR_MASK_ATOM, molclr_smiles_to_graph
from greenft.models import ModelConfig, build_model, get_family
from greenft.models.gcn import GCNEncoder

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "checkpoints"
HU_GCN = SHARED / "hu2020_gcn_contextpred.pth"
MOLCLR_GCN = SHARED / "molclr_gcn.pth"
needs_shared = pytest.mark.skipif(
    not (HU_GCN.is_file() and MOLCLR_GCN.is_file()),
    reason=f"the published checkpoints are not in {SHARED} (read-only test data outside the repository)",
)


def _dense_edges(graph: Data) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Edge list with one self-loop per atom appended (bond type 4, direction 0), as (src, dst, attr)."""
    n = graph.x.shape[0]
    loops = torch.arange(n)
    src = torch.cat([graph.edge_index[0], loops])
    dst = torch.cat([graph.edge_index[1], loops])
    attr = torch.cat([graph.edge_attr, torch.tensor([[4, 0]]).repeat(n, 1)])
    return src, dst, attr


def _reference_hu_layer(layer: torch.nn.Module, h: torch.Tensor, graph: Data) -> torch.Tensor:
    src, dst, attr = _dense_edges(graph)
    deg = torch.zeros(h.shape[0]).index_add_(0, src, torch.ones(len(src)))
    out = torch.zeros_like(h)
    transformed = h @ layer.linear.weight.T + layer.linear.bias
    for s, d, (bond, direction) in zip(src.tolist(), dst.tolist(), attr.tolist(), strict=True):
        edge = layer.edge_embedding1.weight[bond] + layer.edge_embedding2.weight[direction]
        out[d] += (deg[s] * deg[d]) ** -0.5 * (transformed[s] + edge)
    return out


def _reference_molclr_layer(layer: torch.nn.Module, h: torch.Tensor, graph: Data) -> torch.Tensor:
    src, dst, attr = _dense_edges(graph)
    out = torch.zeros_like(h)
    transformed = h @ layer.weight
    for s, d, (bond, direction) in zip(src.tolist(), dst.tolist(), attr.tolist(), strict=True):
        out[d] += transformed[s] + layer.edge_embedding1.weight[bond, 0] + layer.edge_embedding2.weight[direction, 0]
    return out + layer.bias


@pytest.mark.parametrize("layout", ["hu2020", "molclr"])
def test_gcn_layers_match_the_authors_equations(layout: str) -> None:
    torch.manual_seed(0)
    encoder = GCNEncoder(num_layers=2, emb_dim=16, layout=layout)  # type: ignore[arg-type]
    graph = (smiles_to_graph if layout == "hu2020" else molclr_smiles_to_graph)("C/C=C/c1ccncc1[C@H](N)O")
    h = encoder.x_embedding1(graph.x[:, 0]) + encoder.x_embedding2(graph.x[:, 1])
    layer = encoder.gnns[0]
    ours = layer(h, graph.edge_index, graph.edge_attr)
    reference = (_reference_hu_layer if layout == "hu2020" else _reference_molclr_layer)(layer, h, graph)
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-5)


def test_molclr_featuriser_follows_molclr_indices() -> None:
    graph = molclr_smiles_to_graph("C/C=C/c1ccccc1[C@@H](Cl)*")
    heavy = smiles_to_graph("C/C=C/c1ccccc1[C@@H](Cl)*")
    assert graph.x.shape[0] > heavy.x.shape[0]  # explicit hydrogens, as MolCLR's fine-tuning dataset adds
    atoms = graph.x[:, 0].tolist()
    assert atoms.count(0) == graph.x.shape[0] - heavy.x.shape[0]  # H is Z=1 -> index 0
    assert 5 in atoms and 16 in atoms  # C (Z=6) -> 5, Cl (Z=17) -> 16
    assert MOLCLR_MASK_ATOM in atoms  # the dummy atom * -> the mask row (MolCLR itself would raise)
    assert set(graph.x[:, 1].tolist()) <= {0, 1, 2} and {1, 2} & set(graph.x[:, 1].tolist())  # the [C@@H]
    bonds = graph.edge_attr[:, 0].tolist()
    assert set(bonds) == {0, 1, 3}  # single, double, aromatic; never the self-loop 4 in the data
    assert set(graph.edge_attr[:, 1].tolist()) <= {0, 1, 2} and {1, 2} & set(graph.edge_attr[:, 1].tolist())
    assert graph.edge_index.shape[1] == graph.edge_attr.shape[0] and graph.edge_attr.shape[0] % 2 == 0


@needs_shared
@pytest.mark.parametrize(("model", "path"), [("gcn", HU_GCN), ("gcn-molclr", MOLCLR_GCN)])
def test_published_weights_give_the_reference_forward_pass(model: str, path: Path) -> None:
    """The real weights through our encoder equal the dense reference, layer by layer, on a real molecule."""
    built = build_model(ModelConfig(name=model, checkpoint=path, dropout=0.0), num_tasks=1)
    encoder = built.model.gnn.eval()
    featurizer = molclr_smiles_to_graph if model == "gcn-molclr" else smiles_to_graph
    graph = featurizer("CC(C)NCC(O)COc1cccc2ccccc12")
    reference_layer = _reference_molclr_layer if model == "gcn-molclr" else _reference_hu_layer
    h = encoder.x_embedding1(graph.x[:, 0]) + encoder.x_embedding2(graph.x[:, 1])
    with torch.no_grad():
        for index, (layer, norm) in enumerate(zip(encoder.gnns, encoder.batch_norms, strict=True)):
            h = norm(reference_layer(layer, h, graph))
            h = torch.relu(h) if index < len(encoder.gnns) - 1 else h
        ours = encoder(graph.x, graph.edge_index, graph.edge_attr)
    torch.testing.assert_close(ours, h, rtol=1e-4, atol=1e-4)
    assert float(ours.std()) > 0.01  # pretrained weights on a real molecule: not a degenerate output


@pytest.mark.parametrize("model", ["gcn", "gcn-molclr", "gin-molclr"])
def test_random_init_models_run_forward_and_backward(model: str) -> None:
    family = get_family(model)
    items = family.encode(["CCO", "c1ccccc1N", "CC(=O)[O-].[Na+]"], np.array([[1.0], [0.0], [np.nan]]))
    built = family.build(ModelConfig(name=model, num_layers=2, emb_dim=16), num_tasks=1)
    out = built.model(Batch.from_data_list(list(items)))
    assert out.shape == (3, 1)
    out.sum().backward()
    assert built.info["init"] == "random" and built.info["family"] == model


def test_featurisers_have_separate_cache_entries(tmp_path: Path) -> None:
    labels = np.array([[1.0]])
    hu = get_family("gcn").encode(["CCO"], labels, tmp_path)
    molclr = get_family("gcn-molclr").encode(["CCO"], labels, tmp_path)
    assert hu[0].x.shape[0] == 3 and molclr[0].x.shape[0] == 9  # same SMILES, two featurisers, two entries
    assert len(list((tmp_path / "graphs").glob("*.pt"))) == 2
    again = get_family("gcn-molclr").encode(["CCO"], labels, tmp_path)
    assert torch.equal(again[0].x, molclr[0].x)


@needs_shared
def test_fine_tune_molclr_gcn_end_to_end(tmp_path: Path) -> None:
    config = parse_trial_config(
        small_trial(
            tmp_path,
            data={"dataset": "bbbp", "limit": 200, "split": "random"},
            model={"name": "gcn-molclr", "checkpoint": str(MOLCLR_GCN), "dropout": 0.0},
            optim={"max_epochs": 2, "batch_size": 64},
            tracking={"meter": "wallclock"},
            logging={"runs_dir": str(tmp_path / "runs"), "wandb_mode": "disabled"},
        )
    )
    result = run_trial(config)
    assert result.status == "finished" and len(result.epochs) >= 1
    assert np.isfinite(result.epochs[0].val_metric) and result.summary["metric"] == "roc_auc"
