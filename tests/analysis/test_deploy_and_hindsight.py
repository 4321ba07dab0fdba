"""Issue 13, analysis side, on hand-made curves (no training); every expected number is worked out by hand.

Deploy in replays, quality vs best-val (hindsight) beside vs the last epoch, hindsight-1%, the within-1 %
counts, a stop at the budget's last epoch (saves nothing: not an early stop) and the one naming of the
hindsight references in the report.
"""

from __future__ import annotations

import math

import pytest
from hand_curves import MIN, as_record, make
from hypothesis import given, settings
from hypothesis import strategies as st

from greenft.analysis.compute import analyze
from greenft.analysis.markdown import SUMMARY_HEADER, render_markdown
from greenft.analysis.replay import replay
from greenft.analysis.tradeoff import (
    BEST_TEST,
    BEST_VAL,
    FULL_BUDGET,
    HINDSIGHT_1PCT,
    aggregate,
    classify_anges_stop,
    compare_curve,
    hindsight_within_epoch,
    is_within,
    score_rule,
)
from greenft.schema import Deploy
from greenft.stopping import AnGesConfig, PatienceConfig

ANGES = "anges_a0.9_b0.2_w3"


# val rises to epoch 3, dips at 4 (AN-GES defaults stop there: first non-improving epoch after warm-up),
# best val 0.76 at epochs 5 and 6 (ties: earliest, 5), whose test metric is 0.80; the last epoch's test is 0.78.
VAL = [0.60, 0.70, 0.75, 0.74, 0.76, 0.76]
TEST = [0.50, 0.60, 0.70, 0.72, 0.80, 0.78]
EMISSIONS = [1.0, 2.0, 3.0, 4.0, 5.0, 10.0]


def test_replay_deploys_the_best_so_far_checkpoint_or_the_last_epoch() -> None:
    c = make(VAL, TEST, EMISSIONS)
    best = replay(c, AnGesConfig())  # default deploy: best
    assert (best.stop_epoch, best.triggered, best.deploy) == (4, True, Deploy.BEST)
    # epochs 1..4: best val 0.75 at epoch 3 -> its weights are deployed, not the future epoch 5
    assert (best.deployed_epoch, best.deployed_val_metric, best.deployed_test_metric) == (3, 0.75, 0.70)
    assert (best.test_metric, best.emissions_kg) == (0.72, 4.0)  # the stop epoch's own numbers are unchanged
    last = replay(c, AnGesConfig(), Deploy.LAST)
    assert (last.deployed_epoch, last.deployed_test_metric, last.stop_epoch) == (4, 0.72, 4)
    never = replay(c, PatienceConfig(patience=5))  # never stops: ends at 6, deploys best val of 1..6 = epoch 5
    assert (never.triggered, never.stop_epoch, never.deployed_epoch, never.deployed_test_metric) == (False, 6, 5, 0.8)
    # RMSE: lower is better; stop at 4 (1.26 worse than 1.2), best so far is epoch 3
    rmse = make([2.0, 1.5, 1.2, 1.26], [2.1, 1.6, 1.3, 1.25], direction=MIN)
    assert (replay(rmse, AnGesConfig()).stop_epoch, replay(rmse, AnGesConfig()).deployed_epoch) == (4, 3)


def test_rows_carry_both_references_and_both_weights() -> None:
    rows = {
        r.strategy: r for r in compare_curve(make(VAL, TEST, EMISSIONS), [AnGesConfig(), PatienceConfig(patience=2)])
    }
    assert list(rows) == [FULL_BUDGET, ANGES, "patience_p2_d0.0", BEST_TEST, BEST_VAL, HINDSIGHT_1PCT]
    anges = rows[ANGES]
    assert (anges.best_val_epoch, anges.best_val_test_metric, anges.deployed_epoch) == (5, 0.80, 3)
    assert anges.test_vs_best_val_pct == pytest.approx(100 * (0.70 - 0.80) / 0.80)  # -12.5: deployed epoch 3
    assert anges.test_vs_best_val_last_pct == pytest.approx(100 * (0.72 - 0.80) / 0.80)  # -10: epoch 4's weights
    assert anges.deployed_metric_change_pct == pytest.approx(100 * (0.70 - 0.78) / 0.78)
    assert anges.metric_change_pct == pytest.approx(100 * (0.72 - 0.78) / 0.78)  # unchanged definition
    assert anges.emissions_saved_pct == pytest.approx(60.0) and not anges.within_1pct
    full = rows[FULL_BUDGET]  # a full run deploying its best checkpoint *is* best-val (hindsight)
    assert (full.deployed_epoch, full.test_vs_best_val_pct, full.within_1pct) == (5, 0.0, True)
    assert full.test_vs_best_val_last_pct == pytest.approx(-2.5)  # the last epoch's 0.78 vs 0.80
    assert full.metric_change_pct == 0.0
    # patience 2 never fires (epoch 6 ties the best): deploys epoch 5, so it equals best-val (hindsight)
    assert (rows["patience_p2_d0.0"].deployed_epoch, rows["patience_p2_d0.0"].test_vs_best_val_pct) == (5, 0.0)
    limit = rows[BEST_TEST]  # best test 0.80 at epoch 5, deployed as is
    assert (limit.stop_epoch, limit.deployed_epoch, limit.test_vs_best_val_pct) == (5, 5, 0.0)
    best = rows[BEST_VAL]
    assert (best.stop_epoch, best.deployed_epoch, best.emissions_saved_pct) == (5, 5, 50.0)
    # hindsight-1%: best-so-far test by epoch: 0.5, 0.6, 0.7, 0.7 (epoch 3 kept), 0.8 -> first within 1 % is 5
    within = rows[HINDSIGHT_1PCT]
    assert (within.stop_epoch, within.deployed_epoch, within.kind, within.emissions_saved_pct) == (
        5,
        5,
        "hindsight",
        50.0,
    )


def test_hindsight_1pct_is_the_earliest_epoch_whose_checkpoint_is_within_1pct() -> None:
    # best val at epoch 5 (test 0.80); epoch 2's checkpoint has test 0.795 (-0.625 %): within, from epoch 2 on
    early = make([0.6, 0.7, 0.71, 0.72, 0.73], [0.6, 0.795, 0.79, 0.80, 0.80])
    assert hindsight_within_epoch(early) == (2, 2)
    row = {r.strategy: r for r in compare_curve(early, [])}[HINDSIGHT_1PCT]
    assert row.emissions_saved_pct == pytest.approx(60.0) and row.test_vs_best_val_pct == pytest.approx(-0.625)
    # exactly -1 % (0.792 vs 0.80) counts as within; 0.7919 (-1.0125 %) does not: epoch 3 (0.79, -1.25 %)
    # neither, epoch 4's checkpoint (0.80) is.
    assert hindsight_within_epoch(make([0.6, 0.7, 0.71, 0.72, 0.73], [0.6, 0.792, 0.79, 0.80, 0.80])) == (2, 2)
    assert hindsight_within_epoch(make([0.6, 0.7, 0.71, 0.72, 0.73], [0.6, 0.7919, 0.79, 0.80, 0.80])) == (4, 4)
    # The checkpoint is best-so-far, not the epoch itself: epoch 3's own test (0.80) would be within, but its val
    # dips, so stopping at 3 deploys epoch 2 (test 0.6); the first qualifying stop is epoch 4.
    dip = make([0.6, 0.7, 0.65, 0.72], [0.5, 0.6, 0.80, 0.80])
    assert hindsight_within_epoch(dip) == (4, 4)
    # RMSE: best val at epoch 4 (1.4) with test 1.0; epoch 2's test 1.01 is 1 % worse (within), epoch 1's 2.0 not
    rmse = make([2.0, 1.5, 1.6, 1.4], [2.0, 1.01, 1.5, 1.0], direction=MIN)
    assert hindsight_within_epoch(rmse) == (2, 2)
    # never later than the best val epoch; no finite val: no row
    worse = make([0.6, 0.7, 0.8], [0.9, 0.5, 0.6])
    assert hindsight_within_epoch(worse) == (1, 1)  # epoch 1's checkpoint (0.9) beats best-val's 0.6
    assert hindsight_within_epoch(make([math.nan, math.nan], [0.5, 0.6])) is None
    assert HINDSIGHT_1PCT not in {r.strategy for r in compare_curve(make([math.nan, math.nan], [0.5, 0.6]), [])}
    assert is_within(-1.0) and not is_within(-1.01) and not is_within(math.nan) and is_within(3.0)


def test_within_counts_and_the_headline_mean_in_the_aggregate() -> None:
    a = make(VAL, TEST, EMISSIONS, run_id="a")  # AN-GES deploys epoch 3: -12.5 %, not within
    b = make([0.6, 0.7, 0.8, 0.79, 0.9], [0.6, 0.7, 0.8, 0.81, 0.805], run_id="b", seed=1)
    # b: AN-GES stops at 4 (0.79 < 0.8), deploys epoch 3 (test 0.8); best val epoch 5 (test 0.805):
    # 100 * (0.8 - 0.805) / 0.805 = -0.621 %: within
    rows = compare_curve(a, [AnGesConfig()]) + compare_curve(b, [AnGesConfig()])
    agg = {r.strategy: r for r in aggregate(rows, ("model", "dataset"))}
    anges = agg[ANGES]
    assert (anges.within_1pct, anges.judged, anges.within_text()) == (1, 2, "1/2")
    expected = (100 * (0.70 - 0.80) / 0.80 + 100 * (0.8 - 0.805) / 0.805) / 2
    assert anges.test_vs_best_val_pct.mean == pytest.approx(expected)
    assert agg[FULL_BUDGET].within_text() == "2/2" and agg[BEST_VAL].within_text() == "2/2"
    flat = anges.as_flat_dict()
    assert flat["within_1pct"] == 1 and flat["judged"] == 2
    assert flat["test_vs_best_val_pct_mean"] == pytest.approx(expected)
    assert flat["test_vs_best_val_last_pct_mean"] == pytest.approx((-10.0 + 100 * (0.81 - 0.805) / 0.805) / 2)
    score = score_rule([a, b], AnGesConfig())  # the tuner's per-config score carries the headline too
    assert score.test_vs_best_val_pct == pytest.approx(expected) and (score.within_1pct, score.judged) == (1, 2)


def test_a_stop_at_the_budgets_last_epoch_is_not_an_early_stop() -> None:
    # AN-GES defaults stop at epoch 4, the first non-improving epoch after warm-up: here the last epoch.
    at_end = make([0.6, 0.7, 0.75, 0.75], [0.6, 0.7, 0.75, 0.75], run_id="end")
    assert replay(at_end, AnGesConfig()).triggered  # the rule did say stop (replay = live decision) ...
    row = {r.strategy: r for r in compare_curve(at_end, [AnGesConfig()])}[ANGES]
    assert row.emissions_saved_pct == 0.0 and row.epochs_saved == 0
    assert not row.triggered and row.stopped_at_budget  # ... but it saved nothing: not counted as a stop
    early = make(VAL, TEST, EMISSIONS, run_id="early")
    rows = compare_curve(at_end, [AnGesConfig()]) + compare_curve(early, [AnGesConfig()])
    agg = {r.strategy: r for r in aggregate(rows, ("model", "dataset"))}[ANGES]
    assert (agg.stop_rate, agg.stopped_at_budget) == (0.5, 1)
    # No rule row anywhere says it stopped yet saved nothing.
    assert all(r.emissions_saved_pct > 0 for r in rows if r.kind == "rule" and r.triggered)
    # The exact rule's stop classification keeps the stop, and says it came at the last epoch.
    check = classify_anges_stop(at_end, AnGesConfig())
    assert (check.stop_epoch, check.category, check.at_last_epoch) == (4, "first_non_improving", True)
    assert not classify_anges_stop(early, AnGesConfig()).at_last_epoch


def test_report_uses_one_naming_and_shows_the_headline_first() -> None:
    at_end = make([0.6, 0.7, 0.75, 0.75], [0.6, 0.7, 0.75, 0.75], run_id="end", seed=1)
    records = [as_record(make(VAL, TEST, EMISSIONS, run_id="early")), as_record(at_end)]
    analysis = analyze(records, [AnGesConfig()], grid=[])
    page = render_markdown(analysis)
    assert "oracle" not in page.lower() and "best val epoch" not in page
    assert BEST_VAL in page and BEST_TEST in page and HINDSIGHT_1PCT in page
    # the summary table: headline quality column first, within counts beside it
    assert SUMMARY_HEADER[4] == f"test vs {BEST_VAL} %, best-so-far deployed" and "within 1 %" in SUMMARY_HEADER[5]
    header = "| " + " | ".join(SUMMARY_HEADER) + " |"
    assert header in page
    anges_line = next(line for line in page.splitlines() if line.startswith(f"| {ANGES} | 2 |"))
    cells = [c.strip() for c in anges_line.strip("|").split("|")]
    # early: -12.5 % (not within); end: AN-GES says stop at 4, its last epoch; val 0.75 ties at 3 and 4, so the
    # deployed checkpoint (ties: earliest) is epoch 3, which is also best-val (hindsight): 0 % (within).
    # Mean -6.25, sample std sqrt(2 * 6.25^2).
    assert cells[2] == "50 % (+1 at the last epoch)"
    assert cells[4] == f"{(-12.5 + 0.0) / 2:.2f} ± {math.sqrt(2 * 6.25**2):.2f}" and cells[5] == "1/2"
    per_run = next(line for line in page.splitlines() if line.startswith("| end |"))
    assert "4 (at the last epoch) → 3 (+0.00 %)" in per_run
    assert "of which at the last epoch (save nothing)" in page
    assert f"| {ANGES} | 2 | 2 | 1 | 2 | 100 % |" in page  # runs, stops, at the last epoch, first non-improving


def test_the_deployed_front_judges_best_so_far_weights_against_best_val() -> None:
    # Best val at epoch 5 (0.8, test 0.85); last epoch test 0.8. Epoch 3's own weights test well (0.9) but its
    # val dips, so a stop at 3 or 4 deploys epoch 2 (test 0.6).
    c = make([0.5, 0.7, 0.6, 0.65, 0.8, 0.79], [0.5, 0.6, 0.9, 0.9, 0.85, 0.8], run_id="one")
    rules = [AnGesConfig(), PatienceConfig(patience=1), PatienceConfig(patience=2), PatienceConfig(patience=3)]
    analysis = analyze([as_record(c)], rules, grid=[])
    points = {p.strategy: p for p in analysis.pareto_relative}
    # stops: AN-GES 3, p1 3, p2 4 (all deploy epoch 2), p3 never (6, deploys 5); saved 50, 50, 33.3, 0 %
    assert points["patience_p1_d0.0"].emissions_saved_pct == pytest.approx(50.0)
    assert points["patience_p2_d0.0"].emissions_saved_pct == pytest.approx(100 / 3)
    assert points["patience_p1_d0.0"].test_vs_best_val_pct == pytest.approx(100 * (0.6 - 0.85) / 0.85)
    assert points["patience_p1_d0.0"].metric_change_pct == pytest.approx(12.5)  # 0.9 vs 0.8
    # Stop-epoch weights vs last epoch: (50, +12.5) for AN-GES and p1 dominates p2 (33, +12.5) and (0, 0).
    assert {s for s, p in points.items() if p.on_front} == {ANGES, "patience_p1_d0.0"}
    # Best-so-far deployed vs best-val (hindsight): (50, -29.4) and (0, 0) are both non-dominated.
    on_deployed = {s for s, p in points.items() if p.on_deployed_front}
    assert on_deployed == {ANGES, "patience_p1_d0.0", "patience_p3_d0.0", FULL_BUDGET}
    assert not points[BEST_VAL].on_deployed_front and not points[HINDSIGHT_1PCT].on_front  # references only
    page = render_markdown(analysis)
    assert "non-dominated configs, best-so-far deployed" in page and "stop-epoch weights vs last epoch" in page


values = st.lists(st.floats(0.05, 1.0, allow_nan=False), min_size=2, max_size=12)


@settings(max_examples=150, deadline=None)
@given(values, st.data())
def test_deploy_and_hindsight_1pct_properties(val: list[float], data: st.DataObject) -> None:
    """Independent of deployed_index: the deployed epoch is the first maximum of val over 1..stop; hindsight-1%
    is never after best-val (hindsight), its checkpoint is within 1 %, and no earlier stop's checkpoint is."""
    test = data.draw(st.lists(st.floats(0.05, 1.0, allow_nan=False), min_size=len(val), max_size=len(val)))
    c = make(val, test)
    for config in (AnGesConfig(), PatienceConfig(patience=1), PatienceConfig(patience=3)):
        result = replay(c, config)
        prefix = val[: result.stop_epoch]
        assert result.deployed_epoch == prefix.index(max(prefix)) + 1
        assert result.deployed_test_metric == test[result.deployed_epoch - 1]
    best_epoch = val.index(max(val)) + 1
    reference = test[best_epoch - 1]
    found = hindsight_within_epoch(c)
    assert found is not None
    stop, deployed = found
    assert stop <= best_epoch and deployed == val[:stop].index(max(val[:stop])) + 1
    assert deployed == best_epoch or test[deployed - 1] >= reference * 0.99 - 1e-9  # 1e-9: float slack
    for earlier in range(1, stop):
        kept = val[:earlier].index(max(val[:earlier]))
        assert test[kept] < reference * 0.99 + 1e-9 and kept + 1 != best_epoch
