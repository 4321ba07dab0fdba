from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch_geometric.data import Batch

from greenft.data.featurize import smiles_to_graph
from greenft.models import (
    BuiltModel,
    CheckpointError,
    GINEncoder,
    ModelConfig,
    UnknownModelError,
    save_encoder_checkpoint,
)
from greenft.models import build_model as build_from_config
from greenft.models.checkpoint import read_checkpoint


def _batch() -> Batch:
    return Batch.from_data_list([smiles_to_graph(s) for s in ["CCO", "c1ccccc1N", "[Na+]", "F/C=C/F"]])


def _encode(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        out: torch.Tensor = model(batch)
    return out


def build_model(
    name: str,
    num_tasks: int,
    num_layers: int,
    emb_dim: int,
    dropout: float,
    pooling: str,
    checkpoint: Path | None = None,
) -> BuiltModel:
    config = ModelConfig.model_validate(
        {"name": name, "num_layers": num_layers, "emb_dim": emb_dim, "dropout": dropout, "pooling": pooling}
        | ({"checkpoint": checkpoint} if checkpoint else {})
    )
    return build_from_config(config, num_tasks)


def test_forward_gives_one_row_per_molecule_and_task() -> None:
    built = build_model("gin", num_tasks=3, num_layers=2, emb_dim=16, dropout=0.0, pooling="mean")
    assert _encode(built.model, _batch()).shape == (4, 3)
    assert built.init == "random" and built.info["parameters"] == sum(p.numel() for p in built.model.parameters())


def test_parameter_names_follow_the_published_layout() -> None:
    keys = set(GINEncoder(num_layers=2, emb_dim=8).state_dict())
    expected = {
        "x_embedding1.weight",
        "x_embedding2.weight",
        "gnns.0.mlp.0.weight",
        "gnns.0.mlp.2.weight",
        "gnns.0.edge_embedding1.weight",
        "gnns.0.edge_embedding2.weight",
        "batch_norms.1.running_mean",
    }
    assert expected <= keys
    assert GINEncoder(2, 8).state_dict()["x_embedding1.weight"].shape == (120, 8)


def test_checkpoint_round_trip_reproduces_the_encoder(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source = build_model("gin", 1, num_layers=3, emb_dim=24, dropout=0.0, pooling="mean")
    path = save_encoder_checkpoint(source.model.gnn, tmp_path / "enc.pt", provenance={"by": "test"})
    loaded = build_model("gin", 1, num_layers=1, emb_dim=8, dropout=0.0, pooling="mean", checkpoint=path)
    assert loaded.init == f"pretrained:{path}"
    assert (loaded.info["num_layers"], loaded.info["emb_dim"]) == (3, 24)  # the checkpoint's architecture wins
    assert loaded.info["checkpoint_provenance"] == {"by": "test"}
    batch = _batch()
    source.model.gnn.eval()
    loaded.model.gnn.eval()
    with torch.no_grad():
        a = source.model.gnn(batch.x, batch.edge_index, batch.edge_attr)
        b = loaded.model.gnn(batch.x, batch.edge_index, batch.edge_attr)
    assert torch.allclose(a, b)


def test_raw_state_dict_with_gnn_prefix_loads(tmp_path: Path) -> None:
    encoder = GINEncoder(num_layers=2, emb_dim=16)
    raw = {f"gnn.{k}": v for k, v in encoder.state_dict().items()}
    raw["graph_pred_linear.weight"] = torch.zeros(1, 16)  # a fine-tuned model's head is ignored
    torch.save(raw, tmp_path / "raw.pth")
    checkpoint = read_checkpoint(tmp_path / "raw.pth")
    assert checkpoint.format == "raw-state-dict"
    assert (checkpoint.architecture.num_layers, checkpoint.architecture.emb_dim) == (2, 16)
    built = build_model("gin", 1, 5, 300, 0.0, "mean", checkpoint=tmp_path / "raw.pth")
    assert torch.equal(built.model.gnn.x_embedding1.weight, encoder.x_embedding1.weight)


def test_incomplete_checkpoint_names_missing_keys(tmp_path: Path) -> None:
    state = GINEncoder(num_layers=2, emb_dim=16).state_dict()
    del state["gnns.1.mlp.2.weight"]
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(CheckpointError, match=r"gnns\.1\.mlp\.2\.weight"):
        build_model("gin", 1, 2, 16, 0.0, "mean", checkpoint=tmp_path / "broken.pth")


def test_non_checkpoint_files_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CheckpointError, match=r"notes\.txt"):
        read_checkpoint(tmp_path / "notes.txt")
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint(tmp_path / "absent.pt")
    torch.save({"w": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a GIN encoder"):
        read_checkpoint(tmp_path / "other.pt")


def test_unknown_model_lists_known_models() -> None:
    with pytest.raises(UnknownModelError, match=r"unknown model .chemberta.; known models: .*\bgin\b"):
        build_model("chemberta", 1, 2, 16, 0.0, "mean")
