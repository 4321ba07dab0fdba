"""End-to-end trials on a small B3DB sample: logging schema, monotone emissions, reproducibility, modes."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest

from conftest import small_trial, wait_for_wandb_exit
from greenft.agents import TrialConfig, run_trial
from greenft.agents.trial import DatasetSplitError
from greenft.analysis import read_offline_run
from greenft.stopping import AnGes, EpochObservation, MetricDirection

EPOCH_KEYS = {
    "epoch",
    "train/loss",
    "val/roc_auc",
    "test/roc_auc",
    "emissions/cumulative_kg",
    "energy/cumulative_kwh",
    "time/cumulative_s",
    "stop/delta_perf_pct",
    "stop/delta_emis_pct",
    "stop/aer",
    "stop/ema",
    "stop/decision",
}


@pytest.fixture(scope="module")
def shadow_run(tmp_path_factory: pytest.TempPathFactory) -> object:
    tmp = tmp_path_factory.mktemp("shadow")
    config = TrialConfig.model_validate(small_trial(tmp, mode="shadow", optim={"max_epochs": 6}))
    result = run_trial(config)
    wait_for_wandb_exit(result.run_path)  # these tests inspect W&B's own file, which its service closes later
    return result


def test_offline_wandb_history_has_every_key_and_monotone_emissions(shadow_run: object) -> None:
    result = shadow_run
    run = read_offline_run(result.run_path)  # type: ignore[attr-defined]
    assert run.exit_code == 0
    assert len(run.history) == 6
    for row in run.history:
        assert set(row) >= EPOCH_KEYS, EPOCH_KEYS - set(row)
    assert [row["epoch"] for row in run.history] == [1, 2, 3, 4, 5, 6]
    for key in ("emissions/cumulative_kg", "energy/cumulative_kwh", "time/cumulative_s"):
        values = [row[key] for row in run.history]
        assert all(b > a for a, b in itertools.pairwise(values)), (key, values)
    assert math.isnan(run.history[0]["stop/aer"])  # epoch 1 has no AER
    assert all(math.isfinite(row["stop/aer"]) for row in run.history[1:3])
    assert run.history[0]["stop/decision"] == "continue"


def test_summary_holds_stop_best_oracle_totals_and_full_budget(shadow_run: object) -> None:
    s = shadow_run.summary  # type: ignore[attr-defined]
    for key in ("stop/epoch", "best/epoch", "oracle/epoch", "full/epoch", "total/emissions_kg", "total/energy_kwh"):
        assert key in s, key
    assert s["full/epoch"] == 6 and s["total/epochs"] == 6 and s["status"] == "finished"
    assert s["total/test_eval_emissions_kg"] > 0
    assert s["stop/emissions_kg"] <= s["full/emissions_kg"]
    run = read_offline_run(shadow_run.run_path)  # type: ignore[attr-defined]
    assert run.summary["full/emissions_kg"] == pytest.approx(s["full/emissions_kg"])
    assert run.config["derived"]["dataset"]["licence"] == "CC0-1.0"
    assert run.config["derived"]["model"]["init"] == "random"
    assert run.config["derived"]["meter"]["meter"] == "codecarbon-offline"


def test_rule_sees_training_emissions_only_and_replay_matches_the_live_decisions(shadow_run: object) -> None:
    """Feeding the logged curve to a fresh rule reproduces every logged decision: the rule saw exactly the
    logged ``emissions/cumulative_kg`` (test evaluation excluded) and the validation metric."""
    result = shadow_run
    run = read_offline_run(result.run_path)  # type: ignore[attr-defined]
    rule = AnGes(MetricDirection.MAXIMIZE)  # the exact rule, recorded beside the live default in shadow mode
    label = "anges_a0.9_b0.2_w3"
    for row in run.history:
        decision = rule.update(EpochObservation(row["epoch"], row["val/roc_auc"], row["emissions/cumulative_kg"]))
        if not math.isnan(row[f"shadow/{label}/aer"]):
            assert decision.aer == pytest.approx(row[f"shadow/{label}/aer"])
        assert ("stop" if decision.should_stop else "continue") == row[f"shadow/{label}/decision"]
        if decision.should_stop:
            break
    expected_stop = rule.stopped_epoch
    assert result.summary[f"shadow/{label}/stop_epoch"] == expected_stop  # type: ignore[attr-defined]
    for record in result.epochs:  # type: ignore[attr-defined]
        # the test split's cost is real but kept apart from what the rule sees
        assert record.test_eval.emissions_kg > 0


def test_local_epoch_log_mirrors_wandb(shadow_run: object) -> None:
    lines = (shadow_run.files_dir / "greenft_epochs.jsonl").read_text().splitlines()  # type: ignore[attr-defined]
    rows = [json.loads(line) for line in lines]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0]["stop/aer"] is None  # NaN is written as JSON null
    split = json.loads((shadow_run.files_dir / "greenft_split.json").read_text())  # type: ignore[attr-defined]
    assert len(split["train"]) + len(split["val"]) + len(split["test"]) == 300


def test_same_seed_same_curve_and_live_mode_stops_at_the_rule(tmp_path: Path) -> None:
    a = run_trial(TrialConfig.model_validate(small_trial(tmp_path / "a", optim={"max_epochs": 8})))
    b = run_trial(TrialConfig.model_validate(small_trial(tmp_path / "b", optim={"max_epochs": 8})))
    assert [e.train_loss for e in a.epochs] == [e.train_loss for e in b.epochs]
    assert [e.val_metric for e in a.epochs] == [e.val_metric for e in b.epochs]
    assert a.stop_epoch == len(a.epochs)
    if a.summary["stop/triggered"]:
        assert len(a.epochs) < 8 and a.epochs[-1].decisions[a.live_rule].should_stop
    c = run_trial(TrialConfig.model_validate(small_trial(tmp_path / "c", seed=1, optim={"max_epochs": 2})))
    assert [e.train_loss for e in c.epochs] != [e.train_loss for e in a.epochs[:2]]


def test_full_budget_rule_and_regression_dataset(tmp_path: Path) -> None:
    config = small_trial(
        tmp_path,
        data={"dataset": "freesolv", "limit": 200},
        stopping={"rule": "none"},
        optim={"max_epochs": 3},
        logging={"runs_dir": str(tmp_path / "runs"), "wandb_mode": "disabled", "system_metrics": False},
    )
    result = run_trial(TrialConfig.model_validate(config))
    assert len(result.epochs) == 3 and result.summary["stop/reason"] == "epoch budget reached"
    assert result.metric.value == "rmse" and all(e.val_metric > 0 for e in result.epochs)
    assert (result.files_dir / "greenft_summary.json").is_file()


def test_one_class_validation_split_is_a_clear_error(tmp_path: Path) -> None:
    csv = tmp_path / "one_class_val.csv"
    # deterministic scaffold split of 20: the 16 benzenes (both labels) fill train, the 2 cyclohexanes (label 1)
    # go to val, the 2 acyclic molecules to test
    benzenes = [f"c1ccccc1{'C' * i},{i % 2}" for i in range(1, 17)]
    rows = ["smiles,y", *benzenes, "C1CCCCC1C,1", "C1CCCCC1CC,1", "CCO,1", "CCN,0"]
    csv.write_text("\n".join(rows) + "\n")
    config = small_trial(tmp_path, data={"file": str(csv), "smiles_column": "smiles", "target_columns": ["y"]})
    with pytest.raises(DatasetSplitError, match="one class only"):
        run_trial(TrialConfig.model_validate(config))
