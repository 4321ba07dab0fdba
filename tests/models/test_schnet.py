"""The ``schnet`` family: invariances on real QM9 molecules, the neighbour list, the composition baseline, the
refusal on a set without coordinates, and (slow) the acceptance command with a saved model and ``greenft predict``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from greenft.agents.fit import TargetScaler, train_epoch
from greenft.data import TaskType, get_dataset_spec, load_molecules, user_dataset_spec
from greenft.data.registry import select_targets
from greenft.errors import GreenftWarning
from greenft.models import ModelConfig, get_family
from greenft.models.errors import ModelOptionError
from greenft.models.items import encode_items
from greenft.models.schnet import PairwiseNeighbours, SchNetModel, collate, composition_baseline
from greenft.schema.history import EPOCH_COLUMNS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def qm9_molecules() -> object:
    spec = select_targets(get_dataset_spec("qm9").model_copy(update={"file": FIXTURES / "qm9_small.csv"}), None)
    return load_molecules(spec)


def _model(molecules: object) -> tuple[SchNetModel, list[object]]:
    family = get_family("schnet")
    torch.manual_seed(0)
    config = ModelConfig(name="schnet", num_layers=2, emb_dim=16, cutoff=5.0, num_rbf=12, pooling="sum")
    model = family.build(config, 1).model
    items = list(encode_items(family, molecules))  # type: ignore[arg-type]
    # the baseline left unfitted (scale 1): the network's own output is what is compared, not a sum over elements
    assert isinstance(model, SchNetModel)
    return model.double().eval(), items


def _predict(model: SchNetModel, items: list[object]) -> np.ndarray:
    batch = collate(items)  # type: ignore[arg-type]
    batch.pos = batch.pos.double()
    with torch.no_grad():
        return model(batch).numpy()


def _moved(items: list[object], change: object) -> list[object]:
    return [type(item)(*change(item)) for item in items]  # type: ignore[misc, operator]


def test_prediction_is_invariant_to_rotation_translation_and_atom_order(qm9_molecules: object) -> None:
    model, items = _model(qm9_molecules)
    reference = _predict(model, items)
    rng = np.random.default_rng(0)
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    rotation = torch.tensor(q * np.sign(np.diag(r)), dtype=torch.float64)  # a random orthogonal matrix
    if torch.det(rotation) < 0:
        rotation[:, 0] = -rotation[:, 0]  # a proper rotation
    shift = torch.tensor(rng.normal(scale=10.0, size=3))

    def rotated(item: object) -> tuple[object, ...]:
        return item.z, item.pos.double() @ rotation.T + shift, item.y  # type: ignore[attr-defined]

    def permuted(item: object) -> tuple[object, ...]:
        order = torch.randperm(len(item.z), generator=torch.Generator().manual_seed(1))  # type: ignore[attr-defined]
        return item.z[order], item.pos[order], item.y  # type: ignore[attr-defined]

    np.testing.assert_allclose(_predict(model, _moved(items, rotated)), reference, atol=1e-5, rtol=0)
    np.testing.assert_allclose(_predict(model, _moved(items, permuted)), reference, atol=1e-5, rtol=0)

    def stretched(item: object) -> tuple[object, ...]:  # a real change of geometry must change the prediction
        pos = item.pos.double().clone()  # type: ignore[attr-defined]
        pos[0] = pos[0] + 0.3
        return item.z, pos, item.y  # type: ignore[attr-defined]

    assert np.abs(_predict(model, _moved(items, stretched)) - reference).max() > 1e-3


def test_neighbour_list_is_every_pair_within_the_radius_of_each_molecule(qm9_molecules: object) -> None:
    items = list(encode_items(get_family("schnet"), qm9_molecules))  # type: ignore[arg-type]
    batch = collate(items)  # type: ignore[arg-type]
    edges, distances = PairwiseNeighbours(2.5)(batch.pos, batch.batch)
    found = {(int(a), int(b)) for a, b in edges.T}
    expected, start = set(), 0
    for item in items:
        pos = item.pos.numpy()  # type: ignore[attr-defined]
        d = cdist(pos, pos)
        expected |= {(start + i, start + j) for i, j in zip(*np.nonzero(d < 2.5), strict=True) if i != j}
        start += len(pos)
    assert found == expected and len(found) > 0
    assert distances.numpy() == pytest.approx(np.linalg.norm(batch.pos[edges[0]] - batch.pos[edges[1]], axis=1))


def test_composition_baseline_recovers_an_exactly_linear_target() -> None:
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 6, size=(40, 4)).astype(float)
    weights, intercept = np.array([-13.6, -1030.0, -1480.0, -2040.0]), 3.0
    labels = (counts @ weights + intercept)[:, None]
    mean, std = labels.mean(0), labels.std(0)
    offset, shift, scale = composition_baseline(counts, labels, mean, std)
    standardised = (counts @ offset + shift) * std + mean  # back in the target's units
    np.testing.assert_allclose(standardised, labels, rtol=0, atol=1e-6)
    assert scale.tolist() == [1.0]  # no residual left: the network's scale falls back to 1


def test_schnet_refuses_a_dataset_without_coordinates_and_others_ignore_3d_options() -> None:
    spec = user_dataset_spec(FIXTURES / "freesolv_small.csv", "smiles", ["dG_hyd"])
    molecules = load_molecules(spec)
    with pytest.raises(ModelOptionError, match=r"needs 3D coordinates and dataset 'freesolv_small' has none"):
        encode_items(get_family("schnet"), molecules)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        built = get_family("gin").build(ModelConfig(name="gin", num_layers=2, emb_dim=16, cutoff=4.0), 1)
    assert built.applied == {"cutoff": 5.0}
    assert any(isinstance(w.message, GreenftWarning) and "model.cutoff = 4.0" in str(w.message) for w in caught)


@pytest.mark.slow
def test_acceptance_train_on_qm9_saves_a_model_that_predicts(tmp_path: Path) -> None:
    """``greenft train --dataset qm9 --target U0 --model schnet`` offline (first use parses qm9pack into the cache:
    tens of seconds), then ``greenft predict`` on its saved model from SMILES (RDKit conformers)."""
    runs = tmp_path / "runs"
    train = [sys.executable, "-m", "greenft", "train", "--dataset", "qm9", "--target", "U0", "--model", "schnet"]
    flags = ["--max-epochs", "3", "--limit", "300", "--threads", "1", "--layers", "2", "--emb-dim", "16"]
    done = subprocess.run([*train, *flags, "--runs-dir", str(runs)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    files = next(runs.glob("wandb/offline-run-*/files"))
    epochs = [json.loads(line) for line in (files / "greenft_epochs.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert {c.template.format(metric="mae") for c in EPOCH_COLUMNS} <= set(epochs[0])  # the standard schema
    assert all(np.isfinite(e["val/mae"]) and e["emissions/cumulative_kg"] > 0 for e in epochs)
    config = json.loads((files / "greenft_config.json").read_text())
    assert config["data"]["split"] == "random" and config["derived"]["dataset"]["molecules"] == 300
    assert config["derived"]["model"]["family"] == "schnet"
    molecules = tmp_path / "in.csv"
    molecules.write_text("smiles\nCCO\nnot-a-smiles\nC\n")
    out = tmp_path / "out.csv"
    predict = [sys.executable, "-m", "greenft", "predict", "--model", str(files / "model_best.pt")]
    done = subprocess.run(
        [*predict, "--data-file", str(molecules), "--out", str(out)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = out.read_text().splitlines()
    assert rows[0] == "smiles,U0,error"
    ethanol, methane = float(rows[1].split(",")[1]), float(rows[3].split(",")[1])
    # U0 in eV: ethanol about -4217 (-154.99 Ha), methane about -1101.5 (-40.48 Ha); a 3-epoch model on 240
    # molecules is within a few eV thanks to its composition baseline
    assert ethanol == pytest.approx(-154.99 * 27.2114, abs=5.0) and methane == pytest.approx(-1101.5, abs=5.0)
    assert rows[2].startswith("not-a-smiles,,")


def test_trainer_steps_fit_real_qm9_molecules(qm9_molecules: object) -> None:
    """The trainer's own epoch (greenft.agents.fit.train_epoch) on schnet's items, after the composition baseline:
    the loss on 12 real molecules falls as they are fitted."""
    family = get_family("schnet")
    torch.manual_seed(0)
    config = ModelConfig(name="schnet", num_layers=2, emb_dim=16, pooling="sum")
    model = family.build(config, 1).model
    items = list(encode_items(family, qm9_molecules))  # type: ignore[arg-type]
    labels = qm9_molecules.labels  # type: ignore[attr-defined]
    scaler = TargetScaler.fit(labels, TaskType.REGRESSION)
    family.fit_target_baseline(model, items, scaler.mean, scaler.std)
    loader = family.loader(items, 4, shuffle=True, generator=torch.Generator().manual_seed(0))
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    device = torch.device("cpu")
    losses = [train_epoch(model, loader, optimizer, TaskType.REGRESSION, scaler, device) for _ in range(30)]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0] / 2, losses
