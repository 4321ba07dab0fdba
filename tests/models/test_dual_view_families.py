"""``dual-view-seq``, ``dual-view-graph``, ``dual-view-both``: the halves of a real (tiny) dual-view checkpoint,
fine-tuned from the CLI, their random-init control, the default location, a saved model and ``greenft predict``."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from rdkit import Chem
from typer.testing import CliRunner

from greenft.cli import app
from greenft.models import ModelConfig, build_model, get_family
from greenft.models.dual_view_family import DualViewBatch
from greenft.models.saved import (
    SAVED_MODEL_FORMAT,
    SavedModelHeader,
    canonical,
    load_saved_model,
    rebuild_parts,
    save_model,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pretrain"))
from pretrain_helpers import TINY_SIZES, tiny_corpus

runner = CliRunner()
WIDE = {"COLUMNS": "250"}
NAMES = ("dual-view-seq", "dual-view-graph", "dual-view-both")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from greenft.pretrain.runner import pretrain

    out = tmp_path_factory.mktemp("dual") / "dual-view"
    sizes = {**TINY_SIZES, "graph_num_layers": 2, "graph_emb_dim": 8}  # graph sizes unlike the sequence's
    pretrain("dual-view", out, corpus=tiny_corpus(), steps=2, meter="wallclock", threads=1, **sizes)
    return out


def _train(name: str, checkpoint: Path | None, runs: Path, *extra: str) -> tuple[dict[str, object], Path]:
    args = ["train", "--model", name, "--dataset", "bbbp", "--limit", "120", "--max-epochs", "2", "--threads", "1"]
    args += [*(["--checkpoint", str(checkpoint)] if checkpoint else []), "--runs-dir", str(runs), *extra]
    result = runner.invoke(app, args, env=WIDE)
    assert result.exit_code == 0, result.output
    (config_file,) = runs.glob("wandb/offline-run-*/files/greenft_config.json")
    return json.loads(config_file.read_text())["derived"]["model"], config_file.parent


@pytest.mark.slow  # a trainer run each (~20 s on the shared CPU); the fast tests below build the same models
@pytest.mark.parametrize("name", ["dual-view-seq", "dual-view-graph"])
def test_each_half_fine_tunes_from_the_cli_and_logs_the_pretraining_cost(
    name: str, run_dir: Path, tmp_path: Path
) -> None:
    logged, _ = _train(name, run_dir, tmp_path / "runs")
    assert logged["family"] == name and str(logged["init"]).startswith(f"pretrained:{run_dir / 'checkpoint'}")
    provenance = json.loads((run_dir / "checkpoint" / "greenft_checkpoint.json").read_text())["provenance"]
    assert logged["pretraining_duration_s"] == provenance["duration_s"] > 0  # amortised like the other checkpoints
    assert logged["checkpoint_format"] == "greenft-dual-view/v1"
    sizes = (TINY_SIZES["num_layers"], TINY_SIZES["emb_dim"]) if name == "dual-view-seq" else (2, 8)
    assert (logged["num_layers"], logged["emb_dim"]) == sizes  # the half's own architecture wins


def test_both_fine_tunes_saves_and_predicts(run_dir: Path, tmp_path: Path) -> None:
    logged, files = _train("dual-view-both", run_dir, tmp_path / "runs")
    assert logged["family"] == "dual-view-both" and logged["init"] == f"pretrained:{run_dir / 'checkpoint'}"
    assert (logged["graph_num_layers"], logged["graph_emb_dim"], logged["graph_model"]) == (2, 8, "gin")
    assert logged["pretraining_duration_s"] > 0
    saved = load_saved_model(files / "model_best.pt")  # rebuilt from the file alone: no checkpoint read
    molecules = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1"]
    direct = saved.predict(molecules).values[:, 0]
    data = tmp_path / "in.csv"
    pd.DataFrame({"smiles": molecules}).to_csv(data, index=False)
    out = tmp_path / "preds.csv"
    args = ["predict", "--model", str(files / "model_best.pt"), "--data-file", str(data), "--out", str(out)]
    result = runner.invoke(app, [*args, "--device", "cpu"], env=WIDE)
    assert result.exit_code == 0, result.output
    predicted = pd.read_csv(out).iloc[:, 1].to_numpy()  # smiles, then the task's probability
    assert predicted == pytest.approx(direct, abs=1e-6) and ((direct > 0) & (direct < 1)).all()


def test_random_init_keeps_the_architecture_and_drops_the_weights(run_dir: Path) -> None:
    for name in NAMES:
        pretrained = build_model(ModelConfig(name=name, checkpoint=run_dir), 1)
        control = build_model(ModelConfig(name=name, checkpoint=run_dir, random_init=True), 1)
        assert control.init == "random" and "pretraining_emissions_kg" not in control.info
        assert control.info["parameters"] == pretrained.info["parameters"]
        first = {k: v for k, v in pretrained.model.state_dict().items() if not k.startswith("head")}
        second = control.model.state_dict()
        assert first.keys() <= second.keys()
        floats = [k for k, v in first.items() if v.is_floating_point() and "norm" not in k and "running" not in k]
        assert any(not torch.equal(first[k], second[k]) for k in floats), name


def test_default_location_and_the_missing_checkpoint_error(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GREENFT_HOME", str(tmp_path / "home"))
    args = ["train", "--model", "dual-view-graph", "--dataset", "bbbp", "--limit", "120", "--max-epochs", "1"]
    result = runner.invoke(app, [*args, "--runs-dir", str(tmp_path / "r")], env=WIDE)
    assert result.exit_code == 2
    (line,) = [text for text in result.output.splitlines() if text.startswith("error:")]
    assert "no pretrained checkpoint for dual-view" in line and "greenft pretrain dual-view" in line
    shutil.copytree(run_dir, tmp_path / "home" / "checkpoints" / "dual-view")
    built = build_model(ModelConfig(name="dual-view-graph"), 1)
    assert (
        built.init
        == f"pretrained:{tmp_path / 'home' / 'checkpoints' / 'dual-view' / 'checkpoint' / 'graph'}/encoder.pt"
    )


def test_a_both_batch_holds_the_same_molecules_in_both_views(run_dir: Path) -> None:
    family = get_family("dual-view-both")
    smiles = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "O=C=O", "CCN"]
    labels = torch.arange(5, dtype=torch.float32).reshape(5, 1).numpy()
    items = family.encode(smiles, labels)
    batches = list(family.loader(items, 2, shuffle=True, generator=torch.Generator().manual_seed(3)))
    assert [len(b) for b in batches] == [2, 2, 1]
    for batch in batches:
        assert isinstance(batch, DualViewBatch)
        atoms = torch.bincount(batch.graph.batch).tolist()
        assert atoms == [Chem.MolFromSmiles(text).GetNumAtoms() for text in batch.sequence.texts]
        assert batch.y.flatten().tolist() == [float(smiles.index(text)) for text in batch.sequence.texts]
    model = build_model(ModelConfig(name="dual-view-both", checkpoint=run_dir), 1).model
    assert model(batches[0]).shape == (2, 1)


@pytest.mark.parametrize("name", NAMES)
def test_a_saved_model_rebuilds_from_the_file_alone(name: str, run_dir: Path, tmp_path: Path) -> None:
    """What a run saves (header from ``rebuild_parts``): the checkpoint is gone when the file is loaded."""
    config = ModelConfig(name=name, checkpoint=run_dir, num_layers=1, emb_dim=16, num_heads=2, max_length=48)
    built = build_model(config, 1)
    vocabulary, encoder_config = rebuild_parts(built.model)
    section = {**config.model_dump(mode="json"), **built.applied, "checkpoint": None}
    header = SavedModelHeader(
        format=SAVED_MODEL_FORMAT, version=1, greenft_version="test", family=name, model=section,
        vocabulary=vocabulary, encoder_config=encoder_config, num_tasks=1, task_names=["p_np"],
        task_type="classification", metric="roc_auc", dataset="bbbp", target_mean=[0.0], target_std=[1.0],
        which="best", epoch=1, val_metric=0.5, test_metric=0.5, parameters=int(built.info["parameters"]),
        emissions_kg=0.0, energy_kwh=0.0, run_id=None, run_path=None, training_config={},
    )  # fmt: skip
    path = save_model(tmp_path / "model.pt", built.model, header)
    moved = tmp_path / "elsewhere"
    shutil.copytree(run_dir, moved)
    shutil.rmtree(run_dir)
    try:
        saved = load_saved_model(path)
        molecules = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1"]
        texts = [str(canonical(text)[0]) for text in molecules]  # what predict feeds the model (RDKit canonical)
        family = get_family(name)
        batch = next(iter(family.loader(family.encode_unlabelled(texts, 1), 3, shuffle=False)))
        built.model.eval()
        with torch.no_grad():
            expected = torch.sigmoid(built.model(batch)).flatten()
        assert saved.predict(molecules).values[:, 0] == pytest.approx(expected.numpy(), abs=1e-5)
    finally:
        shutil.copytree(moved, run_dir)


@pytest.mark.slow  # three trainer subprocesses
def test_the_three_names_run_in_a_sweep(run_dir: Path, tmp_path: Path) -> None:
    import yaml

    from greenft.sweeps.controller import SweepOptions, run_sweep
    from greenft.sweeps.spec import load_sweep_spec

    shipped = load_sweep_spec(Path(__file__).resolve().parents[2] / "sweeps" / "dual-view.yaml")
    assert set(shipped.raw["parameters"]["model"]["values"]) == set(NAMES)
    raw = {
        **shipped.raw,
        "parameters": {
            "model": {"values": list(NAMES)},
            "checkpoint": {"value": str(run_dir)},
            "dataset": {"value": "bbbp"},
            "limit": {"value": 120},
            "max_epochs": {"value": 1},
        },
    }
    file = tmp_path / "dual.yaml"
    file.write_text(yaml.safe_dump(raw))
    outcome = run_sweep(load_sweep_spec(file), SweepOptions(runs_dir=tmp_path / "runs", threads=1), report=print)
    assert outcome.ran == 3
    families = sorted(
        json.loads(path.read_text())["derived"]["model"]["family"]
        for path in (tmp_path / "runs").rglob("offline-run-*/files/greenft_config.json")
    )
    assert families == sorted(NAMES)
