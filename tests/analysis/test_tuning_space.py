"""The tuning objective (deployed best-so-far weights vs best-val (hindsight), medians) and the conditional,
budget-scaled search space, on hand-made curves whose numbers are worked out by hand in the comments."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from greenft.analysis.records import Curve
from greenft.analysis.search_space import SearchSpace, config_of, patience_range_for, warmup_range_for
from greenft.analysis.tuning import make_storage, tune_by_replay
from greenft.analysis.tuning_score import score_config
from greenft.stopping import MetricDirection, PatienceConfig, rule_label


def curve(run_id: str, val: list[float], test: list[float], dataset: str = "b3db", budget: int | None = None) -> Curve:
    return Curve(
        run_id=run_id,
        metric="roc_auc",
        direction=MetricDirection.MAXIMIZE,
        val=tuple(val),
        test=tuple(test),
        emissions_kg=tuple(float(e) for e in range(1, len(val) + 1)),
        budget=budget if budget is not None else len(val),
        dataset=dataset,
        model="gin",
        seed=0,
    )


# Curve "dip": patience 1 stops at epoch 3 (0.65 does not beat 0.70); best-so-far over 1..3 is epoch 2 (val 0.70,
# test 0.60); the run's best val is epoch 4 (0.80, test 0.75). val vs best-val = 100 (0.70 - 0.80) / 0.80 = -12.5,
# test vs best-val = 100 (0.60 - 0.75) / 0.75 = -20, CO2 saved = 100 (4 - 3) / 4 = 25.
# Curve "rise": never stops (each epoch gains 0.1 > any min_delta searched), deploys epoch 4 = best: 0, 0, 0.
# Medians of two curves are their means: saved 12.5, val -6.25, test -10.
DIP = curve("dip", [0.60, 0.70, 0.65, 0.80], [0.50, 0.60, 0.62, 0.75])
RISE = curve("rise", [0.50, 0.60, 0.70, 0.80], [0.40, 0.50, 0.60, 0.70])


def test_the_quality_scored_is_the_deployed_checkpoint_against_best_val_hindsight() -> None:
    score = score_config([DIP, RISE], PatienceConfig(patience=1))
    assert score.co2_saved_median_pct == pytest.approx(12.5)
    assert score.val_vs_best_val_median_pct == pytest.approx(-6.25)
    assert score.test_vs_best_val_median_pct == pytest.approx(-10.0)
    assert (score.quality("val"), score.quality("test")) == pytest.approx((-6.25, -10.0))
    assert score.within_text == "1/2"  # "rise" loses 0 %, "dip" loses 20 %
    # The stop epoch's own weights (0.65 val) would give another number: the objective is not "vs last epoch".
    assert score.means.val_metric_change_pct == pytest.approx(((0.65 - 0.80) / 0.80 * 100 + 0.0) / 2)


@pytest.mark.parametrize(("split", "quality"), [("val", -6.25), ("test", -10.0)])
def test_every_patience_trial_gets_the_hand_computed_objective(tmp_path: Path, split: str, quality: float) -> None:
    space = SearchSpace(rules=("patience",), patience=(1, 1))
    result = tune_by_replay(
        [DIP, RISE], tmp_path, n_trials=12, seed=1, sampler="random", space=space, metric_split=split
    )
    assert result.objective_names == ("co2_spent_median_pct", f"{split}_vs_best_val_median_pct")
    stored = optuna.load_study(study_name=result.study_name, storage=make_storage(None, tmp_path)[0])
    values = [t.values for t in stored.trials if str(t.user_attrs.get("label", "")).startswith("patience_")]
    assert values and all(v == pytest.approx([100.0 - 12.5, quality]) for v in values)  # (CO2 spent, quality)
    assert result.rules == ("anges", "patience")  # the exact rule is always a choice
    assert any(p.get("rule") == "patience" for p in result.trial_params)


EXPECTED_PARAMS = {
    "anges": {"alpha", "beta", "warmup"},
    "anges-pp": {"alpha", "beta", "warmup", "smoothing", "window", "consecutive", "deadband", "warmup_fraction"},
    "patience": {"patience", "min_delta"},
    "patience-pp": {"patience", "min_delta", "smoothing"},
}


def test_each_trial_draws_its_rule_then_only_that_rules_parameters(tmp_path: Path) -> None:
    space = SearchSpace(rules=("anges", "anges-pp", "patience", "patience-pp"))
    curves = [DIP, RISE, curve("flat", [0.7, 0.72, 0.71, 0.71], [0.6, 0.62, 0.6, 0.6])]
    result = tune_by_replay(curves, tmp_path, n_trials=60, storage="memory", seed=2, sampler="random", space=space)
    assert result.trial_params[0] == {"rule": "anges", "alpha": 0.9, "beta": 0.2, "warmup": 3}  # the defaults first
    seen = set()
    for params in result.trial_params:
        rule = params["rule"]
        seen.add(rule)
        assert set(params) - {"rule"} == EXPECTED_PARAMS[rule], params
        config = config_of(params)
        assert rule_label(config).startswith(rule + "_")
        if rule == "anges-pp":
            assert 0.0 <= params["smoothing"] <= 0.9 and 1 <= params["window"] <= 4 and 1 <= params["consecutive"] <= 3
            assert params["deadband"] in (False, True) and 0.0 <= params["warmup_fraction"] <= 0.35
            assert (config.warmup_fraction is None) == (params["warmup_fraction"] == 0.0)  # type: ignore[attr-defined]
    assert seen == set(EXPECTED_PARAMS)
    labels = [rule_label(config_of(p)) for p in result.trial_params]
    assert len(labels) == len(set(labels))  # fresh proposals: no config scored twice, identified by its label
    for row in result.pareto:  # each front row's stopping section builds the same config again
        assert rule_label(config_of(dict(row["stopping"]))) == row["label"]


@pytest.mark.parametrize(
    ("budget", "warmup", "patience"), [(8, (2, 3), (1, 5)), (30, (2, 10), (1, 10)), (60, (2, 20), (1, 20))]
)
def test_w_and_patience_ranges_scale_with_the_budget(
    budget: int, warmup: tuple[int, int], patience: tuple[int, int]
) -> None:
    assert warmup_range_for(budget) == warmup and patience_range_for(budget) == patience
    space = SearchSpace(rules=("anges", "patience")).for_budget(budget)
    assert (space.warmup, space.patience) == (warmup, patience)
    explicit = SearchSpace(warmup=(4, 5), patience=(2, 3)).for_budget(budget)
    assert (explicit.warmup, explicit.patience) == ((4, 5), (2, 3))  # explicit ranges win


def test_a_long_budget_lets_the_search_reach_long_warmups(tmp_path: Path) -> None:
    """30-epoch curves: W is searched up to 10 (the former fixed range stopped at 6), patience up to 10."""
    val = [0.5 + 0.3 * (1 - 0.85**i) for i in range(30)]
    long = [curve(f"l{i}", [v + 0.002 * ((j * (i + 1)) % 3) for j, v in enumerate(val)], val) for i in range(3)]
    space = SearchSpace(rules=("anges", "patience"))
    result = tune_by_replay(long, tmp_path, n_trials=80, storage="memory", seed=4, sampler="random", space=space)
    assert result.budget == 30
    warmups = [p["warmup"] for p in result.trial_params if p["rule"] == "anges"]
    patiences = [p["patience"] for p in result.trial_params if p["rule"] == "patience"]
    assert max(warmups) <= 10 and max(patiences) <= 10
    assert max(warmups) > 6 and max(patiences) > 5  # the scaled ranges are really searched
