from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from conftest import FIXTURES
from greenft.cli import app

runner = CliRunner()


def test_datasets_list_shows_sources_and_licences() -> None:
    result = runner.invoke(app, ["datasets", "list"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for name in ("b3db", "freesolv", "bbbp", "bace", "clintox", "hiv", "esol", "lipo"):
        assert re.search(rf"\b{name}\b", result.output), name
    assert "CC0-1.0" in result.output and "GPLv2" in result.output


def test_train_prints_the_epoch_table_and_where_the_run_is(tmp_path: Path) -> None:
    args = ["train", "--dataset", "b3db", "--limit", "300", "--layers", "2", "--emb-dim", "32", "--max-epochs", "3"]
    args += ["--runs-dir", str(tmp_path / "runs"), "--threads", "1"]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "kg CO2 (cum)" in result.output and "AER" in result.output and "decision" in result.output
    epoch_rows = [line for line in result.output.splitlines() if re.match(r"\s+[123]\s+\d\.\d{4}\s", line)]
    assert len(epoch_rows) >= 2
    assert "ESTIMATED" in result.output or "hardware counters" in result.output
    assert str(tmp_path / "runs") in result.output.replace("\n", "")
    assert re.search(r"deployed weights \(epoch [123]\): \S+deployed_model\.pt", result.output)
    assert "best-val (hindsight)" in result.output and "best-test (limit)" in result.output  # one naming


def test_user_file_with_broken_rows_is_reported(tmp_path: Path) -> None:
    args = ["train", "--data-file", str(FIXTURES / "bbb_small.csv"), "--smiles-column", "smiles"]
    args += ["--target-column", "bbb", "--split", "random", "--max-epochs", "1", "--layers", "1", "--emb-dim", "16"]
    args += ["--runs-dir", str(tmp_path), "--wandb-mode", "disabled"]
    result = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "2 rows dropped" in result.output and "row 11" in result.output


def test_user_errors_exit_2_with_one_clear_line(tmp_path: Path) -> None:
    cases = [
        (["train", "--dataset", "tox22"], "unknown dataset 'tox22'"),
        (["train", "--model", "transformer9", "--runs-dir", str(tmp_path), "--limit", "200"], "unknown model"),
        (["train", "--alpha", "2"], "stopping.anges-pp.alpha = 2.0"),
        (["train", "--rule", "anges", "--alpha", "2"], "stopping.anges.alpha = 2.0"),
        (["train", "--config", str(tmp_path / "none.yaml")], "config file not found"),
        (
            [
                "train",
                "--data-file",
                str(FIXTURES / "bbb_small.csv"),
                "--smiles-column",
                "SMILES",
                "--target-column",
                "bbb",
            ],
            "column(s) ['SMILES'] not found",
        ),
    ]
    for args, message in cases:
        result = runner.invoke(app, args, env={"COLUMNS": "250"})
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output.replace("\n", " "), (args, result.output)


SHARED_CHECKPOINTS = Path(__file__).resolve().parents[1].parent / "shared" / "checkpoints"


def test_published_checkpoint_with_explicit_format_fine_tunes(tmp_path: Path) -> None:
    path = SHARED_CHECKPOINTS / "hu2020_gcn_contextpred.pth"
    if not path.is_file():
        import pytest

        pytest.skip(f"shared checkpoint not present: {path}")
    args = ["train", "--model", "gcn", "--checkpoint", str(path), "--checkpoint-format", "hu2020"]
    args += ["--dataset", "bbbp", "--limit", "200", "--max-epochs", "1", "--wandb-mode", "disabled"]
    args += ["--runs-dir", str(tmp_path), "--threads", "1"]
    result = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    (config_file,) = tmp_path.glob("*/greenft_config.json")
    derived = json.loads(config_file.read_text())["derived"]["model"]
    assert derived["init"] == f"pretrained:{path}" and derived["checkpoint_format"].startswith("hu2020")
