"""The constrained pick beside the knee (``--max-loss``), including the case where no config qualifies."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from greenft.analysis.records import Curve
from greenft.analysis.search_space import SearchSpace, config_of
from greenft.analysis.tuning import constrained_pick, tune_by_replay, write_tuning_outputs
from greenft.analysis.tuning_score import score_config
from greenft.stopping import MetricDirection
from greenft.sweeps import trial_config_from_sweep


def row(label: str, saved: float, quality: float) -> dict[str, Any]:
    return {"label": label, "co2_saved_median_pct": saved, "quality_change_median_pct": quality}


FRONT = [row("a", 80.0, -5.0), row("b", 50.0, -0.8), row("c", 40.0, -0.2), row("d", 10.0, 0.0)]


def test_the_pick_saves_the_most_co2_within_the_allowed_loss() -> None:
    assert constrained_pick(FRONT, 1.0)[0] is FRONT[1]  # b: 50 % saved at -0.8 %; a loses 5 %
    assert constrained_pick(FRONT, 0.5)[0] is FRONT[2]  # c: -0.2 %
    assert constrained_pick(FRONT, 0.0)[0] is FRONT[3]  # d loses nothing
    assert constrained_pick(FRONT, 5.0)[0] is FRONT[0]  # a loses exactly 5 %: allowed
    tie = [row("x", 50.0, -0.9), row("y", 50.0, -0.1)]
    assert constrained_pick(tie, 1.0)[0] is tie[1]  # same CO2: the better quality


def test_when_no_config_qualifies_it_says_so() -> None:
    pick, why = constrained_pick([row("a", 80.0, -5.0), row("b", 60.0, -2.0), row("n", 0.0, math.nan)], 1.0, "val")
    assert pick is None
    assert why.startswith("no Pareto config keeps the median val quality loss vs best-val (hindsight) within 1 %")
    assert "the best loses 2.00 %" in why


def concave(run_id: str, scale: float) -> Curve:
    """Steady, slowing gains: every epoch improves, so any stop before the end deploys a checkpoint below the
    run's best (the last epoch)."""
    val = [0.50, 0.60, 0.66, 0.70, 0.72, 0.73, 0.735, 0.74]
    return Curve(
        run_id=run_id,
        metric="roc_auc",
        direction=MetricDirection.MAXIMIZE,
        val=tuple(v * scale for v in val),
        test=tuple(v * scale - 0.01 for v in val),
        emissions_kg=tuple(float(e) for e in range(1, 9)),
        budget=8,
        dataset="b3db",
        model="gin",
        seed=0,
    )


def dip_then_jump(run_id: str, scale: float) -> Curve:
    """A dip at epoch 3 and the best epoch last: AN-GES with W <= 3 stops at the dip for every (alpha, beta) (the
    AER there is negative, the threshold beta * EMA is not), deploys epoch 2 (0.70) and loses 12.5 % vs 0.80."""
    val = [0.50, 0.70, 0.69, 0.69, 0.69, 0.69, 0.69, 0.80]
    return Curve(
        run_id=run_id,
        metric="roc_auc",
        direction=MetricDirection.MAXIMIZE,
        val=tuple(v * scale for v in val),
        test=tuple(v * scale - 0.01 for v in val),
        emissions_kg=tuple(float(e) for e in range(1, 9)),
        budget=8,
        dataset="b3db",
        model="gin",
        seed=0,
    )


def test_no_qualifying_config_is_reported_in_the_yaml_and_the_report(tmp_path: Path) -> None:
    space = SearchSpace(warmup=(2, 3))
    curves = [dip_then_jump("c0", 1.0), dip_then_jump("c1", 0.98), dip_then_jump("c2", 1.02)]
    result = tune_by_replay(curves, tmp_path, n_trials=10, storage="memory", seed=0, space=space, max_loss=1.0)
    scores = [score_config(curves, config_of(p)).quality("val") for p in result.trial_params]
    assert len(scores) == 10 and all(q == pytest.approx(-12.5) for q in scores)  # independently: none qualifies
    assert result.constrained is None and "within 1 %" in result.constrained_note
    assert "the best loses 12.50 %" in result.constrained_note
    assert result.recommended is not None  # the knee is still there

    write_tuning_outputs(result, tmp_path)
    configs = yaml.safe_load((tmp_path / "best_configs.yaml").read_text())
    assert configs["constrained"] == {"none_qualifies": result.constrained_note}
    assert configs["max_loss_pct"] == 1.0
    trial_config_from_sweep({"stopping": configs["recommended"]["stopping"], "dataset": "b3db", "seed": 0})
    report = (tmp_path / "tune_report.md").read_text()
    assert "Constrained (--max-loss 1): **none**" in report and result.constrained_note in report


def test_a_qualifying_pick_is_written_ready_to_paste(tmp_path: Path) -> None:
    space = SearchSpace(rules=("anges", "patience"))
    curves = [concave("c0", 1.0), concave("c1", 0.98), concave("c2", 1.02)]
    result = tune_by_replay(curves, tmp_path, n_trials=40, storage="memory", seed=3, space=space, max_loss=1.0)
    pick = result.constrained
    assert pick is not None and pick in result.pareto and pick["quality_change_median_pct"] >= -1.0
    better = [r for r in result.pareto if r["co2_saved_median_pct"] > pick["co2_saved_median_pct"]]
    assert all(r["quality_change_median_pct"] < -1.0 for r in better)  # no front config saves more within 1 %
    write_tuning_outputs(result, tmp_path)
    configs = yaml.safe_load((tmp_path / "best_configs.yaml").read_text())
    pasted = trial_config_from_sweep({"stopping": configs["constrained"]["stopping"], "dataset": "b3db", "seed": 0})
    assert config_of(dict(configs["constrained"]["stopping"])) == pasted.stopping
    assert configs["constrained"]["label"] == pick["label"]
    assert f"Constrained (--max-loss 1): `{pick['label']}`" in (tmp_path / "tune_report.md").read_text()
