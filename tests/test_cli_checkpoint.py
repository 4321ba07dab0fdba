"""``greenft checkpoint inspect``: what it prints and its exit codes (0 loads cleanly, 1 does not, 2 unreadable)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from greenft.cli import app

runner = CliRunner()
SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "checkpoints"
HU_GCN = SHARED / "hu2020_gcn_contextpred.pth"
MOLCLR_GCN = SHARED / "molclr_gcn.pth"
needs_shared = pytest.mark.skipif(
    not (HU_GCN.is_file() and MOLCLR_GCN.is_file()),
    reason=f"the published checkpoints are not in {SHARED} (read-only test data outside the repository)",
)


@needs_shared
@pytest.mark.parametrize(
    ("path", "fmt", "model", "head"),
    [(HU_GCN, "hu2020", "gcn", 0), (MOLCLR_GCN, "molclr", "gcn-molclr", 6)],
)
def test_inspect_the_shared_checkpoints(path: Path, fmt: str, model: str, head: int) -> None:
    result = runner.invoke(app, ["checkpoint", "inspect", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"{fmt} (" in result.output and "5 layers x 300" in result.output
    assert "missing encoder keys    │ 0" in result.output and "unexpected encoder keys │ 0" in result.output
    assert "loads cleanly" in result.output and f"--model {model}" in result.output
    data = json.loads(runner.invoke(app, ["checkpoint", "inspect", str(path), "--json"]).output)
    assert data["format"].startswith(fmt) and data["model"] == model and data["loads_cleanly"] is True
    assert data["missing_encoder_keys"] == [] and data["unexpected_encoder_keys"] == []
    assert len(data["ignored_head_keys"]) == head and data["encoder_keys_loaded"] == 47


@needs_shared
def test_inspect_exits_1_when_keys_do_not_fit() -> None:
    result = runner.invoke(app, ["checkpoint", "inspect", str(MOLCLR_GCN), "--format", "hu2020"])
    assert result.exit_code == 1, result.output
    assert "does not load cleanly" in result.output and "missing encoder key" in result.output


def test_inspect_exits_2_with_one_line_for_unreadable_files(tmp_path: Path) -> None:
    garbage = tmp_path / "model.pth"
    garbage.write_text("hello")
    result = runner.invoke(app, ["checkpoint", "inspect", str(garbage)], env={"COLUMNS": "300"})
    assert result.exit_code == 2 and "cannot be read as a torch checkpoint" in result.output
    result = runner.invoke(app, ["checkpoint", "inspect", str(tmp_path / "none.pth")], env={"COLUMNS": "300"})
    assert result.exit_code == 2 and "checkpoint not found" in result.output
    not_gnn = tmp_path / "other.pth"
    torch.save({"fc.weight": torch.zeros(1)}, not_gnn)
    result = runner.invoke(app, ["checkpoint", "inspect", str(not_gnn)], env={"COLUMNS": "300"})
    assert result.exit_code == 2 and "not a GIN/GCN encoder" in result.output
