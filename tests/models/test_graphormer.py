"""The ``graphormer`` family: its structural encodings checked against RDKit, invariances, and real training.

Every expectation is computed independently of greenft's code: hop distances by RDKit's ``GetDistanceMatrix``,
paths by RDKit's ``GetShortestPath`` (on an acyclic molecule, where the shortest path is unique), renumbered atoms
by RDKit's ``RenumberAtoms``. Training goes through the CLI and a sweep's parameters, at tiny sizes.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from rdkit import Chem
from typer.testing import CliRunner

from conftest import small_trial
from greenft.agents import TrialConfig, run_trial
from greenft.cli import app
from greenft.data.featurize_graphormer import (
    ATOM_FEATURE_SIZES,
    BOND_FEATURE_SIZES,
    canonical_order,
    graphormer_smiles_to_graph,
)
from greenft.models import ModelConfig, count_parameters, get_family
from greenft.models.graphormer.batch import MAX_PATH_EDGES, GraphormerItem, collate, graphormer_item, pad
from greenft.models.graphormer.model import GraphormerModel
from greenft.models.saved import SAVED_MODEL_FORMAT, SAVED_MODEL_VERSION, SavedModelHeader, load_saved_model, save_model
from greenft.sweeps import load_sweep_spec
from greenft.sweeps.controller import propose
from greenft.sweeps.params import trial_config_from_sweep
from greenft.sweeps.state import SweepState

MOLECULES = [
    "CC(=O)Nc1ccc(O)cc1",  # paracetamol: a ring with two paths across it
    "O=C1C=CCCC1",  # cyclohexenone: the two paths across the ring have different bonds
    "c1ccc2ccccc2c1",  # fused rings
    "[Na+].[Cl-]",  # two fragments: unreachable pairs
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",  # caffeine
    "CCCCCCCCCC(=O)OCC#N",  # a chain longer than MAX_PATH_EDGES
]


def _item(smiles: str) -> GraphormerItem:
    graph = graphormer_smiles_to_graph(smiles)
    graph.y = torch.zeros(1, 1)
    return graphormer_item(graph)


def _model(num_tasks: int = 1, seed: int = 0) -> GraphormerModel:
    torch.manual_seed(seed)
    config = ModelConfig(name="graphormer", num_layers=2, emb_dim=32, num_heads=4, dropout=0.1)
    model = get_family("graphormer").build(config, num_tasks).model
    assert isinstance(model, GraphormerModel)
    return model.eval()


def _outputs(model: torch.nn.Module, items: list[GraphormerItem]) -> torch.Tensor:
    with torch.no_grad():
        out: torch.Tensor = model(collate(items))
    return out


def _rdkit_distances(smiles: str) -> np.ndarray:
    mol = canonical_order(Chem.MolFromSmiles(smiles))
    distance = Chem.GetDistanceMatrix(mol)
    return np.where(distance > 1e6, -1, distance).astype(np.int64)  # RDKit: 1e8 between fragments


def test_features_fit_their_tables_and_the_graph_does_not_depend_on_atom_numbering() -> None:
    """Every feature index is inside its embedding table (odd atoms included), and a renumbered molecule gives
    the identical graph: canonical atom order, bonds sorted."""
    odd = ["[Cu+2].[O-]S(=O)(=O)[O-]", "C[N+](C)(C)C", "[2H]C([2H])([2H])Cl", "C/C=C/C", "C[C@H](N)C(=O)O", "*CC"]
    for smiles in [*MOLECULES, *odd]:
        graph = graphormer_smiles_to_graph(smiles)
        assert (graph.x < torch.tensor(ATOM_FEATURE_SIZES)).all() and (graph.x >= 0).all(), smiles
        assert (graph.edge_attr < torch.tensor(BOND_FEATURE_SIZES)).all() and (graph.edge_attr >= 0).all(), smiles
        mol = Chem.MolFromSmiles(smiles)
        order = [int(i) for i in np.random.default_rng(3).permutation(mol.GetNumAtoms())]
        other = graphormer_smiles_to_graph(Chem.MolToSmiles(Chem.RenumberAtoms(mol, order), canonical=False))
        for key in ("x", "edge_index", "edge_attr"):
            assert torch.equal(graph[key], other[key]), (smiles, key)


@pytest.mark.parametrize("smiles", MOLECULES)
def test_spatial_bias_is_the_shortest_path_distance_per_head(smiles: str) -> None:
    """With each spatial bucket's bias set to (bucket - 1) and the other terms zero, the atoms' block of the
    attention bias *is* the hop distance matrix: it must equal RDKit's, head by head."""
    model = _model()
    bias_module = model.encoder.attention_bias
    with torch.no_grad():
        buckets = bias_module.spatial.num_embeddings
        bias_module.spatial.weight.copy_((torch.arange(buckets, dtype=torch.float32) - 1).view(-1, 1).expand(-1, 4))
        for table in bias_module.bond_features:
            table.weight.zero_()
        bias_module.virtual_distance.weight.zero_()
        bias = bias_module(pad([_item(smiles)]))
    expected = _rdkit_distances(smiles)
    unreachable = buckets - 2  # the unreachable bucket's (bucket - 1)
    expected = np.where(expected < 0, unreachable, expected)
    for head in range(4):
        np.testing.assert_array_equal(bias[0, head, 1:, 1:].numpy(), expected.astype(np.float32))
    assert (bias[0, :, 0, :] == 0).all() and (bias[0, :, :, 0] == 0).all()  # the graph token: virtual distance only


@pytest.mark.parametrize("smiles", MOLECULES)
def test_each_pair_gets_a_shortest_walk_of_real_bonds(smiles: str) -> None:
    """The path edges of pair (i, j) are consecutive bonds of the graph starting at i, min(d, 5) of them for
    RDKit's hop distance d, and reach j when d <= 5; pairs in different fragments get none."""
    graph = graphormer_smiles_to_graph(smiles)
    item = graphormer_item(graph)
    sources, targets = graph.edge_index.tolist()
    distance = _rdkit_distances(smiles)
    n = item.num_nodes
    for i in range(n):
        for j in range(n):
            edges = [e for e in item.path_edges[i, j].tolist() if e >= 0]
            assert len(edges) == max(0, min(int(distance[i, j]), MAX_PATH_EDGES)), (i, j)
            at = i
            for e in edges:
                assert sources[e] == at
                at = targets[e]
            assert at == j or distance[i, j] > MAX_PATH_EDGES or distance[i, j] < 0


def test_edge_encoding_is_the_path_average_of_position_weighted_bond_embeddings() -> None:
    """Graphormer's edge encoding, by hand on an acyclic molecule (one shortest path per pair, RDKit's): with a
    bond's per-head scalar = its bond type index + 1 (for every head) and position k's heads x heads matrix =
    (k + 1) x identity, pair (i, j) gets mean over its first min(d, 5) bonds of (k + 1) * (type_k + 1)."""
    smiles = "CCCCCCCCCC(=O)OCC#N"
    model = _model()
    bias_module = model.encoder.attention_bias
    with torch.no_grad():
        bias_module.spatial.weight.zero_()
        bias_module.virtual_distance.weight.zero_()
        types = torch.arange(BOND_FEATURE_SIZES[0], dtype=torch.float32) + 1
        # the bond vector is the mean over its 3 feature embeddings: put 3 x (type + 1) in the type table
        bias_module.bond_features[0].weight.copy_((3 * types).view(-1, 1).expand(-1, 4))
        for table in bias_module.bond_features[1:]:
            table.weight.zero_()
        eye = torch.eye(4)
        bias_module.path_position.copy_(torch.stack([(k + 1) * eye for k in range(MAX_PATH_EDGES)]))
        bias = bias_module(pad([_item(smiles)]))[0, 0, 1:, 1:].numpy()
    mol = canonical_order(Chem.MolFromSmiles(smiles))
    bond_index = {Chem.BondType.SINGLE: 0, Chem.BondType.DOUBLE: 1, Chem.BondType.TRIPLE: 2}
    n = mol.GetNumAtoms()
    expected = np.zeros((n, n), dtype=np.float64)
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            atoms = Chem.GetShortestPath(mol, i, j)
            bonds = [mol.GetBondBetweenAtoms(a, b) for a, b in itertools.pairwise(atoms)]
            kept = bonds[:MAX_PATH_EDGES]
            expected[i, j] = np.mean([(k + 1) * (bond_index[b.GetBondType()] + 1) for k, b in enumerate(kept)])
    assert Chem.GetDistanceMatrix(mol).max() > MAX_PATH_EDGES  # paths longer than the kept prefix are tested
    np.testing.assert_allclose(bias, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("smiles", MOLECULES)
def test_prediction_does_not_depend_on_atom_numbering(smiles: str) -> None:
    """The same molecule written with its atoms renumbered (RDKit ``RenumberAtoms``, random order, the SMILES
    written in that order) gets the same prediction, in eval mode."""
    family = get_family("graphormer")
    model = _model(num_tasks=2)
    mol = Chem.MolFromSmiles(smiles)
    rng = np.random.default_rng(1)
    texts = [smiles]
    for _ in range(3):
        order = [int(i) for i in rng.permutation(mol.GetNumAtoms())]
        texts.append(Chem.MolToSmiles(Chem.RenumberAtoms(mol, order), canonical=False))
    assert len(set(texts)) > 1
    items = family.encode_unlabelled(texts, 2)
    outputs = torch.cat([_outputs(model, [item]) for item in items])
    for row in outputs[1:]:
        torch.testing.assert_close(row, outputs[0], rtol=0, atol=1e-5)


def test_the_model_itself_is_invariant_to_a_node_permutation() -> None:
    """Apart from canonical numbering: permuting a batch item's atoms (features, degrees, distances, paths
    consistently) leaves the output unchanged. Attention, biases and the graph-token readout are all
    permutation-equivariant/invariant."""
    model = _model()
    item = _item("CN1C=NC2=C1C(=O)N(C(=O)N2C)C")
    perm = torch.from_numpy(np.random.default_rng(0).permutation(item.num_nodes))
    permuted = GraphormerItem(
        x=item.x[perm],
        edge_attr=item.edge_attr,
        in_degree=item.in_degree[perm],
        out_degree=item.out_degree[perm],
        distance=item.distance[perm][:, perm],
        path_edges=item.path_edges[perm][:, perm],
        y=item.y,
    )
    assert not torch.equal(permuted.x, item.x)
    torch.testing.assert_close(_outputs(model, [permuted]), _outputs(model, [item]), rtol=0, atol=1e-5)


def test_a_molecule_alone_and_padded_in_a_batch_of_larger_ones_gives_the_same_output() -> None:
    """Padding: each molecule's output in a batch (padded to the largest of its chunk, chunks of similar sizes,
    rows put back in the batch's order) equals its output alone."""
    model = _model()
    texts = ["CCO", "CCCCCCCCCC(=O)OCC#N", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "[Na+].[Cl-]", "c1ccc2ccccc2c1"]
    items = [_item(text) for text in texts]
    alone = torch.cat([_outputs(model, [item]) for item in items])
    for chunk in (16, 2):  # one chunk padded to the largest molecule; chunks of two
        for order in ([0, 1, 2, 3, 4], [2, 0, 4, 3, 1]):
            with torch.no_grad():
                out = model(collate([items[i] for i in order], chunk=chunk))
            torch.testing.assert_close(out, alone[order], rtol=0, atol=1e-5)
    assert collate(items).chunks[0].x.shape[1] == max(item.num_nodes for item in items) > items[0].num_nodes


def test_checkpoint_is_refused_and_heads_must_divide_the_width(tmp_path: Path) -> None:
    family = get_family("graphormer")
    with pytest.raises(ValueError, match="no pretrained checkpoints"):
        family.build(ModelConfig(name="graphormer", checkpoint=tmp_path), 1)
    with pytest.raises(ValueError, match=re.escape("not divisible by model.num_heads = 5")):
        family.build(ModelConfig(name="graphormer", emb_dim=32, num_heads=5), 1)
    with pytest.warns(UserWarning, match=re.escape("model.pooling = 'max'")):
        built = family.build(ModelConfig(name="graphormer", num_layers=1, emb_dim=16, pooling="max"), 1)
    assert built.applied == {"pooling": "mean"}


def test_saved_model_rebuilds_and_predicts_as_the_model_did(tmp_path: Path) -> None:
    model = _model(num_tasks=1)
    config = ModelConfig(name="graphormer", num_layers=2, emb_dim=32, num_heads=4, dropout=0.1)
    header = SavedModelHeader(
        format=SAVED_MODEL_FORMAT,
        version=SAVED_MODEL_VERSION,
        greenft_version="0.1.0",
        family="graphormer",
        model=config.model_dump(mode="json"),
        vocabulary=None,
        num_tasks=1,
        task_names=["y"],
        task_type="regression",
        metric="rmse",
        dataset="hand",
        target_mean=[1.5],
        target_std=[2.0],
        which="best",
        epoch=1,
        val_metric=0.5,
        test_metric=0.6,
        parameters=count_parameters(model),
        emissions_kg=1e-6,
        energy_kwh=1e-5,
        run_id=None,
        run_path=None,
        training_config={},
    )
    path = save_model(tmp_path / "graphormer.pt", model, header)
    loaded = load_saved_model(path)
    predictions = loaded.predict([*MOLECULES, "C1CC"], batch_size=4)
    assert sorted(predictions.invalid) == [len(MOLECULES)]
    raw = _outputs(model, [_item(Chem.MolToSmiles(Chem.MolFromSmiles(s))) for s in MOLECULES])
    np.testing.assert_allclose(predictions.values[:-1, 0], (raw[:, 0] * 2.0 + 1.5).numpy(), rtol=1e-5, atol=1e-6)


def test_two_epochs_from_the_cli_then_predict_with_the_saved_model(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["train", "--model", "graphormer", "--dataset", "bbbp", "--limit", "120", "--max-epochs", "2"]
    args += ["--layers", "2", "--emb-dim", "16", "--heads", "4", "--threads", "1", "--runs-dir", str(tmp_path / "runs")]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(next((tmp_path / "runs").rglob("greenft_config.json")).read_text())
    assert config["model"]["name"] == "graphormer" and config["derived"]["model"]["family"] == "graphormer"
    saved = next((tmp_path / "runs").rglob("model_best.pt"))
    csv = tmp_path / "in.csv"
    pd.DataFrame({"smiles": ["CCO", "c1ccccc1O", "not a molecule"]}).to_csv(csv, index=False)
    out = tmp_path / "preds.csv"
    result = runner.invoke(app, ["predict", "--model", str(saved), "--data-file", str(csv), "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    direct = load_saved_model(saved).predict(["CCO", "c1ccccc1O"]).values[:, 0]
    np.testing.assert_allclose(frame["p_np"].to_numpy()[:2], direct, rtol=1e-6)
    assert direct.min() > 0 and direct.max() < 1 and np.isnan(frame["p_np"].to_numpy()[2])


def test_a_sweep_yaml_with_model_graphormer_runs_its_trial(tmp_path: Path) -> None:
    sweep = {
        "name": "graphormer-smoke",
        "project": "greenft",
        "program": "src/greenft/__main__.py",
        "method": "grid",
        "parameters": {
            "model": {"value": "graphormer"},
            "dataset": {"value": "esol"},
            "limit": {"value": 100},
            "max_epochs": {"value": 2},
            "num_layers": {"value": 1},
            "emb_dim": {"value": 16},
            "heads": {"values": [2, 4]},
        },
        "command": ["${env}", "python", "-m", "greenft", "agent", "${args_no_hyphens}"],
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep))
    spec = load_sweep_spec(path)
    first = propose(spec, SweepState(sweep_id=spec.sweep_id, name=spec.name, method=spec.method, file="", config=sweep))
    assert first is not None and first.params["model"] == "graphormer"
    base = TrialConfig.model_validate(small_trial(tmp_path))
    config = trial_config_from_sweep(first.params, base)
    assert config.model.name == "graphormer" and config.model.num_heads == first.params["heads"]
    result = run_trial(config)
    assert result.status == "finished" and len(result.epochs) >= 1
    assert all(np.isfinite(record.val_metric) for record in result.epochs)
    # measured and judged like every family: emissions per epoch, the live stopping rule's decision per epoch
    assert result.summary["total/emissions_kg"] > 0
    assert all(record.fit.emissions_kg > 0 and result.live_rule in record.decisions for record in result.epochs)
