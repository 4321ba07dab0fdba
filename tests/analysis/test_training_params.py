"""The analysis of a training sweep (greenft.analysis.training_params): on six real runs of
sweeps/training-params-esol.yaml shipped as a fixture (tests/fixtures/training_sweep_esol.json), every number of the
"Training parameters" section is checked against an independent computation: scipy on the values the trainer
logged itself (summary best/val_rmse, full/emissions_kg, the shadow stops it recorded live, history val/loss).

The same on a freshly run sweep (greenft sweep run + greenft analyze) is the slow test at the end."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest
import yaml
from scipy import stats

from greenft.agents.config import default_stopping
from greenft.analysis.compute import analyze
from greenft.analysis.markdown import render_markdown
from greenft.analysis.records import Curve, RunRecord, curve_from_record
from greenft.analysis.training_markdown import training_section
from greenft.analysis.training_params import (
    TARGET_ANGES_KG,
    TARGET_FULL_KG,
    TARGET_VAL_LOSS,
    TrainingStudy,
    group_by_value,
    mean_curve,
    pearson,
    ranks,
    repeated_prefixes,
    spearman,
    training_study,
    varying_parameters,
)
from greenft.analysis.training_plots import grouped_curves_figure, write_training_pngs
from greenft.stopping import rule_label

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "training_sweep_esol.json"
EXACT = "anges_a0.9_b0.2_w3"
LIVE = "anges-pp_a0.9_b0.2_w3_s0.6_c2"
SWEPT = {"optim.batch_size", "optim.lr", "optim.max_epochs"}


def fixture_records() -> list[RunRecord]:
    return [RunRecord.from_dict(d) for d in json.loads(FIXTURE.read_text())["records"]]


@pytest.fixture(scope="module")
def shipped() -> tuple[list[RunRecord], list[Curve], TrainingStudy]:
    """The fixture runs, their curves (all complete: shadow mode) and the study: computed once (importances)."""
    records = fixture_records()
    curves = [curve_from_record(r) for r in records]
    assert all(c.complete for c in curves)
    return records, curves, training_study(records, curves)


# ------------------------------------------------------------------------------------------ the statistics


def test_correlations_match_scipy_with_ties_and_nans() -> None:
    rng = np.random.default_rng(0)
    x = [float(v) for v in rng.integers(0, 4, size=12)]  # many ties
    y = [float(v) for v in rng.normal(size=12)]
    assert pearson(x, y) == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-12)
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert ranks(x) == pytest.approx(list(stats.rankdata(x)))
    y_nan = [math.nan, *y[1:]]  # a run without the target: dropped pairwise
    assert pearson(x, y_nan) == pytest.approx(stats.pearsonr(x[1:], y[1:]).statistic, abs=1e-12)
    assert math.isnan(pearson([1.0, 2.0], [3.0, 4.0]))  # fewer than 3 runs
    assert math.isnan(spearman([1.0, 1.0, 1.0], [3.0, 4.0, 5.0]))  # a constant parameter
    assert mean_curve([[1.0, 2.0, 3.0], [3.0, 4.0], [math.nan, 6.0]]) == [2.0, 4.0, 3.0]  # budgets differ


def test_varying_parameters_are_found_from_the_configs_not_a_list() -> None:
    base: dict[str, Any] = {"model": {"name": "schnet", "cutoff": 5.0}, "optim": {"lr": 1e-3}, "seed": 0}
    configs = [
        {**base, "model": {"name": "schnet", "cutoff": c}, "optimizer": o, "logging": {"name": f"t{i}"},
         "derived": {"molecules": 100 + i}, "sweep": {"trial": f"t{i}"}, "seed": i,
         "mode": ["live", "shadow"][i % 2], "stopping": {"rule": "anges", "alpha": 0.5 + i / 10},
         "data": {"extra_metrics": ["mae"] * (i % 2)}}
        for i, (c, o) in enumerate([(4.0, "adam"), (5.0, "adamw"), (6.0, "adam")])
    ]  # fmt: skip
    found = {p.name: p for p in varying_parameters(configs)}
    assert set(found) == {
        "model.cutoff",
        "optimizer",
        "data.extra_metrics",
    }  # not: names, measured values, trial ids, seeds, stopping
    assert found["model.cutoff"].numeric and found["model.cutoff"].values == (4.0, 5.0, 6.0)
    assert not found["optimizer"].numeric and found["optimizer"].values == ("adam", "adamw")
    assert not found["model.cutoff"].log_scale  # 4..6 spans less than a factor of 10
    assert found["data.extra_metrics"].values == ("['mae']", "[]")  # a list: categorical, by its text


# ------------------------------------------------------------------------------- real runs, shipped fixture


def _independent(records: list[RunRecord]) -> dict[str, dict[str, float]]:
    """Per run, the targets from what the trainer logged (not from greenft.analysis' curves or replays)."""
    out = {}
    for r in records:
        full = r.summary["full/emissions_kg"]
        logged_stop = r.summary[f"shadow/{EXACT}/emissions_kg"]  # the shadow rule's stop, recorded live
        out[r.run_id] = {
            "best val rmse": r.summary["best/val_rmse"],
            TARGET_VAL_LOSS: float(np.nanmin([row["val/loss"] for row in r.history if "val/loss" in row])),
            TARGET_FULL_KG: full,
            TARGET_ANGES_KG: full if r.summary[f"shadow/{EXACT}/stop_epoch"] is None else logged_stop,
        }
    return out


def test_training_section_numbers_match_scipy_on_the_logged_values(
    shipped: tuple[list[RunRecord], list[Curve], TrainingStudy],
) -> None:
    records, _, study = shipped
    assert study.active and list(study.parameters) == [("gin", "esol")]
    params = {p.name: p for p in study.parameters[("gin", "esol")]}
    assert set(params) == SWEPT
    assert params["optim.lr"].log_scale and not params["optim.batch_size"].log_scale
    budgets = {r.run_id: r.budget for r in records}
    assert len(set(budgets.values())) == 3  # max_epochs was swept: three different full budgets

    targets = _independent(records)
    rows = {(c.parameter, c.target): c for c in study.correlations}
    assert {t for _, t in rows} == {"best val rmse", TARGET_VAL_LOSS, TARGET_FULL_KG, TARGET_ANGES_KG}
    ids = [r.run_id for r in records]
    for (parameter, target), row in rows.items():
        x = [float(next(r for r in records if r.run_id == i).config["optim"][parameter.split(".")[1]]) for i in ids]
        y = [targets[i][target] for i in ids]
        assert row.n_runs == 6
        assert row.pearson == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-9), (parameter, target)
        assert row.spearman == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-9), (parameter, target)
        if parameter == "optim.lr":
            assert row.pearson_log10 == pytest.approx(stats.pearsonr(np.log10(x), y).statistic, abs=1e-9)
        else:
            assert math.isnan(row.pearson_log10)
    for target in targets[ids[0]]:  # each importance is a share over the three parameters
        assert sum(rows[(p, target)].fanova for p in SWEPT) == pytest.approx(1.0)
        assert sum(rows[(p, target)].forest for p in SWEPT) == pytest.approx(1.0)

    for run in study.runs[("gin", "esol")]:  # each rule replayed against the run's own budget = the live record
        summary = next(r.summary for r in records if r.run_id == run.run_id)
        assert run.budget == budgets[run.run_id]
        for row, label in ((run.anges, EXACT), (run.live, LIVE)):
            assert row is not None and row.strategy == label
            logged = summary[f"shadow/{label}/stop_epoch"]
            assert row.stop_epoch == (logged if logged is not None else run.budget)
            assert row.full_emissions_kg == pytest.approx(summary["full/emissions_kg"])
            stop_kg = summary[f"shadow/{label}/emissions_kg"] if logged is not None else summary["full/emissions_kg"]
            saved = 100 * (summary["full/emissions_kg"] - stop_kg) / summary["full/emissions_kg"]
            assert row.emissions_saved_pct == pytest.approx(saved)
    stopped = [r for r in study.runs[("gin", "esol")] if r.anges.triggered]
    assert stopped and all(r.anges.stop_epoch < r.budget for r in stopped)  # the fixture has an early stop

    section = "\n".join(training_section(study))
    assert "| optim.lr | best val rmse | 6 |" in section and "forest (W&B)" in section
    assert all(r.run_id in section for r in records) and f"live rule {LIVE}" in section


def test_grouped_curves_have_one_line_per_run_and_a_mean_per_value(
    tmp_path: Path, shipped: tuple[list[RunRecord], list[Curve], TrainingStudy]
) -> None:
    records, curve_list, study = shipped
    runs = study.runs[("gin", "esol")]
    curves = {c.run_id: c for c in curve_list}
    params = {p.name: p for p in study.parameters[("gin", "esol")]}
    by_epochs = group_by_value(runs, params["optim.max_epochs"])
    assert {v: len(ids) for v, ids in by_epochs.items()} == {"3": 2, "4": 1, "5": 3}  # budgets 3, 4, 5
    lr = params["optim.lr"]  # one figure only: each costs ~2 s
    by_lr = group_by_value(runs, lr)  # six values drawn from a range: 3 groups of 2 runs, by their range
    lrs = sorted(r.params["optim.lr"] for r in runs)
    assert [len(ids) for ids in by_lr.values()] == [2, 2, 2]
    assert next(iter(by_lr)) == f"{lrs[0]:.4g} to {lrs[1]:.4g}"
    groups = {v: [curves[i] for i in ids] for v, ids in by_lr.items()}
    figure = grouped_curves_figure(lr, groups, "t", with_loss=True)
    axes = figure.axes
    assert len(axes) == 4 and [ax.get_yscale() for ax in axes] == ["linear", "log", "linear", "log"]
    for ax in axes:
        gids = [line.get_gid() for line in ax.get_lines()]
        assert sorted(g for g in gids if g.startswith("run:")) == sorted(f"run:{r.run_id}" for r in records)
        assert sum(g.startswith("mean:") for g in gids) == 3
    plt.close(figure)
    one = TrainingStudy(parameters={("gin", "esol"): [lr]}, runs=study.runs)
    pngs = write_training_pngs(one, curve_list, tmp_path)
    assert [p.name for p in pngs] == ["training_curves_optim.lr_gin_esol.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_no_section_when_no_training_parameter_varies() -> None:
    records = fixture_records()
    same = [r for r in records if r.config["optim"]["max_epochs"] == 5 and r.config["optim"]["batch_size"] == 64]
    one = analyze(same[:1], grid=[])
    assert one.training == TrainingStudy() and "## Training parameters" not in render_markdown(one)
    assert curve_from_record(same[0]).budget == 5


def test_runs_without_a_complete_curve_are_named_not_dropped_silently() -> None:
    records = fixture_records()
    cut = records[0]  # as a live run that stopped at epoch 2 of its budget: its curve ends there
    live = RunRecord.from_dict({**cut.to_dict(), "history": cut.history[:2]})
    curves = [curve_from_record(r) for r in [live, *records[1:]]]
    study = training_study([live, *records[1:]], [c for c in curves if c.complete], importances=False)
    assert [r.run_id for r in study.runs[("gin", "esol")]] == [r.run_id for r in records[1:]]
    assert any("1 of 6 runs differ in training parameters but have no complete curve" in n for n in study.notes)
    assert any("mode: shadow" in line for line in training_section(study))

    older = records[1].to_dict()  # a run from before derived.live_rule was logged: greenft's default live rule
    del older["config"]["derived"]["live_rule"]
    study = training_study([RunRecord.from_dict(older), *records[2:]], curves[1:], importances=False)
    first = study.runs[("gin", "esol")][0]
    assert first.run_id == records[1].run_id and first.live is not None
    assert first.live.strategy == rule_label(default_stopping()) == LIVE


def test_an_epoch_budget_sweep_that_retrained_one_prefix_is_named() -> None:
    records = fixture_records()
    longest = max(records, key=lambda r: r.budget or 0)  # a 5-epoch run
    shorter = longest.to_dict()  # the same settings with a budget of 3: its curve is the first 3 epochs
    shorter.update(run_id="short3", history=[row for row in longest.history if row.get("epoch", 0) <= 3])
    shorter["config"] = {**shorter["config"], "optim": {**shorter["config"]["optim"], "max_epochs": 3}}
    others = [r for r in records if r.run_id != longest.run_id][:4]  # their lr differs: never a prefix
    pool = [longest, RunRecord.from_dict(shorter), *others]
    curves = [curve_from_record(r) for r in pool]
    study = training_study(pool, curves, importances=False)
    runs = study.runs[("gin", "esol")]
    assert repeated_prefixes(curves, runs) == [("short3", longest.run_id)]
    short_kg = shorter["history"][-1]["emissions/cumulative_kg"]
    total = math.fsum(c.emissions_kg[-1] for c in curves)
    note = next(n for n in study.notes if "first epochs of a longer run" in n)
    assert "1 of 6 runs" in note and f"{short_kg:.3g} of the sweep's {total:.3g} kg" in note


# ------------------------------------------------------------------------------------------- sweep files


def test_the_esol_study_sweeps_training_parameters_random_and_qm9_files_carry_the_seed_values() -> None:
    from greenft.sweeps import load_sweep_spec
    from greenft.sweeps.controller import propose
    from greenft.sweeps.state import SweepState

    spec = load_sweep_spec(ROOT / "sweeps" / "training-params-esol.yaml")
    state = SweepState(sweep_id=spec.sweep_id, name=spec.name, method=spec.method, file="", config=spec.raw)
    proposal = propose(spec, state)
    assert proposal is not None
    params = proposal.params
    assert params["batch_size"] in (16, 32, 64) and params["max_epochs"] in (4, 6, 8)
    assert 0.0003 <= params["lr"] <= 0.01 and spec.raw["parameters"]["mode"] == {"value": "shadow"}

    def raw(name: str) -> dict[str, Any]:
        return dict(yaml.safe_load((ROOT / "sweeps" / name).read_text())["parameters"])

    gpu_grid = raw("qm9-schnet-grid-gpu.yaml")  # the seed's figure 14
    assert gpu_grid["batch_size"] == {"values": [512, 1024]} and gpu_grid["max_epochs"] == {"values": [30, 35, 40, 45]}
    assert gpu_grid["lr"] == {"value": 0.0001} and gpu_grid["emb_dim"] == {"value": 30}
    assert gpu_grid["model.cutoff"] == gpu_grid["model.neighbor_cutoff"] == {"value": 5.0}
    for name in ("qm9-schnet-random.yaml", "qm9-schnet-random-gpu.yaml"):  # the seed's figure 1: lr in [0.0005, 0.01]
        lr = raw(name)["lr"]
        assert (lr["distribution"], lr["min"], lr["max"]) == ("uniform", 0.0005, 0.01)
    cpu_grid = raw("qm9-schnet-grid.yaml")
    assert len(cpu_grid["batch_size"]["values"]) * len(cpu_grid["max_epochs"]["values"]) == 8  # 2 x 4, as the seed
    for name in ("qm9-schnet-random.yaml", "qm9-schnet-grid.yaml"):
        assert raw(name)["limit"]["value"] <= 5000 and raw(name)["dataset"] == {"value": "qm9"}


# ---------------------------------------------------------------------------------------- a real sweep (slow)


@pytest.mark.slow
def test_sweep_run_then_analyze_end_to_end(tmp_path: Path) -> None:
    """`greenft sweep run` on the shipped ESOL study (shrunk: 5 runs, 120 molecules, budgets 2-4) and `greenft
    analyze` on its runs: the section, the CSV (checked against scipy on the records read back) and the PNGs."""
    sweep = yaml.safe_load((ROOT / "sweeps" / "training-params-esol.yaml").read_text())
    sweep["run_cap"] = 5
    sweep["parameters"].update(
        limit={"value": 120}, emb_dim={"value": 16}, max_epochs={"values": [2, 3, 4]},
        **{"logging.system_metrics": {"value": False}, "tracking.measure_power_secs": {"value": 1.0}},
    )  # fmt: skip
    file = tmp_path / "tiny.yaml"
    file.write_text(yaml.safe_dump(sweep))
    runs, out = tmp_path / "runs", tmp_path / "report"
    env = {**os.environ, "COLUMNS": "250"}
    for args in (
        ["sweep", "run", str(file), "--runs-dir", str(runs), "--threads", "1"],
        ["analyze", "--source", str(runs), "--out", str(out), "--no-html", "--no-cache"],
    ):
        done = subprocess.run([sys.executable, "-m", "greenft", *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr

    import pandas as pd

    from greenft.cli.reading import read_with_progress

    records = read_with_progress(str(runs), None, None, False)
    assert len(records) == 5
    table = pd.read_csv(out / "training_params.csv")
    assert set(table["parameter"]) <= SWEPT and "optim.lr" in set(table["parameter"])
    targets = _independent(records)
    for row in table.itertuples():
        x = [float(r.config["optim"][str(row.parameter).split(".")[1]]) for r in records]
        y = [targets[r.run_id][str(row.target)] for r in records]
        assert row.pearson == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-9)
        assert row.spearman == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-9)
    per_run = pd.read_csv(out / "training_runs.csv")
    assert sorted(per_run["run_id"]) == sorted(r.run_id for r in records)
    assert "## Training parameters" in (out / "report.md").read_text()
    assert (out / "training_curves_optim.lr_gin_esol.png").stat().st_size > 0


def test_a_setting_older_runs_do_not_record_is_not_a_varied_parameter() -> None:
    """Runs made across greenft versions: the newer ones record ``model.cutoff`` (one value), the older lack it.
    That is no training sweep; a key whose recorded values really differ still is, absent or not elsewhere."""
    old = {"model": {"name": "ecfp-mlm"}, "optim": {"lr": 1e-3}}
    new = {"model": {"name": "ecfp-mlm", "cutoff": 5.0}, "optim": {"lr": 1e-3}}
    assert varying_parameters([old, new, new]) == []
    newer = {"model": {"name": "ecfp-mlm", "cutoff": 6.0}, "optim": {"lr": 1e-3}}
    (found,) = varying_parameters([old, new, newer])
    assert found.name == "model.cutoff" and found.values == (5.0, 6.0, None)
