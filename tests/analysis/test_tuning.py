"""Optuna tuning by replay on hand-made curves: objectives, Pareto output vs the defaults, storages, YAMLs."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import optuna
import pytest
import yaml
from tuning_helpers import curves

from greenft.agents import TrialConfig
from greenft.analysis.fresh_proposals import REPLACES_REPEAT, RepeatedProposal
from greenft.analysis.pareto import dominates
from greenft.analysis.tradeoff import score_rule
from greenft.analysis.tuning import SearchSpace, make_storage, tune_by_replay, tune_live, write_tuning_outputs
from greenft.stopping import AnGesConfig, rule_label
from greenft.sweeps import trial_config_from_sweep


def test_tuning_by_replay_reports_pareto_configs_against_the_defaults(tmp_path: Path) -> None:
    calls: list[int] = []
    result = tune_by_replay(curves(), tmp_path, n_trials=60, progress=lambda done, total: calls.append(done))
    assert calls[-1] == 60 and result.n_trials_total == 60
    assert result.trial_params[0] == {"alpha": 0.9, "beta": 0.2, "warmup": 3}  # defaults enqueued first
    d = result.defaults
    expected = score_rule(curves(), AnGesConfig())
    assert d["label"] == "anges_a0.9_b0.2_w3" and d["emissions_saved_pct"] == pytest.approx(
        expected.emissions_saved_pct
    )
    assert d["k"] == pytest.approx(0.02 / 0.82)
    # The objectives are the medians of the deployed-vs-best-val comparison (changed from the means of the
    # stop-epoch-vs-last-epoch change: the quality objective now scores the weights a stopped run deploys).
    front = [(r["co2_saved_median_pct"], r["quality_change_median_pct"]) for r in result.pareto]
    assert front and all(not dominates(q, p, ("max", "max")) for p in front for q in front)
    # Nothing the study found dominates a front config, and the defaults are on the front or dominated by it.
    defaults_point = (d["co2_saved_median_pct"], d["quality_change_median_pct"])
    assert defaults_point in front or any(dominates(p, defaults_point, ("max", "max")) for p in front)
    for row in result.pareto:
        assert row["delta_saved_pct_points"] == pytest.approx(row["co2_saved_median_pct"] - d["co2_saved_median_pct"])
        assert row["label"].startswith("anges_a") and row["trials_here"] >= 1
        assert len(str(row["alpha"])) <= 4  # the 0.01 grid keeps configs readable
    assert result.recommended in result.pareto

    files = write_tuning_outputs(result, tmp_path, datasets=["b3db"], seeds=[0, 1, 2])
    assert {f.name for f in files} == {
        "tune_pareto.csv", "best_configs.yaml", "recommended_trial.yaml", "sweep_anges_pareto.yaml", "tune_report.md"
    }  # fmt: skip
    sweep = yaml.safe_load((tmp_path / "sweep_anges_pareto.yaml").read_text())
    for stopping in sweep["parameters"]["stopping"]["values"]:  # each value is a valid greenft sweep parameter
        config = trial_config_from_sweep({"stopping": stopping, "dataset": "b3db", "seed": 0})
        assert isinstance(config.stopping, AnGesConfig)
    assert sweep["parameters"]["seed"] == {"values": [0, 1, 2]}
    assert "Pareto-optimal configs vs the defaults" in (tmp_path / "tune_report.md").read_text()


def test_storages_journal_resume_memory_and_rdb(tmp_path: Path) -> None:
    first = tune_by_replay(curves(), tmp_path, n_trials=10)
    second = tune_by_replay(curves(), tmp_path, n_trials=5)
    assert (first.n_trials_total, second.n_trials_total) == (10, 15)
    assert second.trial_params[0] == first.trial_params[0]
    journal, where = make_storage(None, tmp_path)
    stored = optuna.load_study(study_name="greenft-anges", storage=journal)
    assert len(stored.trials) == 15 and where.endswith("optuna_journal.log")
    assert stored.trials[0].user_attrs["label"] == "anges_a0.9_b0.2_w3"
    assert make_storage("memory", tmp_path)[0] is None
    url = f"sqlite:///{tmp_path / 'tune.db'}"
    rdb = tune_by_replay(curves(), tmp_path, n_trials=4, storage=url, study_name="rdb", sampler="random")
    assert rdb.storage == url and len(optuna.load_study(study_name="rdb", storage=url).trials) == 4


def test_search_space_bounds(tmp_path: Path) -> None:
    space = SearchSpace(alpha=(0.8, 0.9), beta=(0.1, 0.3), warmup=(3, 3))
    result = tune_by_replay(curves(), tmp_path, n_trials=15, storage="memory", space=space, sampler="tpe")
    for params in result.trial_params:
        assert 0.8 <= params["alpha"] <= 0.9 and 0.1 <= params["beta"] <= 0.3 and params["warmup"] == 3


def test_no_curves_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no complete curves"):
        tune_by_replay([], tmp_path)


def test_tune_live_drives_the_runner_with_each_proposal(tmp_path: Path) -> None:
    """Live mode with a fake runner: each trial trains one run per seed with the proposed rule, live."""
    seen: list[TrialConfig] = []

    def fake_run(config: TrialConfig) -> Any:
        seen.append(config)
        assert isinstance(config.stopping, AnGesConfig)
        kg = 1e-6 * (1 + config.stopping.beta)
        summary = {"metric": "rmse", "total/emissions_kg": kg, "stop/val_rmse": 1.0 + config.stopping.alpha}
        summary.update({"stop/test_rmse": 1.1, "stop/epoch": 3})
        return SimpleNamespace(summary=summary)

    result = tune_live(TrialConfig(), tmp_path, seeds=[0, 1], n_trials=4, runner=fake_run, storage="memory")
    assert len(seen) == 8 and {c.seed for c in seen} == {0, 1} and all(c.mode == "live" for c in seen)
    assert seen[0].stopping == AnGesConfig()
    assert result.defaults["label"] == "anges_a0.9_b0.2_w3"
    assert all(row["val_metric_oriented"] < 0 for row in result.pareto)  # RMSE negated: higher is better
    assert all(math.isfinite(row["emissions_kg"]) for row in result.pareto)
    files = write_tuning_outputs(result, tmp_path)
    assert "live trials" in (tmp_path / "tune_report.md").read_text() and files


def test_a_single_worker_never_scores_a_config_twice(tmp_path: Path) -> None:
    """NSGA-II on the 0.01 grid converges and re-proposes configs; each repeat is replaced before scoring."""
    result = tune_by_replay(curves(), tmp_path, n_trials=200, storage="memory", seed=3)
    keys = [(p["alpha"], p["beta"], p["warmup"]) for p in result.trial_params]
    assert len(keys) == 200 and len(set(keys)) == 200
    assert result.repeats_rejected > 0  # the sampler did repeat itself: the guard was needed, not idle


def test_fresh_proposals_queue_a_new_config_for_a_repeat_until_the_space_is_exhausted() -> None:
    space = SearchSpace(alpha=(0.0, 0.01), beta=(0.5, 0.5), warmup=(3, 3))  # 2 configs
    guard = space.fresh_proposals(seed=0)
    queued: list[tuple[dict[str, Any], dict[str, Any]]] = []
    first = rule_label(AnGesConfig(alpha=0.0, beta=0.5, warmup=3))
    guard.check(first, lambda params, attrs: queued.append((params, attrs)))
    with pytest.raises(RepeatedProposal):
        guard.check(first, lambda params, attrs: queued.append((params, attrs)))
    assert queued == [({"alpha": 0.01, "beta": 0.5, "warmup": 3}, {REPLACES_REPEAT: first})]
    guard.check(rule_label(AnGesConfig(alpha=0.01, beta=0.5, warmup=3)), lambda p, a: None)
    guard.check(first, lambda params, attrs: queued.append((params, attrs)))  # both seen: a repeat is allowed
    assert guard.repeats_rejected == 1 and len(queued) == 1
