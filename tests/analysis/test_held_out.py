"""Leave-datasets-out tuning: each dataset is scored by a config tuned on the other datasets' curves only."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from greenft.analysis.held_out import HeldOutError, fold_seed, leave_datasets_out, write_held_out
from greenft.analysis.records import Curve
from greenft.analysis.search_space import SearchSpace, config_of
from greenft.analysis.tradeoff import compare_curve, is_within
from greenft.analysis.tuning import tune_by_replay
from greenft.stopping import MetricDirection

SHAPES = [
    [0.60, 0.70, 0.74, 0.73, 0.78, 0.80, 0.81, 0.81],
    [0.55, 0.65, 0.70, 0.72, 0.71, 0.76, 0.77, 0.77],
    [0.62, 0.66, 0.69, 0.70, 0.705, 0.70, 0.70, 0.69],
    [0.50, 0.70, 0.69, 0.69, 0.69, 0.69, 0.69, 0.80],
]


def make(dataset: str, index: int, shape: list[float], shift: float = 0.0) -> Curve:
    return Curve(
        run_id=f"{dataset}-{index}",
        metric="roc_auc",
        direction=MetricDirection.MAXIMIZE,
        val=tuple(v + shift for v in shape),
        test=tuple(v + shift - 0.02 + 0.005 * (i % 2) for i, v in enumerate(shape)),
        emissions_kg=tuple(float(e) for e in range(1, 9)),
        budget=8,
        dataset=dataset,
        model="gin",
        seed=index,
    )


def three_datasets() -> list[Curve]:
    return [make(d, i, SHAPES[(j + i) % 4]) for j, d in enumerate(("bace", "b3db", "clintox")) for i in range(2)]


SPACE = SearchSpace(rules=("anges", "anges-pp", "patience", "patience-pp"))


def test_each_fold_is_tuned_without_its_held_out_dataset(tmp_path: Path) -> None:
    curves = three_datasets()
    held = leave_datasets_out(curves, tmp_path, n_trials=12, sampler="random", seed=5, space=SPACE, max_loss=1.0)
    assert [f.held_out for f in held.folds] == ["b3db", "bace", "clintox"]
    for fold in held.folds:
        d = fold.as_dict()
        held_runs = {c.run_id for c in curves if c.dataset == fold.held_out}
        assert fold.held_out not in fold.tuned_on and set(fold.tuned_on) == {c.dataset for c in curves} - {
            fold.held_out
        }
        assert not held_runs & set(fold.tuned_on_runs)  # no curve of D tuned D's pick
        assert set(d["held_out_runs"]) == held_runs and d["runs"] == 2
        assert fold.seed == fold_seed(5, fold.held_out) and len({f.seed for f in held.folds}) == 3
        # The pick is what tuning on the other datasets alone gives (same seed and trials).
        alone = tune_by_replay(
            [c for c in curves if c.dataset != fold.held_out],
            tmp_path / fold.held_out,
            n_trials=12,
            storage="memory",
            sampler="random",
            seed=fold.seed,
            space=SPACE,
            max_loss=1.0,
        )
        expected = alone.constrained if alone.constrained is not None else alone.recommended
        assert expected is not None and d["pick"]["label"] == expected["label"]
        assert d["fallback"] == (alone.constrained is None)
        # Scored on D's curves only, with the test headline (deployed weights vs best-val (hindsight)).
        config = config_of(dict(d["pick"]["config"]))
        rows = [compare_curve(c, [config], hindsight=False)[1] for c in curves if c.dataset == fold.held_out]
        assert d["co2_saved_median_pct"] == pytest.approx(statistics.median(r.emissions_saved_pct for r in rows))
        assert d["quality_change_median_pct"] == pytest.approx(statistics.median(r.test_vs_best_val_pct for r in rows))
        assert d["within_1pct"] == f"{sum(is_within(r.test_vs_best_val_pct) for r in rows)}/2"


def test_a_held_out_datasets_own_curves_do_not_move_its_pick(tmp_path: Path) -> None:
    curves = three_datasets()
    changed = [make("bace", int(c.run_id[-1]), SHAPES[3], 0.1) if c.dataset == "bace" else c for c in curves]
    first = leave_datasets_out(curves, tmp_path, n_trials=10, sampler="random", seed=7, space=SPACE)
    second = leave_datasets_out(changed, tmp_path, n_trials=10, sampler="random", seed=7, space=SPACE)
    bace = [f for f in (*first.folds, *second.folds) if f.held_out == "bace"]
    assert bace[0].pick_label == bace[1].pick_label  # the fold holding bace out never saw bace's curves
    assert [r.run_id for r in bace[1].rows] == ["bace-0", "bace-1"]


def test_pooled_row_and_files(tmp_path: Path) -> None:
    curves = three_datasets()
    held = leave_datasets_out(curves, tmp_path, n_trials=8, sampler="random", seed=1, space=SPACE, max_loss=1.0)
    written = write_held_out(held, tmp_path)
    assert [p.name for p in written] == ["held_out.json", "held_out.md"]
    data = json.loads((tmp_path / "held_out.json").read_text())
    assert len(data["folds"]) == 3 and data["max_loss_pct"] == 1.0
    for fold in data["folds"]:
        assert {"held_out", "tuned_on", "pick", "runs", "co2_saved_median_pct", "quality_change_median_pct",
                "within_1pct", "fallback"} <= set(fold)  # fmt: skip
        assert set(fold["pick"]) == {"label", "config"} and fold["pick"]["config"]["rule"] in SPACE.rules
    rows = [r for f in held.folds for r in f.rows]
    pooled = data["pooled"]
    assert pooled["runs"] == len(curves) == len(rows) and pooled["folds"] == 3
    assert pooled["co2_saved_median_pct"] == pytest.approx(statistics.median(r.emissions_saved_pct for r in rows))
    assert pooled["quality_change_median_pct"] == pytest.approx(statistics.median(r.test_vs_best_val_pct for r in rows))
    within = sum(is_within(r.test_vs_best_val_pct) for r in rows)
    assert pooled["within_1pct"] == f"{within}/{len(rows)}"
    assert pooled["fallbacks"] == sum(f["fallback"] for f in data["folds"])
    md = (tmp_path / "held_out.md").read_text()
    assert "Held-out datasets (leave-datasets-out)" in md and "**pooled**" in md


def test_one_dataset_cannot_be_held_out(tmp_path: Path) -> None:
    with pytest.raises(HeldOutError, match=r"curves of 1 dataset\(s\) \(b3db\); expected at least 2"):
        leave_datasets_out([make("b3db", 0, SHAPES[0]), make("b3db", 1, SHAPES[1])], tmp_path, n_trials=2)
