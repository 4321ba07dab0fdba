"""``greenft analyze --wandb``: the analysis logged to W&B in a run of its own, read back from W&B's offline file.

The real CLI on runs on disk (greenft's own files: fast; real tiny offline trainer runs: slow), WANDB_MODE offline;
the analysis run's ``run-<id>.wandb`` is read back with :mod:`greenft.analysis.wandb_files` and compared with the
report folder the same command wrote: the Table's rows with ``tradeoff_summary.csv``, the artifact's manifest with
the folder's files, the chart's points with ``pareto_relative.csv``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import wait_for_wandb_exit
from greenft.analysis import find_offline_runs, read_offline_run
from greenft.analysis.reader import parse_source
from greenft.analysis.wandb_export import write_back, write_back_values
from greenft.analysis.wandb_files import OfflineRun
from greenft.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _artifact_staging_in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """W&B copies an artifact's files to a staging folder before upload: here, not in the user's home."""
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))


VAL = [2.0, 1.5, 1.2, 1.1, 1.15, 1.3]  # RMSE, best at epoch 4
TEST = [2.1, 1.6, 1.3, 1.2, 1.1, 1.4]


def write_local_run(folder: Path, seed: int) -> None:
    """A finished shadow run as greenft writes it with W&B disabled (its own JSON files), 6 epochs of RMSE."""
    folder.mkdir(parents=True)
    config = {"seed": seed, "mode": "shadow", "data": {"dataset": "freesolv"}, "model": {"name": "gin"}}
    config["optim"] = {"max_epochs": len(VAL)}
    (folder / "greenft_config.json").write_text(json.dumps(config))
    rows = [
        {"epoch": i + 1, "val/rmse": v + 0.01 * seed, "test/rmse": t, "emissions/cumulative_kg": 1e-6 * (i + 1)}
        for i, (v, t) in enumerate(zip(VAL, TEST, strict=True))
    ]
    (folder / "greenft_epochs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = {"status": "finished", "mode": "shadow", "metric": "rmse", "stop/rule": "none"}
    (folder / "greenft_summary.json").write_text(json.dumps(summary))


@pytest.fixture
def local_runs(tmp_path: Path) -> Path:
    for seed in (0, 1):
        write_local_run(tmp_path / "runs" / f"greenft-run-{seed}", seed)
    return tmp_path / "runs"


def analyze(source: Path, out: Path, *flags: str, env: dict[str, str] | None = None) -> str:
    args = ["analyze", "--source", str(source), "--out", str(out), "--cache-dir", str(out.parent / "cache")]
    result = runner.invoke(
        app, [*args, "--no-png", "--no-html", "--no-grid", *flags], env={"COLUMNS": "300", **(env or {})}
    )
    assert result.exit_code == 0, result.output
    return result.output


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def table_rows(run: OfflineRun, key: str) -> pd.DataFrame:
    """A Table the run logged, from its media file under the run's ``files/`` (named in the history row)."""
    (row,) = [r for r in run.history if f"{key}.path" in r]
    path = row[f"{key}.path"]
    assert path in run.files  # W&B was told to upload it: `wandb sync` carries the Table
    data = json.loads((run.path.parent / "files" / path).read_text())
    return pd.DataFrame(data["data"], columns=data["columns"])


def check_analysis_run(out: Path, runs: Path) -> OfflineRun:
    """Everything the analysis run must carry, against the report folder the same command wrote."""
    (file,) = find_offline_runs(out / "wandb")
    wait_for_wandb_exit(file)
    run = read_offline_run(file)
    assert run.job_type == "analysis" and run.exit_code == 0
    assert run.config["source"] == str(runs) and run.config["out"] == str(out.resolve())

    table = table_rows(run, "analysis/tradeoff_summary")
    csv = pd.read_csv(out / "tradeoff_summary.csv")
    assert list(table.columns) == list(csv.columns) and len(table) == len(csv) > 0
    for got, want in zip(table.itertuples(index=False), csv.itertuples(index=False), strict=True):
        assert all(same(g, w) for g, w in zip(got, want, strict=True)), (got, want)

    chart = run.charts["analysis/pareto"]
    settings = chart["panel_config"]
    assert settings["panelDefId"] == "wandb/scatter/v0"
    assert settings["fieldSettings"] == {"x": "emissions_saved_pct", "y": "test_vs_best_val_pct"}
    points = table_rows(run, "analysis/pareto_table")
    pareto = pd.read_csv(out / "pareto_relative.csv")
    assert list(points["strategy"]) == list(pareto["strategy"])
    assert all(same(a, b) for a, b in zip(points["emissions_saved_pct"], pareto["emissions_saved_pct"], strict=True))
    assert all(f"{s} (" in label for s, label in zip(points["strategy"], points["label"], strict=True))

    (artifact,) = [a for a in run.artifacts if a.type == "report"]
    assert artifact.name == f"greenft-report-{out.name}"
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and "wandb" not in p.parts)
    assert sorted(artifact.files) == on_disk and "tradeoff_summary.csv" in on_disk and "report.md" in on_disk
    assert run.summary["analysis/curves"] == len(pd.read_csv(out / "runs.csv"))
    return run


def test_local_source_logs_an_offline_analysis_run(local_runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    output = analyze(local_runs, out, "--wandb")
    run = check_analysis_run(out, local_runs)
    assert run.summary["analysis/curves"] == 2 and run.project == "greenft"
    assert f"wandb sync {out / 'wandb'}" in output  # printed: how to upload it later
    overall = pd.read_csv(out / "tradeoff_overall.csv")
    full = overall[overall["strategy"] == "full_budget"].iloc[0]
    assert run.summary["analysis/rmse/full_budget/emissions_saved_pct"] == full["emissions_saved_pct_mean"] == 0.0


def test_local_source_logs_nothing_by_default_nor_when_wandb_is_disabled(local_runs: Path, tmp_path: Path) -> None:
    analyze(local_runs, tmp_path / "plain")
    assert (tmp_path / "plain" / "tradeoff_summary.csv").exists() and not (tmp_path / "plain" / "wandb").exists()
    output = analyze(local_runs, tmp_path / "off", "--wandb", env={"WANDB_MODE": "disabled"})
    assert "WANDB_MODE=disabled" in output and not (tmp_path / "off" / "wandb").exists()


def test_write_back_values_are_the_rule_rows_of_tradeoff_runs(local_runs: Path, tmp_path: Path) -> None:
    """What goes back to each source run's W&B summary (the server call itself is unverified: no server here)."""
    from greenft.analysis.reader import read_runs
    from greenft.analysis.report import analyze as run_analysis

    analysis = run_analysis(read_runs(local_runs, cache_dir=tmp_path / "cache"), None, grid=[], source="x")
    values = write_back_values(analysis.comparisons)
    rules = [c for c in analysis.comparisons if c.kind == "rule"]
    assert set(values) == {"greenft-run-0", "greenft-run-1"} and rules
    for c in rules:
        assert values[c.run_id][f"analysis/{c.strategy}/stop_epoch"] == c.stop_epoch
        assert values[c.run_id][f"analysis/{c.strategy}/emissions_saved_pct"] == c.emissions_saved_pct
    assert write_back(parse_source(local_runs), values) == 0  # a local source has no server runs to update


TINY = ["--dataset", "b3db", "--threads", "1", "--limit", "120", "--max-epochs", "3", "--layers", "2"]
TINY += ["--emb-dim", "16", "--set", "logging.system_metrics=false", "--shadow"]


@pytest.mark.slow
def test_real_offline_runs_and_the_real_cli(tmp_path: Path) -> None:
    """Two real tiny shadow trainings and ``greenft analyze --wandb`` as subprocesses, as a user runs them."""
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DISABLE_GIT="true")
    env["WANDB_DATA_DIR"] = str(tmp_path / "wandb-data")
    runs = tmp_path / "runs"
    # seed 1's live rule stops at epoch 1 (a CO2 budget no epoch fits in): its green/* keys are not all zero
    for seed, rule in (("0", []), ("1", ["--rule", "co2budget", "--budget-kg", "1e-12"])):
        command = [sys.executable, "-m", "greenft", "train", *TINY, *rule, "--seed", seed, "--runs-dir", str(runs)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    out = tmp_path / "report"
    command = [sys.executable, "-m", "greenft", "analyze", "--source", str(runs), "--out", str(out), "--no-png"]
    done = subprocess.run(
        [*command, "--wandb", "--cache-dir", str(tmp_path / "cache")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    run = check_analysis_run(out, runs)
    assert run.summary["analysis/curves"] == 2
    # Each run's green/* summary keys are the analysis' numbers for its live rule (replayed on its curve).
    logged = pd.read_csv(out / "runs.csv").set_index("run_id")
    rows = pd.read_csv(out / "tradeoff_runs.csv")
    for run_id, summary in logged.iterrows():
        (row,) = rows[(rows["run_id"] == run_id) & (rows["strategy"] == summary["summary.stop/rule"])].itertuples()
        assert summary["summary.green/stop_epoch"] == row.stop_epoch
        assert summary["summary.green/co2_saved_pct"] == pytest.approx(row.emissions_saved_pct, rel=1e-9)
        assert summary["summary.green/quality_change_pct"] == pytest.approx(row.test_vs_best_val_pct, rel=1e-9)
    assert logged["summary.green/co2_saved_pct"].max() > 0.0
    assert "report.html" in next(a for a in run.artifacts if a.type == "report").files


def test_the_analysis_run_goes_to_the_source_project_in_the_mode_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from greenft.analysis.wandb_export import export_target

    online = parse_source("wandb:team/proj/sweep1")
    monkeypatch.delenv("WANDB_MODE")
    target = export_target(online, ["other"], tmp_path)
    assert target is not None and (target.entity, target.project, target.mode) == ("team", "proj", "online")
    local = export_target(parse_source(tmp_path), ["p1", "p1", None], tmp_path)
    assert local is not None and (local.entity, local.project, local.mode) == (None, "p1", "offline")
    mixed = export_target(parse_source(tmp_path), ["p1", "p2"], tmp_path)
    assert mixed is not None and mixed.project == "greenft"
    monkeypatch.setenv("WANDB_MODE", "offline")
    target = export_target(online, [], tmp_path)
    assert target is not None and target.mode == "offline"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert export_target(online, [], tmp_path) is None


class ServerStandIn:
    """Stands in for the W&B server behind ``wandb.Api`` (none can run here): it keeps what each run was sent."""

    def __init__(self) -> None:
        self.sent: dict[str, dict[str, Any]] = {}

    def run(self, path: str) -> Any:
        sent = self.sent.setdefault(path, {})

        class Summary:
            def update(self, values: dict[str, Any]) -> None:
                sent.update(values)

        class Run:
            summary = Summary()

        return Run()


def test_write_back_addresses_each_source_run_by_its_path() -> None:
    values = {"abc": {"analysis/anges_a0.9_b0.2_w3/stop_epoch": 4}, "def": {"analysis/x/stop_epoch": 2}}
    server = ServerStandIn()
    assert write_back(parse_source("wandb:team/proj/sweep1"), values, api=server) == 2
    assert server.sent == {"team/proj/abc": values["abc"], "team/proj/def": values["def"]}


def test_the_wandb_report_draws_the_green_summary_keys() -> None:
    """Built with the installed wandb-workspaces (saving it needs a server: unverified)."""
    wr = pytest.importorskip("wandb_workspaces.reports.v2")
    from greenft.analysis.wandb_report import build_report

    report = build_report("team", "proj", "wandb:team/proj", "https://wandb.ai/team/proj/runs/abc")
    assert isinstance(report, wr.Report) and (report.entity, report.project) == ("team", "proj")
    (grid,) = [b for b in report.blocks if isinstance(b, wr.PanelGrid)]
    assert [(r.entity, r.project) for r in grid.runsets] == [("team", "proj")]
    parallel, scatter = grid.panels
    axes = [c.metric for c in parallel.columns]
    assert axes[-3:] == [
        wr.SummaryMetric(k) for k in ("green/stop_epoch", "green/co2_saved_pct", "green/quality_change_pct")
    ]
    assert wr.Config("stopping.alpha") in axes
    assert (scatter.x, scatter.y) == (
        wr.SummaryMetric("green/co2_saved_pct"),
        wr.SummaryMetric("green/quality_change_pct"),
    )
    assert any("runs/abc" in str(b.text) for b in report.blocks if isinstance(b, wr.P))


def test_a_wandb_report_is_refused_offline_and_the_run_still_logged(local_runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    output = analyze(local_runs, out, "--wandb", "--wandb-report")
    assert "--wandb-report needs W&B online" in output
    (file,) = find_offline_runs(out / "wandb")
    wait_for_wandb_exit(file)
    assert read_offline_run(file).job_type == "analysis"
