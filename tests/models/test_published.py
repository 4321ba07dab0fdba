"""Published checkpoints: format detection, key mapping by name, head keys, ambiguity and the error paths.

The two real files in ``../shared/checkpoints`` are used when present (skipped with the reason otherwise).
No real GIN file is available offline, so Hu et al.'s and MolCLR's GIN layouts are built here from the
authors' key names and shapes, written out by hand rather than taken from our own modules.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from greenft.models import CheckpointError, ModelConfig, build_model
from greenft.models.greenft_format import save_encoder
from greenft.models.published import detect_checkpoint, inspect_checkpoint, layout_of_state_dict, load_encoder

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "checkpoints"
HU_GCN = SHARED / "hu2020_gcn_contextpred.pth"
MOLCLR_GCN = SHARED / "molclr_gcn.pth"
needs_shared = pytest.mark.skipif(
    not (HU_GCN.is_file() and MOLCLR_GCN.is_file()),
    reason=f"the published checkpoints are not in {SHARED} (read-only test data outside the repository)",
)


def _gin_state(atoms: int, bonds: int, layers: int = 2, width: int = 8) -> dict[str, torch.Tensor]:
    """A GIN encoder state dict in the authors' key layout (pretrain-gnns ``GNN`` / MolCLR ``GINet``)."""
    gen = torch.Generator().manual_seed(0)
    state = {
        "x_embedding1.weight": torch.randn(atoms, width, generator=gen),
        "x_embedding2.weight": torch.randn(3, width, generator=gen),
    }
    for i in range(layers):
        state |= {
            f"gnns.{i}.mlp.0.weight": torch.randn(2 * width, width, generator=gen),
            f"gnns.{i}.mlp.0.bias": torch.randn(2 * width, generator=gen),
            f"gnns.{i}.mlp.2.weight": torch.randn(width, 2 * width, generator=gen),
            f"gnns.{i}.mlp.2.bias": torch.randn(width, generator=gen),
            f"gnns.{i}.edge_embedding1.weight": torch.randn(bonds, width, generator=gen),
            f"gnns.{i}.edge_embedding2.weight": torch.randn(3, width, generator=gen),
            f"batch_norms.{i}.weight": torch.rand(width, generator=gen),
            f"batch_norms.{i}.bias": torch.randn(width, generator=gen),
            f"batch_norms.{i}.running_mean": torch.randn(width, generator=gen),
            f"batch_norms.{i}.running_var": torch.rand(width, generator=gen) + 0.5,
            f"batch_norms.{i}.num_batches_tracked": torch.tensor(1000),
        }
    return state


def _molclr_head(width: int = 8) -> dict[str, torch.Tensor]:
    return {
        "feat_lin.weight": torch.zeros(16, width),
        "feat_lin.bias": torch.zeros(16),
        "out_lin.0.weight": torch.zeros(16, 16),
        "out_lin.0.bias": torch.zeros(16),
        "out_lin.2.weight": torch.zeros(4, 16),
        "out_lin.2.bias": torch.zeros(4),
    }


@needs_shared
def test_real_hu_gcn_loads_with_no_missing_or_unexpected_keys() -> None:
    report = inspect_checkpoint(HU_GCN)
    assert report.detected.format == "hu2020" and report.detected.layout.model == "gcn"
    assert (report.detected.num_layers, report.detected.emb_dim) == (5, 300)
    assert report.ok and report.missing_keys == [] and report.unexpected_keys == [] and report.mismatched == []
    assert len(report.loaded_keys) == 47 and report.detected.ignored_head_keys == []
    file_state = torch.load(HU_GCN, map_location="cpu", weights_only=True)
    loaded = report.encoder.state_dict()
    assert all(torch.equal(loaded[k], file_state[k]) for k in file_state)  # by name, values untouched


@needs_shared
def test_real_molclr_gcn_loads_and_its_projection_head_is_ignored_not_unexpected() -> None:
    report = inspect_checkpoint(MOLCLR_GCN)
    assert report.detected.format == "molclr" and report.detected.layout.model == "gcn-molclr"
    assert report.ok and len(report.loaded_keys) == 47
    assert sorted({k.split(".")[0] for k in report.detected.ignored_head_keys}) == ["feat_lin", "out_lin"]
    assert report.encoder.gnns[0].edge_embedding1.weight.shape == (5, 1)


@needs_shared
def test_another_hu_gcn_pretraining_strategy_loads_the_same_way(tmp_path: Path) -> None:
    """Same architecture, different weights and file name (as pretrain-gnns ships gcn_supervised_contextpred)."""
    original = torch.load(HU_GCN, map_location="cpu", weights_only=True)
    gen = torch.Generator().manual_seed(7)
    other = {
        k: (v + 0.01 * torch.randn(v.shape, generator=gen) if v.is_floating_point() else v.clone())
        for k, v in original.items()
    }
    path = tmp_path / "gcn_supervised_contextpred.pth"
    torch.save(other, path)
    a, b = inspect_checkpoint(HU_GCN), inspect_checkpoint(path)
    assert b.ok and b.detected.format == a.detected.format and b.detected.layout == a.detected.layout
    assert b.loaded_keys == a.loaded_keys and b.encoder_parameters == a.encoder_parameters
    assert not torch.equal(b.encoder.gnns[0].linear.weight, a.encoder.gnns[0].linear.weight)
    built = build_model(ModelConfig(name="gcn", checkpoint=path), num_tasks=2)
    assert built.init == f"pretrained:{path}" and built.info["num_layers"] == 5 and built.info["emb_dim"] == 300


@needs_shared
def test_a_checkpoint_for_another_model_names_the_right_one(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="use --model gcn-molclr"):
        load_encoder(MOLCLR_GCN, "gcn")
    with pytest.raises(CheckpointError, match="use --model gcn-molclr"):  # the GIN family's own loader too
        build_model(ModelConfig(name="gin", checkpoint=MOLCLR_GCN), num_tasks=1)
    with pytest.raises(CheckpointError, match="use --model gcn"):
        build_model(ModelConfig(name="gin", checkpoint=HU_GCN), num_tasks=1)


@needs_shared
def test_a_forced_wrong_format_reports_every_key_that_does_not_fit() -> None:
    report = inspect_checkpoint(MOLCLR_GCN, "hu2020")
    assert not report.ok and report.detected.format_given
    assert "gnns.0.linear.weight" in report.missing_keys and "gnns.0.weight" in report.unexpected_keys
    assert any(k.startswith("x_embedding1.weight") for k in report.mismatched)
    with pytest.raises(CheckpointError, match="missing encoder key"):
        build_model(ModelConfig(name="gcn", checkpoint=MOLCLR_GCN, checkpoint_format="hu2020"), num_tasks=1)


def test_hu_gin_in_the_authors_layout_loads_into_gin(tmp_path: Path) -> None:
    path = tmp_path / "contextpred.pth"
    torch.save(_gin_state(atoms=120, bonds=6), path)
    report = inspect_checkpoint(path)
    assert report.ok and report.detected.format == "hu2020" and report.detected.layout.model == "gin"
    built = build_model(ModelConfig(name="gin", checkpoint=path), num_tasks=1)  # the existing GIN family
    assert torch.equal(built.model.gnn.gnns[1].mlp[2].weight, _gin_state(120, 6)["gnns.1.mlp.2.weight"])


def test_hu_fine_tuned_model_strips_gnn_prefix_and_ignores_its_head(tmp_path: Path) -> None:
    state = {f"gnn.{k}": v for k, v in _gin_state(atoms=120, bonds=6).items()}
    state |= {"graph_pred_linear.weight": torch.zeros(12, 8), "graph_pred_linear.bias": torch.zeros(12)}
    path = tmp_path / "tox21_finetuned.pth"
    torch.save(state, path)
    report = inspect_checkpoint(path)
    assert report.ok and report.detected.layout.model == "gin"
    assert report.detected.ignored_head_keys == ["graph_pred_linear.bias", "graph_pred_linear.weight"]


def test_molclr_gin_with_its_head_loads_into_gin_molclr(tmp_path: Path) -> None:
    path = tmp_path / "model.pth"
    torch.save(_gin_state(atoms=119, bonds=5) | _molclr_head(), path)
    report = inspect_checkpoint(path)
    assert report.ok and report.detected.format == "molclr" and report.detected.layout.model == "gin-molclr"
    assert len(report.detected.ignored_head_keys) == 6
    built = build_model(ModelConfig(name="gin-molclr", checkpoint=path, dropout=0.0), num_tasks=3)
    assert built.info["checkpoint_format"].startswith("molclr") and built.info["checkpoint_ignored_head_keys"] == 6


def test_contradictory_vocabularies_need_an_explicit_format(tmp_path: Path) -> None:
    path = tmp_path / "odd.pth"
    torch.save(_gin_state(atoms=120, bonds=5), path)
    with pytest.raises(CheckpointError, match="cannot tell whether"):
        detect_checkpoint(path)
    assert layout_of_state_dict(_gin_state(atoms=120, bonds=5)) is None
    forced = inspect_checkpoint(path, "molclr")
    assert forced.detected.layout.model == "gin-molclr" and not forced.ok
    assert forced.mismatched == ["x_embedding1.weight: file (120, 8) vs encoder (119, 8)"]


def test_greenft_format_round_trip_for_a_published_layout(tmp_path: Path) -> None:
    encoder = build_model(ModelConfig(name="gcn-molclr", num_layers=2, emb_dim=16), num_tasks=1).model.gnn
    path = save_encoder(encoder, tmp_path / "enc.pt", "gcn-molclr", provenance={"corpus": "test"})
    report = inspect_checkpoint(path)
    assert report.ok and report.detected.format == "greenft" and report.detected.provenance == {"corpus": "test"}
    with pytest.raises(CheckpointError, match="is a greenft checkpoint"):
        detect_checkpoint(path, "molclr")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a checkpoint", "cannot be read as a torch checkpoint"),
        (None, "checkpoint not found"),
    ],
)
def test_unreadable_files_are_checkpoint_errors(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "x.pth"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        inspect_checkpoint(path)


def test_tensors_that_are_no_encoder_are_rejected_with_the_keys(tmp_path: Path) -> None:
    path = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(CheckpointError, match="not a GIN/GCN encoder"):
        inspect_checkpoint(path)
    with pytest.raises(CheckpointError, match="not one of"):
        inspect_checkpoint(path, "chemprop")
