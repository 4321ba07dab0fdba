"""One loader for every graph checkpoint layout: ``gin`` reads a file exactly as ``checkpoint inspect`` does.

Each test here failed while ``gin`` had a GIN-only reader of its own (issue 11): it ignored
``--checkpoint-format``, refused a state dict nested under ``state_dict`` that ``checkpoint inspect`` accepts as
a GIN, and logged ``raw-state-dict`` where inspect and every other graph model say ``hu2020 (...)``.
The files are written by greenft's own GIN (a Hu et al. 2020 layout), as a user's training script would.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from greenft.cli import app
from greenft.models import CheckpointError, GINEncoder, ModelConfig, build_model
from greenft.models.greenft_format import save_encoder
from greenft.models.published import inspect_checkpoint


def _gin_file(path: Path, nest: str | None = None, prefix: str = "") -> Path:
    """A GIN encoder's state dict, optionally under ``nest`` in a training checkpoint, keys optionally prefixed."""
    torch.manual_seed(0)
    state = {f"{prefix}{k}": v for k, v in GINEncoder(num_layers=2, emb_dim=16).state_dict().items()}
    torch.save({nest: state, "epoch": 3, "optimizer": {"lr": 0.001}} if nest else state, path)
    return path


def _gin(path: Path, fmt: str = "auto") -> ModelConfig:
    return ModelConfig.model_validate({"name": "gin", "checkpoint": path, "checkpoint_format": fmt, "dropout": 0.0})


def test_gin_honours_the_checkpoint_format(tmp_path: Path) -> None:
    path = _gin_file(tmp_path / "gin.pth")
    with pytest.raises(CheckpointError, match="use --model gin-molclr"):  # read as MolCLR, it is gin-molclr's
        build_model(_gin(path, "molclr"), num_tasks=1)
    with pytest.raises(CheckpointError, match="not a greenft checkpoint"):
        build_model(_gin(path, "greenft"), num_tasks=1)
    assert build_model(_gin(path, "hu2020"), num_tasks=1).info["checkpoint_format"].startswith("hu2020")
    greenft_file = save_encoder(GINEncoder(2, 16), tmp_path / "enc.pt", "gin")
    with pytest.raises(CheckpointError, match="is a greenft checkpoint, not 'hu2020'"):
        build_model(_gin(greenft_file, "hu2020"), num_tasks=1)


@pytest.mark.parametrize("nest", ["state_dict", "model_state_dict"])
def test_gin_reads_a_state_dict_nested_in_a_training_checkpoint(tmp_path: Path, nest: str) -> None:
    path = _gin_file(tmp_path / "trainer.ckpt", nest=nest)
    report = inspect_checkpoint(path)
    assert report.ok and report.detected.layout.model == "gin"
    built = build_model(_gin(path), num_tasks=1)
    assert built.init == f"pretrained:{path}" and (built.info["num_layers"], built.info["emb_dim"]) == (2, 16)
    loaded = built.model.gnn.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in report.encoder.state_dict().items())


@pytest.mark.parametrize("kind", ["raw", "nested", "gnn-prefixed", "greenft"])
def test_gin_logs_the_format_label_that_inspect_shows(tmp_path: Path, kind: str) -> None:
    if kind == "greenft":
        path = save_encoder(GINEncoder(2, 16), tmp_path / "enc.pt", "gin", provenance={"by": "test"})
    else:
        nest = "state_dict" if kind == "nested" else None
        path = _gin_file(tmp_path / "gin.pth", nest=nest, prefix="gnn." if kind == "gnn-prefixed" else "")
    label = inspect_checkpoint(path).detected.format_label
    assert build_model(_gin(path), num_tasks=1).info["checkpoint_format"] == label


@pytest.mark.parametrize("model", ["gin", "gcn", "gin-molclr", "gcn-molclr"])
def test_every_graph_model_reports_a_greenft_file_alike(tmp_path: Path, model: str) -> None:
    encoder = build_model(ModelConfig(name=model, num_layers=2, emb_dim=16), num_tasks=1).model.gnn
    path = save_encoder(encoder, tmp_path / "enc.pt", model, provenance={"corpus": "test"})
    built = build_model(ModelConfig(name=model, checkpoint=path), num_tasks=1)
    assert built.info["checkpoint_format"] == "greenft-encoder/v1" == inspect_checkpoint(path).detected.format_label
    assert built.info["checkpoint_provenance"] == {"corpus": "test"} and built.info["checkpoint_ignored_head_keys"] == 0


def test_train_model_gin_fine_tunes_from_a_nested_state_dict(tmp_path: Path) -> None:
    path = _gin_file(tmp_path / "trainer.ckpt", nest="state_dict")
    args = ["train", "--model", "gin", "--checkpoint", str(path), "--dataset", "b3db", "--limit", "120"]
    args += ["--max-epochs", "1", "--wandb-mode", "disabled", "--runs-dir", str(tmp_path / "runs"), "--threads", "1"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    (config_file,) = (tmp_path / "runs").glob("*/greenft_config.json")
    derived = json.loads(config_file.read_text())["derived"]["model"]
    assert derived["init"] == f"pretrained:{path}"
    assert derived["checkpoint_format"] == inspect_checkpoint(path).detected.format_label
