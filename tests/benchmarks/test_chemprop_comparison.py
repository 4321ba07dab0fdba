"""benchmarks/chemprop_comparison.py on a real tiny grid: its table equals what the runs' own files say.

One real shadow run (``gin``, ESOL, 60 molecules, 2 epochs, one thread) and the real baselines on the same split.
The test recomputes the table's figures without the script's summariser: the test metric at the best validation
epoch and the full-budget kg from the run's epoch log, the prior's RMSE from the split file and the labels
(the training mean predicted for every test molecule), then checks a rerun trains nothing (resumable).
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

from greenft.agents.config import parse_trial_config
from greenft.agents.trial import load_data
from greenft.schema.keys import EPOCHS_FILE, SPLIT_FILE

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "chemprop_comparison.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chemprop_comparison_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _cell(table: str, model: str, column: str) -> str:
    lines = [line for line in table.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[1] == model:
            return cells[header.index(column)]
    raise AssertionError(f"no row {model!r} in\n{table}")


def test_table_matches_the_runs_files(tmp_path: Path) -> None:
    script = _load_script()
    out = tmp_path / "cmp"
    argv = ["--datasets", "esol", "--seeds", "0", "--epochs", "2", "--limit", "60", "--meter", "wallclock"]
    argv += ["--only", "gin", "prior", "--out", str(out)]
    assert script.main(argv) == 0
    runs = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert sorted(r["arm"] for r in runs) == ["gin", "morgan-linear", "morgan-rf", "prior"]
    table = (out / "table.md").read_text()

    gin = next(r for r in runs if r["arm"] == "gin")
    history = [json.loads(line) for line in (Path(gin["run_dir"]) / EPOCHS_FILE).read_text().splitlines()]
    assert len(history) == 2
    best = min(history, key=lambda row: (row["val/rmse"], row["epoch"]))  # RMSE: lowest val, earliest on ties
    assert _cell(table, "gin", "test @ best val") == f"{best['test/rmse']:.3f} ± 0.000"
    assert _cell(table, "gin", "kg CO2 full") == f"{history[-1]['emissions/cumulative_kg']:.2e}"
    assert _cell(table, "gin", "epochs") == "2" and _cell(table, "gin", "seeds") == "1"

    split = json.loads((Path(gin["run_dir"]) / SPLIT_FILE).read_text())
    config = parse_trial_config({"data": {"dataset": "esol", "limit": 60}, "seed": 0}, "test")
    labels = load_data(config).labels[:, 0]
    train_mean = labels[split["train"]].mean()
    rmse = math.sqrt(float(np.mean((labels[split["test"]] - train_mean) ** 2)))
    assert _cell(table, "prior", "test @ best val") == f"{rmse:.3f} ± 0.000"

    assert script.main(argv) == 0  # resumable: everything is in runs.jsonl, nothing trains again
    assert len((out / "runs.jsonl").read_text().splitlines()) == 4
