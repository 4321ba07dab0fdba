"""Replay against real trials, and the ``analyze`` / ``tune`` commands end to end on W&B offline runs.

Three small trials are run once for the module (a few seconds each): two shadow runs (seeds 0 and 1) and a
live run with seed 1 (so it trains exactly the epochs of the seed-1 shadow run until it stops). Replay must
reproduce exactly what the live rules logged: the stop epoch of every shadow rule, the live run's
``stop/decision``, and its AER/EMA numbers.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
import statistics
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from conftest import small_trial
from greenft.agents import TrialConfig, TrialResult, run_trial
from greenft.analysis.reader import read_runs
from greenft.analysis.records import RunRecord, curve_from_record
from greenft.analysis.replay import parse_rule, replay
from greenft.analysis.tuning import tune_live
from greenft.cli import app
from greenft.stopping import parse_label, rule_label

SHADOW_RULES: list[dict[str, Any]] = [
    {"rule": "anges"},
    {"rule": "patience", "patience": 5},
    {"rule": "patience", "patience": 1},
    {"rule": "anges", "alpha": 0.5, "beta": 0.5, "warmup": 4},
]
runner = CliRunner()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("e2e")
    common = {"optim": {"max_epochs": 6}, "shadow_rules": SHADOW_RULES}
    shadow = run_trial(TrialConfig.model_validate(small_trial(tmp, mode="shadow", **common)))
    other = run_trial(TrialConfig.model_validate(small_trial(tmp, seed=1, mode="shadow", **common)))
    live = run_trial(TrialConfig.model_validate(small_trial(tmp, seed=1, mode="live", **common)))
    records = {r.run_id: r for r in read_runs(tmp / "runs", cache_dir=tmp / "cache")}
    return {"dir": tmp / "runs", "tmp": tmp, "shadow": shadow, "live": live, "other": other, "records": records}


def record_of(runs: dict[str, Any], name: str) -> RunRecord:
    result: TrialResult = runs[name]
    record: RunRecord = runs["records"][result.run_id]
    return record


@pytest.mark.parametrize("name", ["shadow", "other"])
def test_replay_reproduces_every_shadow_rule(runs: dict[str, Any], name: str) -> None:
    record = record_of(runs, name)
    curve = curve_from_record(record)
    assert curve.complete and curve.n_epochs == 6
    for spec in SHADOW_RULES:
        label = rule_label(parse_rule(spec))
        result = replay(curve, parse_rule(label))
        logged = record.summary[f"shadow/{label}/stop_epoch"]
        assert (result.stop_epoch if result.triggered else None) == logged, label
        assert result.emissions_kg == record.summary[f"shadow/{label}/emissions_kg"]
        assert result.test_metric == record.summary[f"shadow/{label}/test_roc_auc"]


def test_replay_reproduces_the_live_run_decision_by_decision(runs: dict[str, Any]) -> None:
    live = record_of(runs, "live")
    curve = curve_from_record(live)
    result = replay(curve, parse_label(live.summary["stop/rule"]))  # the live rule (the default, anges-pp)
    logged_stop = [row["epoch"] for row in live.history if row.get("stop/decision") == "stop"]
    assert (result.stop_epoch if result.triggered else None) == (logged_stop[0] if logged_stop else None)
    assert result.stop_epoch == live.summary["stop/epoch"]
    for row, decision in zip(live.history, result.decisions, strict=True):
        for key, value in (("stop/aer", decision.aer), ("stop/ema", decision.ema)):
            logged = row[key]
            assert (value is None and math.isnan(logged)) or value == logged, (row["epoch"], key)


def test_replay_on_the_shadow_curve_matches_the_live_run_with_the_same_seed(runs: dict[str, Any]) -> None:
    """Same seed: the live run trains the same epochs as the shadow run, so replay predicts its stop."""
    shadow, live = record_of(runs, "other"), record_of(runs, "live")
    live_curve, shadow_curve = curve_from_record(live), curve_from_record(shadow)
    assert shadow_curve.val[: live_curve.n_epochs] == live_curve.val  # deterministic training (threads 1)
    predicted = replay(shadow_curve, parse_label(live.summary["stop/rule"]))
    assert predicted.stop_epoch == live.summary["stop/epoch"]
    assert predicted.test_metric == live.summary["stop/test_roc_auc"]


def test_analyze_command_writes_the_report(runs: dict[str, Any]) -> None:
    out = runs["tmp"] / "report"
    args = ["analyze", "--source", str(runs["dir"]), "--out", str(out), "--cache-dir", str(runs["tmp"] / "cache")]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    # A live run that stopped before its budget has no full curve: it is skipped (but its stop is replay-checked).
    live_truncated = not curve_from_record(record_of(runs, "live")).complete
    assert f"{3 - live_truncated} complete curves analysed, {int(live_truncated)} skipped" in result.output
    matched = re.search(r"replay reproduced (\d+)/(\d+) logged stops", result.output)
    assert matched is not None and matched[1] == matched[2] and int(matched[1]) >= 9  # 4 + 4 shadow, 1 live
    for name in ("report.md", "report.html", "runs.csv", "epochs.csv", "tradeoff_runs.csv", "tradeoff_summary.csv"):
        assert (out / name).stat().st_size > 0, name
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["aer_ema_gin_b3db.png", "curves_gin_b3db.png", "pareto_absolute_gin_b3db.png",
                    "pareto_relative_gin_b3db.png"]  # fmt: skip
    report = (out / "report.md").read_text()
    for heading in ("Trade-off per model and dataset", "Replay reproduces", "k = beta(1-alpha)/(1-alpha*beta)",
                    "Pareto fronts", "best-test (limit)", "best-val (hindsight)", "hindsight-1%",
                    "at first non-improving epoch"):  # fmt: skip
        assert heading in report, heading
    assert ("a live run that stopped" in report) == live_truncated
    assert "<script" in (out / "report.html").read_text()[:5_000_000]


def test_analyze_with_a_precision_table_adds_the_life_cycle_tables(runs: dict[str, Any]) -> None:
    """The per-phase, break-even and precision tables on real shadow runs, in report.md, the CSVs and the summary."""
    out, fixture = runs["tmp"] / "report_precision", Path(__file__).parents[1] / "fixtures" / "precision_table.json"
    args = ["analyze", "--source", str(runs["dir"]), "--out", str(out), "--cache-dir", str(runs["tmp"] / "cache")]
    args += ["--no-png", "--no-html", "--no-grid", "--precision-table", str(fixture)]
    result = runner.invoke(app, args, env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "per phase   gin / b3db" in result.output and "break-even  gin / b3db" in result.output
    assert "precision   gin / b3db / cpu dynamic-int8: roc_auc 0.8756 (-0.50 % vs float32)" in result.output
    report = (out / "report.md").read_text()
    for heading in ("## Emissions per phase", "## Break-even", "## Precision trade-off"):
        assert heading in report, heading
    (phases,) = list(csv.DictReader((out / "phase_summary.csv").open()))
    assert (phases["n_runs"], phases["n_full"]) == ("3", "2")  # two shadow runs have a full budget
    shadows = [record_of(runs, name).summary for name in ("shadow", "other")]
    assert float(phases["train_kg_full_mean"]) == pytest.approx(sum(s["full/emissions_kg"] for s in shadows) / 2)
    # The inference estimate of one run, recomputed from its history: median test-pass increment per 1,000 molecules
    record = record_of(runs, "shadow")
    cumulative = [0.0] + [row["emissions/test_eval_cumulative_kg"] for row in record.history]
    molecules = record.config["derived"]["dataset"]["split_sizes"]["test"]
    expected = statistics.median((b - a) / molecules * 1000 for a, b in itertools.pairwise(cumulative))
    by_run = {row["run_id"]: row for row in csv.DictReader((out / "phase_runs.csv").open())}
    assert float(by_run[record.run_id]["inference_kg_per_1000"]) == pytest.approx(expected)
    precision = list(csv.DictReader((out / "precision_table.csv").open()))
    assert len(precision) == 9 and {r["family"] for r in precision} == {"gin", "smiles-transformer"}


def test_analyze_errors_exit_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["analyze", "--source", str(tmp_path / "empty"), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "no runs under" in result.output
    result = runner.invoke(app, ["analyze", "--source", str(tmp_path), "--rule", "anges:alpha=7"])
    assert result.exit_code == 2 and "alpha" in result.output


def test_tune_command_by_replay(runs: dict[str, Any]) -> None:
    out = runs["tmp"] / "tune"
    args = ["tune", "--source", str(runs["dir"]), "--out", str(out), "--trials", "30", "--cache-dir"]
    result = runner.invoke(app, [*args, str(runs["tmp"] / "cache")], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "defaults" in result.output and "30 trials" in result.output
    configs = yaml.safe_load((out / "best_configs.yaml").read_text())
    assert configs["defaults"]["label"] == "anges_a0.9_b0.2_w3" and configs["pareto"]
    assert (out / "optuna_journal.log").exists()
    command = f"optuna-dashboard {(out / 'optuna_journal.log').resolve()}"  # one command, on screen and in the report
    assert f"browse the study: {command}" in result.output.replace("\n", "")
    assert f"`{command}`" in (out / "tune_report.md").read_text()
    sweep = yaml.safe_load((out / "sweep_anges_pareto.yaml").read_text())
    assert {"rule": "anges", "alpha": 0.9, "beta": 0.2, "warmup": 3} in sweep["parameters"]["stopping"]["values"]
    trial = yaml.safe_load((out / "recommended_trial.yaml").read_text())
    TrialConfig.model_validate(trial)  # a valid trial config for `greenft train --config`
    # A second call with the same storage adds to the same study (many workers share one study).
    again = runner.invoke(app, [*args, str(runs["tmp"] / "cache"), "--trials", "5"], env={"COLUMNS": "200"})
    assert again.exit_code == 0, again.output
    assert "35 in the study" in (out / "tune_report.md").read_text()
    memory = [*args[:4], str(runs["tmp"] / "tune-memory"), "--trials", "2", "--storage", "memory", "--cache-dir"]
    in_memory = runner.invoke(app, [*memory, str(runs["tmp"] / "cache")], env={"COLUMNS": "200"})
    assert in_memory.exit_code == 0, in_memory.output
    assert "optuna-dashboard" not in in_memory.output  # nothing persisted, nothing to browse


def test_tune_live_with_one_real_trial(tmp_path: Path) -> None:
    base = TrialConfig.model_validate(
        small_trial(tmp_path, optim={"max_epochs": 3}, logging={"wandb_mode": "disabled", "runs_dir": str(tmp_path)})
    )
    result = tune_live(base, tmp_path / "tune", seeds=[0], n_trials=1)
    assert result.n_trials_total == 1 and result.pareto
    row = result.pareto[0]
    assert row["label"] == "anges_a0.9_b0.2_w3"  # the enqueued defaults come first
    assert row["emissions_kg"] > 0 and 0.0 <= row["val_metric_oriented"] <= 1.0


def test_analyze_with_baseline_reports_puts_the_cheap_baselines_beside_the_runs(runs: dict[str, Any]) -> None:
    """Real ``greenft baseline`` reports (same dataset, sample and split as the shadow runs, seeds 0 and 1) beside
    the runs: the table's means are recomputed here from the report files and from tradeoff_runs.csv."""
    import json

    tmp = runs["tmp"]
    files = []
    for seed in (0, 1):
        path = tmp / f"baseline_{seed}.json"
        args = ["baseline", "--dataset", "b3db", "--limit", "300", "--seed", str(seed), "--threads", "1"]
        result = runner.invoke(app, [*args, "--out", str(path)], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        files.append(path)
    out = tmp / "report_baselines"
    args = ["analyze", "--source", str(runs["dir"]), "--out", str(out), "--cache-dir", str(tmp / "cache")]
    args += ["--no-png", "--no-html", "--no-grid", "--baseline", str(files[0]), "--baseline", str(files[1])]
    result = runner.invoke(app, args, env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "## Is fine-tuning worth its CO2? Cheap baselines beside the runs" in (out / "report.md").read_text()
    table = list(csv.DictReader((out / "baselines.csv").open()))
    reports = [json.loads(p.read_text()) for p in files]
    for name in {row["baseline"] for row in reports[0]["rows"]}:
        (row,) = [r for r in table if r["kind"] == "baseline" and r["name"] == name]
        values = [next(b["test_metric"] for b in rep["rows"] if b["baseline"] == name) for rep in reports]
        assert float(row["test_mean"]) == pytest.approx(statistics.fmean(values))
        assert row["n"] == "2" and row["split"] == "scaffold" and row["dataset"] == "b3db"
    tradeoff = list(csv.DictReader((out / "tradeoff_runs.csv").open()))
    full = [float(r["deployed_test_metric"]) for r in tradeoff if r["strategy"] == "full_budget"]
    (row,) = [r for r in table if r["name"] == "gin / full_budget"]
    assert row["n"] == str(len(full)) and len(full) >= 2  # every complete curve (the live one if it never stopped)
    assert float(row["test_mean"]) == pytest.approx(statistics.fmean(full))
    best = max(float(r["test_mean"]) for r in table if r["kind"] == "baseline")  # roc_auc: larger is better
    assert row["beats_best_baseline"] == str(float(row["test_mean"]) > best)


def test_a_baseline_report_of_another_split_is_not_compared_and_a_bad_one_is_one_line(runs: dict[str, Any]) -> None:
    import json

    tmp = runs["tmp"]
    path = tmp / "baseline_random.json"
    args = ["baseline", "--dataset", "b3db", "--limit", "300", "--split", "random", "--threads", "1"]
    assert runner.invoke(app, [*args, "--out", str(path)]).exit_code == 0
    out = tmp / "report_random_baseline"
    args = ["analyze", "--source", str(runs["dir"]), "--out", str(out), "--cache-dir", str(tmp / "cache")]
    args += ["--no-png", "--no-html", "--no-grid"]
    assert runner.invoke(app, [*args, "--baseline", str(path)]).exit_code == 0
    assert not (out / "baselines.csv").exists()  # a random-split baseline says nothing about scaffold-split runs
    bad = tmp / "bad_baseline.json"
    bad.write_text(json.dumps({**json.loads(path.read_text()), "rows": "none"}))
    result = runner.invoke(app, [*args, "--baseline", str(bad)])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "baseline report" in line and str(bad.name) in line and "rows" in line
