"""The analysis reads greenft's own files first, so a run is complete for it the moment the trial returns,
whatever state W&B's ``.wandb`` file is in; that file is still parsed for runs greenft did not write.

One small shadow trial (W&B offline) is run for the module; the other cases are copies of its run directory.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import small_trial, wait_for_wandb_exit
from greenft.agents import TrialConfig, TrialResult, run_trial
from greenft.analysis import find_offline_runs, read_offline_run
from greenft.analysis.reader import read_runs
from greenft.analysis.records import RunRecord, curve_from_record
from greenft.schema import RUN_FILES


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrialResult, RunRecord]:
    tmp = tmp_path_factory.mktemp("files_first")
    config = small_trial(tmp, mode="shadow", optim={"max_epochs": 3})
    result = run_trial(TrialConfig.model_validate(config))
    (record,) = read_runs(tmp / "runs", cache_dir=tmp / "cache")  # at once: no waiting for W&B
    return result, record


def same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN (W&B keeps NaN; greenft's files write null and the reader restores NaN)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def assert_same_values(got: dict[str, Any], expected: dict[str, Any]) -> None:
    assert set(got) == set(expected), set(got) ^ set(expected)
    for k, v in expected.items():
        assert same(got[k], v), (k, got[k], v)


def copy_run(result: TrialResult, root: Path) -> Path:
    """The trial's W&B run directory copied under ``root/wandb``; returns the copy."""
    target = root / "wandb" / result.run_path.name
    shutil.copytree(result.run_path, target)
    return target


def test_a_run_is_complete_for_the_analysis_right_after_the_trial(trial: Any) -> None:
    result, record = trial
    assert (record.run_id, record.source, record.state) == (result.run_id, "offline", "finished")
    assert record.location.endswith(f"run-{result.run_id}.wandb")
    assert [row["epoch"] for row in record.history] == [1, 2, 3]
    assert_same_values(record.summary, result.summary)
    assert math.isnan(record.history[0]["stop/aer"])  # as W&B holds it, not greenft's JSON null
    assert record.config["derived"]["meter"]["meter"] == "codecarbon-offline"  # the config is the full one
    assert curve_from_record(record).complete


def test_the_record_does_not_depend_on_wandbs_file(trial: Any, tmp_path: Path) -> None:
    """W&B's service may not have written anything yet: the record is the same."""
    result, record = trial
    copy = copy_run(result, tmp_path)
    (run_file,) = find_offline_runs(copy)
    run_file.write_bytes(run_file.read_bytes()[:7])  # the datastore header only
    (again,) = read_runs(tmp_path, cache_dir=tmp_path / "cache")
    assert again.to_dict() == {**record.to_dict(), "location": str(run_file.resolve())}


def test_greenfts_files_hold_what_wandbs_file_holds(trial: Any) -> None:
    result, record = trial
    wait_for_wandb_exit(result.run_path)
    wandb_run = read_offline_run(result.run_path)
    assert len(wandb_run.history) == len(record.history)
    for ours, theirs in zip(record.history, wandb_run.history, strict=True):
        assert_same_values(ours, {k: v for k, v in theirs.items() if not k.startswith("_")})
    assert_same_values(record.summary, {k: wandb_run.summary[k] for k in record.summary})
    assert record.config == wandb_run.config


def test_runs_greenft_did_not_write_are_parsed_from_wandbs_file(trial: Any, tmp_path: Path) -> None:
    result, record = trial
    wait_for_wandb_exit(result.run_path)
    copy = copy_run(result, tmp_path)
    for name in RUN_FILES:
        (copy / "files" / name).unlink(missing_ok=True)
    (foreign,) = read_runs(tmp_path, cache_dir=tmp_path / "cache")
    assert (foreign.run_id, foreign.source, foreign.state) == (result.run_id, "offline", "finished")
    assert all("_step" in row for row in foreign.history)  # W&B's rows: parsed from the .wandb file
    assert [row["epoch"] for row in foreign.history] == [1, 2, 3]
    assert foreign.summary["total/emissions_kg"] == record.summary["total/emissions_kg"]
