"""``greenft quantize``: bad input in one line (fast), and a real fine-tuned model measured end to end (slow).

The slow test fine-tunes with benchmarks/inference.py's ``fine_tune_and_save`` (greenft's trainer, which saves
``model_best.pt`` with its test metric in the header), then runs the command as a user would, in a subprocess:
the float32 row must reproduce the test metric the run logged, on the run's own test split (its split file).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from greenft.agents.config import TrialConfig
from greenft.models.saved import load_saved_model
from greenft.schema.inference import Precision, precision_rows_from_json

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def _error_line(args: list[str]) -> str:
    from greenft.cli import app

    result = runner.invoke(app, ["quantize", *args], env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def test_an_unknown_precision_lists_the_valid_ones(tmp_path: Path) -> None:
    line = _error_line(["--model", str(tmp_path / "m.pt"), "--precisions", "float32,int4"])
    assert line.startswith("error: --precisions: unknown precision 'int4'")
    assert all(p.value in line for p in Precision)


def test_a_missing_or_truncated_model_is_one_line(tmp_path: Path) -> None:
    assert "model file not found" in _error_line(["--model", str(tmp_path / "absent.pt")])
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file at all")
    assert "not a greenft model file" in _error_line(["--model", str(bad)])


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("inference_benchmark", ROOT / "benchmarks" / "inference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gin", "smiles-transformer"])
def test_quantize_a_fine_tuned_model(tmp_path: Path, name: str) -> None:
    config = TrialConfig.model_validate(
        {
            "threads": 1,
            "device": "cpu",
            "data": {"dataset": "bbbp", "limit": 120},
            "model": {"name": name, "num_layers": 2, "emb_dim": 16},
            "optim": {"max_epochs": 2, "batch_size": 32},
            "logging": {"runs_dir": str(tmp_path / "runs"), "system_metrics": False},
        }
    )
    path, info = _benchmark().fine_tune_and_save(config)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    out = tmp_path / "table.json"
    env = {**os.environ, "COLUMNS": "300", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "greenft", "quantize", "--precisions", "float32,float16,dynamic-int8,static-int8"]
    args = [*command, "--model", str(path), "--out", str(out)]
    result = subprocess.run(args, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = precision_rows_from_json(out.read_text())
    assert [r.precision for r in rows] == ["float32", "float16", "dynamic-int8", "static-int8"]
    header = load_saved_model(path).header
    assert rows[0].metric == pytest.approx(header.test_metric, abs=1e-12) == info["test_metric_logged"]
    assert all(r.supported and r.molecules == info["test_molecules"] for r in rows)
    assert all(r.kg_co2_per_1000 is not None and r.kg_co2_per_1000 > 0 for r in rows)
    assert rows[1].file_bytes is not None and rows[0].file_bytes is not None
    assert rows[1].file_bytes < rows[0].file_bytes
    assert "dynamic-int8" in result.stdout and "CPU power" in result.stdout
    bad = subprocess.run([*command, "--model", str(truncated)], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and bad.stdout.strip().splitlines() == [bad.stdout.strip()], bad.stdout
    assert "truncated or corrupt" in bad.stdout
