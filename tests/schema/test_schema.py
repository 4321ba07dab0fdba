"""The schema's builders on real epoch records and real stopping rules, the JSON codec and the key catalog."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from greenft.agents.trial import EpochRecord
from greenft.schema import (
    Decision,
    Point,
    SummaryFacts,
    build_summary,
    decode_floats,
    epoch_row,
    find_key,
    history_kinds,
    key,
    match_template,
    point_key,
    shadow_key,
    shadow_stop_epochs,
    summary_kinds,
    to_json_value,
)
from greenft.schema.history import AER, DECISION, PHASE, SHADOW_DECISION
from greenft.schema.summary import (
    AT_EPOCH,
    AT_TEST,
    AT_VAL,
    SHADOW_EMISSIONS,
    SHADOW_REASON,
    SHADOW_STOP_EPOCH,
    STOP_EXTERNAL,
    STOP_REASON,
    TOTAL_CLAMPED_READINGS,
    TOTAL_EPOCHS,
)
from greenft.stopping import EpochObservation, FullBudget, MetricDirection, Patience, StoppingRule
from greenft.tracking import EmissionReading

VAL = [0.6, 0.7, 0.65, 0.66, 0.64]
TEST = [0.55, 0.72, 0.7, 0.69, 0.71]
LIVE, OTHER = "patience_p1_d0.0", "none"


def train(rules: dict[str, StoppingRule], epochs: int = len(VAL)) -> list[EpochRecord]:
    """What the trainer does per epoch in shadow mode: feed every rule that has not stopped, keep the record."""
    records = []
    for i, (val, test) in enumerate(zip(VAL[:epochs], TEST[:epochs], strict=True), start=1):
        fit = EmissionReading(1e-6 * i, 2e-6 * i, 10.0 * i)
        observation = EpochObservation(i, val, fit.emissions_kg)
        decisions = {label: rule.update(observation) for label, rule in rules.items() if not rule.stopped}
        test_eval = EmissionReading(1e-7 * i, 2e-7 * i, 1.0 * i)
        records.append(EpochRecord(i, 1.0 / i, val, test, fit, test_eval, decisions))
    return records


@pytest.fixture
def shadow_run() -> tuple[list[EpochRecord], dict[str, StoppingRule]]:
    rules: dict[str, StoppingRule] = {
        LIVE: Patience(MetricDirection.MAXIMIZE, patience=1),
        OTHER: FullBudget(MetricDirection.MAXIMIZE),
    }
    return train(rules), rules


def facts(records: list[EpochRecord], rules: dict[str, StoppingRule], **changes: Any) -> SummaryFacts:
    base: dict[str, Any] = {
        "status": "finished",
        "mode": "shadow",
        "metric": "roc_auc",
        "live_label": LIVE,
        "epochs": records,
        "rules": rules,
        "clamped_readings": 2,
        "meter": {"meter": "wall-clock", "note": "no power measured"},
    }
    return SummaryFacts(**{**base, **changes})


def test_keys_fill_and_parse() -> None:
    assert key("val/{metric}", "rmse") == "val/rmse"
    assert point_key(Point.BEST, AT_VAL, "mae") == "best/val_mae"
    assert shadow_key(SHADOW_STOP_EPOCH, "anges_a0.9_b0.2_w3") == "shadow/anges_a0.9_b0.2_w3/stop_epoch"
    assert match_template("shadow/anges_a0.9_b0.2_w3/val_rmse", "shadow/{rule}/val_{metric}") == {
        "rule": "anges_a0.9_b0.2_w3",
        "metric": "rmse",
    }
    assert match_template("val/recall", "val/{metric}") is None  # a metric greenft does not log
    assert match_template("val/accuracy", "val/{metric}") == {"metric": "accuracy"}  # one it logs (extra_metrics)
    assert match_template("shadow/a/b/aer", "shadow/{rule}/aer") is None  # labels hold no slash


def test_epoch_rows_follow_the_live_rule_and_the_shadow_rules(shadow_run: Any) -> None:
    records, rules = shadow_run
    stop = rules[LIVE].stopped_epoch
    assert stop is not None and 2 < stop < len(VAL)  # patience 1 stops after the first non-improving epoch
    rows = [epoch_row(r, "roc_auc", LIVE) for r in records]
    for row in rows:
        assert {find_key(name) is not None for name in row} == {True}, row
        assert set(row) >= {key(t, "roc_auc") for t, _ in history_kinds() if "{rule}" not in t}
    assert rows[0]["val/roc_auc"] == VAL[0] and rows[0]["emissions/test_eval_cumulative_kg"] == pytest.approx(1e-7)
    assert math.isnan(rows[0][AER])  # epoch 1: no AER
    assert rows[stop - 1][DECISION] == Decision.STOP
    after = rows[stop]  # the live rule stopped: shadow mode trains on and says so
    assert (after[DECISION], after[PHASE]) == ("stopped", "stopped") and math.isnan(after[AER])
    assert after[shadow_key(SHADOW_DECISION, OTHER)] == Decision.CONTINUE
    assert shadow_key(SHADOW_DECISION, LIVE) not in after


def test_summary_points_totals_and_shadow_rules(shadow_run: Any) -> None:
    records, rules = shadow_run
    stop = rules[LIVE].stopped_epoch
    s = build_summary(facts(records, rules))
    assert {find_key(name) is not None for name in s} == {True}
    assert s[point_key(Point.STOP, AT_EPOCH)] == stop and s["stop/triggered"] is True
    assert s[point_key(Point.STOP, AT_VAL, "roc_auc")] == VAL[stop - 1]
    assert s[point_key(Point.BEST, AT_EPOCH)] == 2 and s[point_key(Point.ORACLE, AT_EPOCH)] == 2
    assert s[point_key(Point.FULL, AT_TEST, "roc_auc")] == TEST[-1]
    assert s[TOTAL_EPOCHS] == 5 and s[TOTAL_CLAMPED_READINGS] == 2 and s["meter"] == "wall-clock"
    assert s[STOP_REASON] == rules[LIVE].stop_reason
    assert shadow_stop_epochs(s) == {LIVE: stop, OTHER: None}
    assert s[shadow_key(SHADOW_REASON, OTHER)] == "never stopped"
    assert s[shadow_key(SHADOW_EMISSIONS, OTHER)] == records[-1].fit.emissions_kg
    assert STOP_EXTERNAL not in s


def test_summary_without_epochs_and_with_an_external_stop(shadow_run: Any) -> None:
    _, rules = shadow_run
    empty = build_summary(facts([], rules, status="failed", mode="live"))
    assert set(empty) == {"status", "mode", "metric", "stop/rule", "meter", "meter/note"}
    assert empty["status"] == "failed"
    patience: dict[str, StoppingRule] = {LIVE: Patience(MetricDirection.MAXIMIZE, patience=1)}
    two = train(patience, epochs=2)  # ended by a sweep controller after epoch 2, before the rule fired
    live = build_summary(facts(two, patience, mode="live", external_stop="hyperband: below the median"))
    assert live[STOP_REASON] == "hyperband: below the median" and live[STOP_EXTERNAL] is True
    assert live[point_key(Point.STOP, AT_EPOCH)] == 2 and live["stop/triggered"] is False
    assert point_key(Point.FULL, AT_EPOCH) not in live and shadow_stop_epochs(live) == {}
    budget: dict[str, StoppingRule] = {LIVE: FullBudget(MetricDirection.MAXIMIZE)}
    ran = train(budget, epochs=2)
    ended = build_summary(facts(ran, budget, mode="live"))
    assert ended[STOP_REASON] == "epoch budget reached" and ended["stop/triggered"] is False
    interrupted = build_summary(facts(ran, budget, mode="live", status="preempted"))
    assert interrupted[STOP_REASON] == "interrupted"


def same(a: Any, b: Any) -> bool:
    return (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)) or a == b


def test_json_round_trip_gives_the_numbers_back(shadow_run: Any) -> None:
    records, rules = shadow_run
    rows = [epoch_row(r, "roc_auc", LIVE) for r in records]
    rows[1]["train/loss"] = math.inf
    summary = build_summary(facts(records, rules))
    for original, kinds in [*((row, history_kinds()) for row in rows), (summary, summary_kinds())]:
        text = json.dumps(to_json_value(original), allow_nan=False)  # strict JSON: no NaN or Infinity
        written = json.loads(text)
        back = decode_floats(written, kinds)
        assert set(back) == set(original)
        assert all(same(back[k], original[k]) for k in original), original
    assert decode_floats({"shadow/none/stop_epoch": None}, summary_kinds()) == {"shadow/none/stop_epoch": None}
