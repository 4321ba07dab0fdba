"""benchmarks/frontier.py on real tiny shadow runs: its table rows equal replay + hand arithmetic done here.

Three real full-budget shadow runs (B3DB twice, ROC-AUC maximised; ESOL once, RMSE minimised; 120 molecules,
4 epochs, one thread). The report stage reads them with greenft's reader; the test reads the same curves, replays
every candidate with :func:`greenft.analysis.replay` under both deploys and recomputes saved CO2, the quality
change vs best-val (hindsight), the within-1 % counts, the hindsight-1% limit and the medians from the raw
per-epoch numbers, without the trade-off module the script uses.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from greenft.analysis import curve_from_record, read_runs, replay
from greenft.analysis.records import Curve
from greenft.stopping import MetricDirection, rule_label

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "frontier.py"
RUNS = (("b3db", 0), ("b3db", 1), ("esol", 0))


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("frontier_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("frontier")
    runs = base / "runs"
    env = dict(
        os.environ,
        WANDB_MODE="offline",
        WANDB_SILENT="true",
        WANDB_DISABLE_GIT="true",
        GREENFT_CACHE_DIR=str(base / "cache"),
        OMP_NUM_THREADS="1",
    )
    for dataset, seed in RUNS:
        args = ["--dataset", dataset, "--limit", "120", "--max-epochs", "4", "--seed", str(seed), "--shadow"]
        small = ["--layers", "2", "--emb-dim", "16", "--threads", "1", "--runs-dir", str(runs)]
        done = subprocess.run(
            [sys.executable, "-m", "greenft", "train", *args, *small, "--set", "logging.system_metrics=false"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    return runs


def _curves(runs: Path) -> list[Curve]:
    curves = [curve_from_record(r) for r in read_runs(runs, use_cache=False)]
    assert len(curves) == len(RUNS) and all(c.complete and c.n_epochs == 4 for c in curves)
    return curves


def _better(a: float, b: float, direction: MetricDirection) -> bool:
    return a > b if direction is MetricDirection.MAXIMIZE else a < b


def _best_index(values: Sequence[float], direction: MetricDirection, end: int) -> int:
    """Best finite value among indices 0..end, ties: the earliest (written out here, not imported)."""
    best = -1
    for i in range(end + 1):
        if math.isfinite(values[i]) and (best < 0 or _better(values[i], values[best], direction)):
            best = i
    return best


def _change(value: float, reference: float, direction: MetricDirection) -> float:
    sign = 1.0 if direction is MetricDirection.MAXIMIZE else -1.0
    return 100.0 * sign * (value - reference) / abs(reference)


def _saved(curve: Curve, stop_epoch: int) -> float:
    full = curve.emissions_kg[-1]
    return 100.0 * (full - curve.emissions_kg[stop_epoch - 1]) / full


def _expected_rule(curves: Sequence[Curve], config: Any, deploy: str) -> dict[str, Any]:
    saved, quality, stopped = [], [], 0
    for curve in curves:
        result = replay(curve, config, deploy)
        reference = curve.test[_best_index(curve.val, curve.direction, curve.n_epochs - 1)]
        deployed = result.stop_epoch - 1
        if deploy == "best":
            deployed = _best_index(curve.val, curve.direction, result.stop_epoch - 1)
        saved.append(_saved(curve, result.stop_epoch))
        quality.append(_change(curve.test[deployed], reference, curve.direction))
        stopped += result.triggered and result.stop_epoch < curve.n_epochs
    within = sum(q >= -1.0 - 1e-9 for q in quality)
    return {
        "saved": statistics.median(saved),
        "quality": statistics.median(quality),
        "within": within,
        "stopped": stopped,
    }


def _expected_limit(curves: Sequence[Curve]) -> float:
    """Median saving of hindsight-1%: per run, the earliest stop whose best-so-far test is within 1 %."""
    saved = []
    for curve in curves:
        reference = curve.test[_best_index(curve.val, curve.direction, curve.n_epochs - 1)]
        for end in range(curve.n_epochs):
            deployed = _best_index(curve.val, curve.direction, end)
            if _change(curve.test[deployed], reference, curve.direction) >= -1.0 - 1e-9:
                saved.append(_saved(curve, end + 1))
                break
    return statistics.median(saved)


def _rows(out: Path) -> dict[tuple[str, str, str], dict[str, str]]:
    with (out / "table.csv").open(newline="") as handle:
        return {(r["group"], r["strategy"], r["deploy"]): r for r in csv.DictReader(handle)}


def _close(text: str, value: float) -> bool:
    return math.isclose(float(text), value, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.slow  # three real shadow runs (about a minute): the report stage of a benchmark, not the product
def test_rows_equal_independent_replay(runs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = _load_script()
    out = tmp_path / "report"
    assert script.main(["--runs", str(runs_dir), "--out", str(out), "--planned", "3"]) == 0
    printed = capsys.readouterr().out
    curves = _curves(runs_dir)
    rows = _rows(out)
    limit = _expected_limit(curves)
    assert _close(rows[("all", "hindsight-1%", "")]["co2_saved_median_pct"], limit)
    checked = 0
    for spec in script.CANDIDATES:
        config = script.parse_rule(dict(spec))
        for deploy in ("best", "last"):
            row = rows[("all", rule_label(config), deploy)]
            want = _expected_rule(curves, config, deploy)
            assert int(row["runs"]) == 3
            assert _close(row["co2_saved_median_pct"], want["saved"]), (spec, deploy)
            assert _close(row["quality_change_median_pct"], want["quality"]), (spec, deploy)
            assert int(row["within_1pct"]) == want["within"] and int(row["judged"]) == 3, (spec, deploy)
            assert int(row["stopped_early"]) == want["stopped"], (spec, deploy)
            ratio = float(row["pct_of_hindsight_1pct_saving"])
            if limit > 0:
                assert _close(row["pct_of_hindsight_1pct_saving"], 100.0 * want["saved"] / limit)
            else:
                assert math.isnan(ratio)
            checked += 1
    assert checked == 2 * len(script.CANDIDATES)
    # the per-dataset breakdown is the same computation on the two B3DB runs
    b3db = [c for c in curves if c.dataset == "b3db"]
    exact = script.parse_rule({"rule": "anges"})
    want = _expected_rule(b3db, exact, "best")
    row = rows[("dataset=b3db", rule_label(exact), "best")]
    assert int(row["runs"]) == 2 and _close(row["co2_saved_median_pct"], want["saved"])
    assert _close(row["quality_change_median_pct"], want["quality"])
    # the full budget deploying its best-so-far checkpoint is best-val (hindsight) itself: 0 % saved, 0 % change
    full = rows[("all", "full_budget", "best")]
    assert float(full["co2_saved_median_pct"]) == 0.0 and float(full["quality_change_median_pct"]) == 0.0

    text = (out / "table.md").read_text()
    assert text in printed and "3 of 3 planned runs used" in text and "PARTIAL" not in text
    assert "1. Saves more CO2 than patience_p5_d0.0 [best]" in text and "\n2. >= 90 % of runs" in text
    assert "held-out tuning: not run" in text and "load average" in text
    settings = json.loads((out / "settings.json").read_text())
    assert settings["runs_used"] == 3 and settings["planned"] == 3


@pytest.mark.slow  # three real shadow runs (about a minute): the report stage of a benchmark, not the product
def test_partial_grid_and_held_out_table(runs_dir: Path, tmp_path: Path) -> None:
    """A grid with fewer runs than planned says so; a held_out.json is shown fold by fold, pooled last."""
    script = _load_script()
    held = tmp_path / "held_out.json"
    fold = {
        "held_out": "esol",
        "tuned_on": ["b3db"],
        "pick": {"label": "patience_p3_d0.0", "config": {"rule": "patience", "patience": 3}},
        "runs": 1,
        "co2_saved_median_pct": 25.0,
        "quality_change_median_pct": -0.5,
        "within_1pct": "1/1",
        "fallback": False,
    }
    pooled: dict[str, Any] = {"folds": 1, "runs": 1, "co2_saved_median_pct": 25.0, "quality_change_median_pct": -0.5}
    pooled |= {"within_1pct": "1/1", "fallbacks": 0}
    held.write_text(json.dumps({"max_loss_pct": 1.0, "tuned_on_metric": "val", "folds": [fold], "pooled": pooled}))
    out = tmp_path / "report"
    script.main(["--runs", str(runs_dir), "--out", str(out), "--planned", "54", "--held-out", str(held)])
    text = (out / "table.md").read_text()
    assert "3 of 54 planned runs used" in text and "PARTIAL GRID" in text
    assert "| esol | b3db | patience_p3_d0.0 | 1 | 25.0 | -0.5 | 1/1 | False |" in text
    assert "| pooled | 1 folds |  | 1 | 25.0 | -0.5 | 1/1 | 0/1 |" in text and "Max loss 1.0 %" in text
    assert "held-out tuning: not run" not in text


def _row(script: ModuleType, strategy: str, deploy: str, saved: float, quality: float, within: int) -> Any:
    """A table row over 10 runs whose hindsight-1% limit saved 50 % (so % of the limit = 2 x saved)."""
    return script.Row("all", strategy, "rule", deploy, 10, 10, saved, quality, within, 10, saved / 0.5, False)


def test_acceptance_names_the_configurations_that_pass_and_the_numbers_when_none_does() -> None:
    script = _load_script()
    base = _row(script, "patience_p5_d0.0", "best", 30.0, 0.0, 9)  # 60 % of the limit
    lossy = _row(script, "anges_a0.9_b0.2_w3", "best", 80.0, -4.0, 3)  # saves most but loses 4 %: not an answer
    good = _row(script, "patience_p3_d0.0", "best", 55.0, -0.5, 9)  # 9/10 within, 110 % of the limit
    lines = script.acceptance([base, lossy, good])
    assert lines[0].startswith("1. Saves more CO2 than patience_p5_d0.0 [best] (30.0 % saved, 0.0 %")
    assert "YES, 1 configuration(s); most: patience_p3_d0.0 [best] (55.0 % saved, -0.5 % quality" in lines[0]
    assert lines[1] == "2. >= 90 % of runs within 1 % while saving >= 90 % of the hindsight-1% CO2 (median): YES: " + (
        "patience_p3_d0.0 [best] (9/10, 110.0 %)"
    )
    lines = script.acceptance([base, lossy])
    assert lines[0].endswith("NO configuration does.")
    assert "NO candidate. Closest: patience_p5_d0.0 [best] (9/10 within 1 %, 60.0 % of the limit)" in lines[1]


def test_held_out_acceptance_compares_the_pooled_picks_with_patience_5(tmp_path: Path) -> None:
    script = _load_script()
    base = _row(script, "patience_p5_d0.0", "best", 30.0, 0.0, 9)
    held = tmp_path / "held_out.json"

    def answer(saved: float, quality: float) -> str:
        pooled = {"co2_saved_median_pct": saved, "quality_change_median_pct": quality, "within_1pct": "7/10"}
        held.write_text(json.dumps({"folds": [], "pooled": pooled}))
        (line,) = script.held_out_acceptance([base], held)
        return str(line)

    assert answer(45.0, -0.5).endswith(
        "YES: 45.0 % saved at -0.5 % median quality, 7/10 within 1 %, against "
        + ("patience_p5_d0.0 [best]'s 30.0 % at 0.0 % (9/10).")
    )
    assert ": NO: " in answer(45.0, -1.5)  # saves more, but loses more than 1 %
    assert ": NO: " in answer(25.0, 0.0)  # keeps quality, saves less than patience 5
    (line,) = script.held_out_acceptance([base], tmp_path / "absent.json")
    assert line.endswith("not answered: held-out tuning not run.")
