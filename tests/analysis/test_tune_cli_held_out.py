"""``greenft tune --runs DIR --leave-datasets-out --max-loss 1`` on real tiny shadow runs of two datasets: the
held-out table is printed and written (held_out.json / held_out.md / tune_report.md), and the picks are in
best_configs.yaml ready to paste into a trial config."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from conftest import small_trial
from greenft.agents import TrialConfig, run_trial
from greenft.cli.app import app

runner = CliRunner()
TINY = {"model": {"num_layers": 2, "emb_dim": 16, "dropout": 0.0}, "optim": {"max_epochs": 4}}


pytestmark = pytest.mark.slow  # three real shadow runs; the folds themselves: tests/analysis/test_held_out.py


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("tune_held_out")
    for dataset, seed in (("b3db", 0), ("b3db", 1), ("freesolv", 0)):
        config = small_trial(tmp, mode="shadow", seed=seed, data={"dataset": dataset, "limit": 120}, **TINY)
        run_trial(TrialConfig.model_validate(config))
    return {"dir": tmp / "runs", "tmp": tmp}


def test_leave_datasets_out_from_the_command_line(runs: dict[str, Any]) -> None:
    out = runs["tmp"] / "tune"
    args = ["tune", "--runs", str(runs["dir"]), "--out", str(out), "--trials", "8", "--leave-datasets-out"]
    args += ["--max-loss", "1", "--seed", "3", "--cache-dir", str(runs["tmp"] / "cache")]
    result = runner.invoke(app, args, env={"COLUMNS": "240"})
    assert result.exit_code == 0, result.output
    assert "Held-out datasets" in result.output and "pooled" in result.output
    held = json.loads((out / "held_out.json").read_text())
    assert [f["held_out"] for f in held["folds"]] == ["b3db", "freesolv"]
    assert [f["tuned_on"] for f in held["folds"]] == [["freesolv"], ["b3db"]]
    assert [f["runs"] for f in held["folds"]] == [2, 1] and held["pooled"]["runs"] == 3
    for fold in held["folds"]:
        TrialConfig.model_validate({"stopping": fold["pick"]["config"]})  # a pasteable stopping section
        assert isinstance(fold["fallback"], bool) and "/" in fold["within_1pct"]
    report = (out / "tune_report.md").read_text()
    assert "## Held-out datasets (leave-datasets-out)" in report and "## Picks" in report
    md = (out / "held_out.md").read_text()
    assert "\n| b3db | freesolv | " in md and "\n| freesolv | b3db | " in md and "\n| **pooled** | 2 folds |" in md
    configs = yaml.safe_load((out / "best_configs.yaml").read_text())
    TrialConfig.model_validate({"stopping": configs["recommended"]["stopping"]})
    constrained = configs["constrained"]
    assert "stopping" in constrained or constrained["none_qualifies"].startswith("no Pareto config")
    if "stopping" in constrained:
        TrialConfig.model_validate({"stopping": constrained["stopping"]})
    else:
        assert "constrained pick: none" in result.output


def test_user_errors_are_one_line(runs: dict[str, Any]) -> None:
    one = runs["tmp"] / "one"
    one.mkdir(exist_ok=True)
    config = small_trial(one, mode="shadow", data={"dataset": "b3db", "limit": 120}, **TINY)
    run_trial(TrialConfig.model_validate(config))
    base = ["tune", "--out", str(runs["tmp"] / "t2"), "--trials", "2", "--cache-dir", str(runs["tmp"] / "c2")]
    result = runner.invoke(app, [*base, "--runs", str(one / "runs"), "--leave-datasets-out"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --leave-datasets-out: curves of 1 dataset(s) (b3db); expected at least 2 (each dataset is scored "
        "by a config tuned on the others)"
    ]
    result = runner.invoke(app, [*base, "--runs", str(runs["dir"]), "--rules", "anges,bogus"])
    assert result.exit_code == 2 and "--rules 'anges,bogus'" in result.output and len(result.output.splitlines()) == 1
