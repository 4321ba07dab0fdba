"""Hyperparameter importance on synthetic sweeps, and the purity of the analysis' logic modules."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from greenft.analysis.importance import EMISSIONS_TARGET, METRIC_TARGET, hyperparameter_importance
from greenft.analysis.records import RunRecord


def sweep_record(i: int, lr: float, batch_size: int, epochs: int, *, metric: str = "roc_auc") -> RunRecord:
    best = 0.9 - abs(lr - 1e-3) * 100 if metric == "roc_auc" else 1.0 + abs(lr - 1e-3) * 100
    config: dict[str, Any] = {
        "seed": i,
        "data": {"dataset": "b3db"},
        "model": {"name": "gin", "num_layers": 3},
        "optim": {"lr": lr, "batch_size": batch_size, "max_epochs": epochs},
    }
    summary = {"metric": metric, f"best/val_{metric}": best, "total/emissions_kg": 1e-6 * epochs}
    return RunRecord(f"r{i}", "offline", f"/r{i}", "finished", config, summary, [])


def test_importance_finds_the_knobs() -> None:
    grid = [(1e-4, 32, 10), (1e-3, 64, 20), (3e-3, 128, 30), (1e-2, 32, 20), (3e-4, 64, 30), (1e-3, 128, 10),
            (3e-3, 32, 30), (1e-4, 128, 20)]  # fmt: skip
    records = [sweep_record(i, *params) for i, params in enumerate(grid)]
    result = hyperparameter_importance(records)
    rows = {(r["target"], r["parameter"]): r for r in result.rows}
    assert {p for _, p in rows} == {"optim.lr", "optim.batch_size", "optim.max_epochs"}  # num_layers is constant
    emissions = {p: rows[(EMISSIONS_TARGET, p)] for p in ("optim.lr", "optim.batch_size", "optim.max_epochs")}
    assert emissions["optim.max_epochs"]["spearman"] == pytest.approx(1.0)  # CO2 grows with the epoch budget
    assert max(emissions, key=lambda p: emissions[p]["importance"]) == "optim.max_epochs"
    metric = {p: rows[(METRIC_TARGET, p)] for p in ("optim.lr", "optim.batch_size", "optim.max_epochs")}
    assert max(metric, key=lambda p: metric[p]["importance"]) == "optim.lr"
    assert sum(r["importance"] for r in metric.values()) == pytest.approx(1.0)
    assert all(r["n_runs"] == 8 for r in result.rows)


def test_importance_skips_small_or_constant_groups() -> None:
    few = [sweep_record(i, lr, 64, 10) for i, lr in enumerate([1e-4, 1e-3, 1e-2])]
    result = hyperparameter_importance(few)
    assert result.rows == [] and any("too few" in note for note in result.notes)
    constant = [sweep_record(i, 1e-3, 64, 10) for i in range(6)]
    result = hyperparameter_importance(constant)
    assert result.rows == [] and any("no training hyperparameter varies" in note for note in result.notes)


PURE = ["greenft.analysis", "greenft.analysis.records", "greenft.analysis.replay", "greenft.analysis.pareto",
        "greenft.analysis.fronts", "greenft.analysis.compute", "greenft.analysis.markdown",
        "greenft.analysis.tradeoff", "greenft.analysis.inference_tables", "greenft.analysis.inference_markdown",
        "greenft.analysis.precision_files", "greenft.analysis.training_params",
        "greenft.analysis.training_markdown", "greenft.analysis.blocks", "greenft.analysis.html_page",
        "greenft.analysis.rule_grid", "greenft.analysis.rule_grid_markdown"]  # fmt: skip
HEAVY = ["torch", "wandb", "codecarbon", "torch_geometric", "rdkit", "matplotlib", "plotly", "optuna", "pandas"]
PROBE = """
import json, sys
__import__({module!r})
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))))
"""


@pytest.mark.parametrize("module", PURE)
def test_logic_modules_import_no_io_or_plotting_stack(module: str) -> None:
    """Replay, Pareto and trade-off maths stay pure: importing them loads no W&B, plotting, Optuna or pandas."""
    code = PROBE.format(module=module, heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
