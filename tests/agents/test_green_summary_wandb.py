"""The ``green/*`` summary keys reach W&B's own offline run file, from real tiny trainer runs (the CLI).

Each expected value is computed here from the run's history rows as W&B recorded them (plain Python, not the
schema's code): the stop epoch from ``stop/decision``, kg from ``emissions/cumulative_kg`` and
``forecast/emissions_kg``, the deployed and best-val epochs by arg-max of ``val/roc_auc``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import wait_for_wandb_exit
from greenft.analysis import find_offline_runs, read_offline_run

pytestmark = pytest.mark.slow  # two real trainings, ~25 s each on a loaded 2-core machine

TINY = ["--dataset", "b3db", "--threads", "1", "--limit", "120", "--max-epochs", "3", "--layers", "2"]
TINY += ["--emb-dim", "16", "--set", "logging.system_metrics=false"]
# co2budget with a budget no epoch fits in stops at epoch 1; forecast_after=1 gives that epoch a forecast.
STOP_AT_ONCE = ["--rule", "co2budget", "--budget-kg", "1e-12", "--set", "forecast_after=1"]


def train(runs: Path, *flags: str) -> dict[str, Any]:
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DISABLE_GIT="true")
    command = [sys.executable, "-m", "greenft", "train", *TINY, *flags, "--runs-dir", str(runs)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    (file,) = find_offline_runs(runs)
    wait_for_wandb_exit(file)
    run = read_offline_run(file)
    return {"history": run.history, "summary": run.summary}


def first_best(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The row with the highest ``val/roc_auc`` (ties: the earliest)."""
    best = rows[0]
    for row in rows[1:]:
        if row["val/roc_auc"] > best["val/roc_auc"]:
            best = row
    return best


def expected(history: list[dict[str, Any]], *, shadow: bool) -> dict[str, Any]:
    rows = sorted(history, key=lambda row: row["epoch"])
    stop = next((r for r in rows if r["stop/decision"] == "stop"), rows[-1])
    deployed = first_best([r for r in rows if r["epoch"] <= stop["epoch"]])
    best = first_best(rows)
    full = rows[-1]["emissions/cumulative_kg"] if shadow else rows[-1]["forecast/emissions_kg"]
    out = {
        "green/stop_epoch": stop["epoch"],
        "green/kg_at_stop": stop["emissions/cumulative_kg"],
        "green/kg_full": full,
        "green/kg_full_source": "measured" if shadow else "forecast",
        "green/co2_saved_pct": 100.0 * (full - stop["emissions/cumulative_kg"]) / full,
        "green/quality_at_stop": deployed["test/roc_auc"],
        "green/quality_best": best["test/roc_auc"],
    }
    if shadow:
        q, ref = deployed["test/roc_auc"], best["test/roc_auc"]
        out["green/quality_change_pct"] = 100.0 * (q - ref) / abs(ref)
    return out


def check(run: dict[str, Any], *, shadow: bool) -> None:
    summary = run["summary"]
    want = expected(run["history"], shadow=shadow)
    assert {k for k in summary if k.startswith("green/")} == set(want)
    for name, value in want.items():
        assert summary[name] == (value if isinstance(value, str) else pytest.approx(value, rel=1e-9)), name


def test_shadow_run_logs_the_green_keys_to_wandb(tmp_path: Path) -> None:
    run = train(tmp_path / "runs", "--shadow", *STOP_AT_ONCE)
    assert run["summary"]["green/stop_epoch"] == 1 and len(run["history"]) == 3  # stopped, trained on
    assert run["summary"]["green/co2_saved_pct"] > 0.0
    check(run, shadow=True)


def test_live_run_logs_the_forecast_as_its_full_budget(tmp_path: Path) -> None:
    run = train(tmp_path / "runs", *STOP_AT_ONCE)
    assert len(run["history"]) == 1
    check(run, shadow=False)
