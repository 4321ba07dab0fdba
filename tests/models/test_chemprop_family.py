"""``chemprop-dmpnn``: it is chemprop's own model (same outputs as chemprop's ``MPNN`` on real molecules), it takes
chemprop's CLI defaults where the config gives none, it trains in ``greenft train`` like any family, its saved model
predicts, ``greenft analyze`` reads its run, and without chemprop it is one line.

chemprop's import costs seconds (once per session); the model files here are tiny (``--emb-dim 16``).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from greenft.cli import app
from greenft.data import get_dataset_spec, load_molecules
from greenft.models import ModelConfig, count_parameters, get_family
from greenft.models.chemprop_family import CHEMPROP_DEFAULTS, ChempropDmpnnFamily
from greenft.models.errors import ModelOptionError
from greenft.models.saved import load_saved_model
from greenft.schema import CONFIG_FILE, SPLIT_FILE

pytest.importorskip("chemprop", reason="the chemprop extra is not installed (pip install 'greenft[chemprop]')")

TRAIN = ["train", "--model", "chemprop-dmpnn", "--threads", "1", "--seed", "0"]


def _chemprop_outputs(mpnn: torch.nn.Module, smiles: list[str], labels: np.ndarray) -> torch.Tensor:
    """chemprop's own data path (datapoints, dataset, dataloader) and its ``MPNN.forward``."""
    from chemprop import data, featurizers

    featurizer = featurizers.SimpleMoleculeMolGraphFeaturizer()
    points = [data.MoleculeDatapoint.from_smi(s, y) for s, y in zip(smiles, labels, strict=True)]
    loader = data.build_dataloader(data.MoleculeDataset(points, featurizer), 50, 0, shuffle=False)
    return torch.cat([mpnn(batch.bmg, batch.V_d, batch.X_d) for batch in loader])


def _greenft_outputs(model: torch.nn.Module, smiles: list[str], labels: np.ndarray) -> torch.Tensor:
    family = get_family("chemprop-dmpnn")
    return torch.cat([model(batch) for batch in family.loader(family.encode(smiles, labels), 50, shuffle=False)])


@torch.no_grad()
def test_it_is_chemprops_default_mpnn_same_weights_same_outputs_on_bbbp() -> None:
    """chemprop's MPNN from its own default components (BondMessagePassing(), NormAggregation(), the FFNs) with the
    weights of greenft's default chemprop-dmpnn gives the very same outputs on real BBBP molecules: regression raw,
    classification through chemprop's sigmoid."""
    from chemprop import models, nn

    molecules = load_molecules(get_dataset_spec("bbbp"), limit=120)
    smiles, labels = molecules.smiles, molecules.labels
    torch.manual_seed(0)
    built = get_family("chemprop-dmpnn").build(ModelConfig(name="chemprop-dmpnn"), 1)
    ours = built.model.eval()
    assert built.info["emb_dim"] == 300 and built.info["num_layers"] == 3
    for predictor, to_outputs in ((nn.RegressionFFN(), lambda x: x), (nn.BinaryClassificationFFN(), torch.sigmoid)):
        theirs = models.MPNN(nn.BondMessagePassing(), nn.NormAggregation(), predictor).eval()
        assert count_parameters(theirs) == count_parameters(ours)
        theirs.message_passing.load_state_dict(ours.message_passing.state_dict(), strict=True)
        theirs.predictor.ffn.load_state_dict(ours.predictor.ffn.state_dict(), strict=True)
        expected = _chemprop_outputs(theirs, smiles, labels)
        assert expected.shape == (len(smiles), 1)
        torch.testing.assert_close(to_outputs(_greenft_outputs(ours, smiles, labels)), expected, rtol=1e-6, atol=1e-7)


def test_featurised_graphs_are_cached_and_served_identical(tmp_path: Path) -> None:
    molecules = load_molecules(get_dataset_spec("esol"), limit=60)
    family = get_family("chemprop-dmpnn")
    first = family.encode(molecules.smiles, molecules.labels, tmp_path)
    (entry,) = list((tmp_path / "chemprop-graphs").glob("*.pt"))
    stamp = entry.stat().st_mtime_ns
    again = family.encode(molecules.smiles, molecules.labels, tmp_path)
    assert entry.stat().st_mtime_ns == stamp  # read, not rewritten
    for fresh, cached in zip(first, again, strict=True):
        assert torch.allclose(fresh.y, cached.y, equal_nan=True)
        for a, b in zip(fresh.graph, cached.graph, strict=True):
            assert a.dtype == b.dtype and np.array_equal(a, b)
    entry.write_bytes(b"not a torch file")  # a corrupt entry is rebuilt, never trusted
    rebuilt = family.encode(molecules.smiles, molecules.labels, tmp_path)
    assert all(np.array_equal(a.graph.V, b.graph.V) for a, b in zip(first, rebuilt, strict=True))
    assert entry.stat().st_size > 100
    other_labels = family.encode(molecules.smiles, molecules.labels + 1.0, tmp_path)  # another key: another entry
    assert len(list((tmp_path / "chemprop-graphs").glob("*.pt"))) == 2
    assert torch.allclose(other_labels[0].y, first[0].y + 1.0, equal_nan=True)


def test_options_left_at_greenfts_defaults_take_chemprops_and_the_rest_stay() -> None:
    family = ChempropDmpnnFamily()
    default = family.build(ModelConfig(name="chemprop-dmpnn"), 2)
    assert default.applied == {"emb_dim": 300, "dropout": 0.0, "pooling": "norm"}  # depth 3 is greenft's 3 too
    assert CHEMPROP_DEFAULTS == {"num_layers": 3, "emb_dim": 300, "dropout": 0.0, "pooling": "norm"}
    assert family.default_lr_schedule == "noam"
    given = family.build(ModelConfig(name="chemprop-dmpnn", num_layers=2, emb_dim=16, dropout=0.2, pooling="sum"), 2)
    assert given.applied == {}
    mp = given.model.message_passing
    assert (mp.depth, mp.W_h.out_features, mp.dropout.p) == (2, 16, 0.2)
    assert type(given.model.agg).__name__ == "SumAggregation"
    batch = next(iter(family.loader(family.encode(["CCO", "c1ccccc1"], np.zeros((2, 2))), 2, shuffle=False)))
    assert given.model(batch).shape == (2, 2)
    with pytest.raises(ModelOptionError, match=r"pooling = 'max'.*chemprop has no such aggregation"):
        family.build(ModelConfig(name="chemprop-dmpnn", pooling="max"), 1)
    with pytest.raises(ModelOptionError, match=r"pooling = 'norm'.*chemprop-dmpnn' only"):
        get_family("gin").build(ModelConfig(pooling="norm"), 1)


def test_greenft_train_records_what_trained_and_the_saved_model_predicts_the_logged_metric(tmp_path: Path) -> None:
    """A real ``greenft train --model chemprop-dmpnn`` on ESOL: the run config records chemprop's defaults and noam;
    ``model_best.pt`` reloads and predicts the validation molecules with the RMSE logged at its epoch."""
    runs = tmp_path / "runs"
    args = [*TRAIN, "--dataset", "esol", "--limit", "120", "--max-epochs", "3", "--layers", "2", "--emb-dim", "16"]
    result = CliRunner().invoke(app, [*args, "--runs-dir", str(runs)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    (files,) = list(runs.glob("wandb/offline-run-*/files"))
    config = json.loads((files / CONFIG_FILE).read_text())
    assert config["model"] | {"name": "chemprop-dmpnn"} == config["model"]
    assert (config["model"]["num_layers"], config["model"]["emb_dim"]) == (2, 16)
    assert (config["model"]["dropout"], config["model"]["pooling"]) == (0.0, "norm")
    assert config["optim"]["lr_schedule"] == "noam"
    epochs = [json.loads(line) for line in (files / "greenft_epochs.jsonl").read_text().splitlines()]
    assert len(epochs) == 3 and all(math.isfinite(e["val/rmse"]) for e in epochs)

    saved = load_saved_model(files / "model_best.pt")
    best = min(epochs, key=lambda e: e["val/rmse"])
    molecules = load_molecules(get_dataset_spec("esol"), limit=120)
    val = json.loads((files / SPLIT_FILE).read_text())["val"]
    predicted = saved.predict([molecules.smiles[i] for i in val]).values
    rmse = float(np.sqrt(np.mean((predicted - molecules.labels[val]) ** 2)))
    assert rmse == pytest.approx(best["val/rmse"], rel=1e-5)

    out = tmp_path / "report"
    args = ["analyze", "--source", str(runs), "--out", str(out), "--cache-dir", str(tmp_path / "cache")]
    result = CliRunner().invoke(app, [*args, "--no-png", "--no-html", "--no-grid"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "chemprop-dmpnn" in (out / "report.md").read_text()


def test_without_chemprop_it_is_one_line_naming_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "chemprop", None)  # what `import chemprop` meets where it is not installed
    args = [*TRAIN, "--dataset", "esol", "--limit", "60", "--max-epochs", "1", "--runs-dir", str(tmp_path)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [
        "error: model 'chemprop-dmpnn' needs chemprop, which is not installed: pip install 'greenft[chemprop]'"
    ]


@pytest.mark.slow  # a fresh interpreter importing torch and PyTorch Geometric: tens of seconds on a busy machine
def test_the_registry_names_the_family_without_importing_chemprop() -> None:
    code = (
        "import sys, greenft.models.registry as r\n"
        "print('chemprop-dmpnn' in r.MODEL_FAMILIES, 'chemprop' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert done.stdout.split() == ["True", "False"]
