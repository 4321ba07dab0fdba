"""benchmarks/third_seed_comparison.py on a real tiny grid: pretraining, fine-tunes, and a table that says what the
files say.

A real tiny ``gin-contrastive`` pretraining (100 MOSES molecules) and two seeds of its fine-tune plus one random-init
``graphormer`` run (ESOL, 60 molecules, 2 epochs, one thread). The test recomputes the table's figures without the
script's summariser: the test metric at the best validation epoch from the runs' epoch logs, the pretraining kg
from the checkpoint's own provenance, and its amortisation over the two fine-tunes made from it; a rerun trains
nothing (resumable).
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import sys
from pathlib import Path
from types import ModuleType

import pytest

from greenft.data.corpus import moses_path, read_smiles_file
from greenft.schema.keys import EPOCHS_FILE

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "third_seed_comparison.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("third_seed_comparison_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _cells(table: str, title: str, key_column: str, key: str) -> dict[str, str]:
    block = table.split(title, 1)[1]
    lines = [line for line in block.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[header.index(key_column)] == key:
            return dict(zip(header, cells, strict=True))
    raise AssertionError(f"no row {key!r} in\n{table}")


@pytest.mark.slow
def test_table_matches_the_runs_and_the_checkpoint(tmp_path: Path) -> None:
    script = _load_script()
    corpus = tmp_path / "corpus.smi"
    corpus.write_text("\n".join(read_smiles_file(moses_path())[:100]) + "\n")  # not dataset molecules
    out = tmp_path / "cmp"
    argv = ["--datasets", "esol", "--seeds", "0", "1", "--epochs", "2", "--limit", "60", "--meter", "wallclock"]
    argv += ["--only", "gin-contrastive", "graphormer", "--out", str(out), "--pretrain-corpus", "60"]
    argv += ["--pretrain-set", f"corpus_file={json.dumps(str(corpus))}", "num_layers=1", "emb_dim=16", "batch_size=8"]
    assert script.main(argv) == 0
    runs = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert sorted((r["arm"], r["seed"]) for r in runs) == [
        ("gin-contrastive", 0),
        ("gin-contrastive", 1),
        ("graphormer", 0),
        ("graphormer", 1),
    ]
    table = (out / "table.md").read_text()

    tests = []
    for run in (r for r in runs if r["arm"] == "gin-contrastive"):
        history = [json.loads(line) for line in (Path(run["run_dir"]) / EPOCHS_FILE).read_text().splitlines()]
        assert len(history) == 2
        best = min(history, key=lambda row: (row["val/rmse"], row["epoch"]))  # RMSE: lowest val, earliest on ties
        tests.append(best["test/rmse"])
    row = _cells(table, "Fine-tuning", "model", "gin-contrastive")
    assert row["test @ best val"] == f"{statistics.fmean(tests):.3f} ± {statistics.stdev(tests):.3f}"

    state = json.loads((out / "pretraining.jsonl").read_text().splitlines()[0])
    meta = json.loads((Path(state["checkpoint"]) / "greenft_checkpoint.json").read_text())
    kg = meta["provenance"]["emissions_kg"]
    assert row["pretraining kg"] == f"{kg:.2e}"
    assert row["amortised kg / fine-tune"] == f"{kg / 2:.2e} (/2)"  # two fine-tunes start from this checkpoint
    assert _cells(table, "Fine-tuning", "model", "graphormer")["pretraining kg"] == "none"

    assert script.main(argv) == 0  # resumable: nothing left to run
    assert len((out / "runs.jsonl").read_text().splitlines()) == 4
