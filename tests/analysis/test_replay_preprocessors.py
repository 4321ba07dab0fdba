"""Replay reproduces live decisions for every pre-processor: a real tiny shadow trial records anges-pp with each
pre-processor on, loss-monitoring rules and exact AN-GES side by side; the curve read back from the run's files
on disk, replayed through :func:`greenft.analysis.replay`, gives every logged per-epoch decision and AER and
every summary stop epoch."""

from __future__ import annotations

import math
from typing import Any

import pytest

from conftest import small_trial
from greenft.agents import TrialConfig, TrialResult, run_trial
from greenft.analysis import curve_from_record, read_runs, replay
from greenft.analysis.records import Curve, RunRecord
from greenft.schema import EPOCHS_FILE, read_jsonl
from greenft.stopping import (
    AnGesConfig,
    AnGesPPConfig,
    PatienceConfig,
    PatiencePPConfig,
    RuleConfig,
    parse_label,
    rule_label,
)

LIVE = AnGesPPConfig(smoothing=0.3, consecutive=2)
SHADOW: list[RuleConfig] = [
    AnGesConfig(),
    AnGesPPConfig(),
    AnGesPPConfig(smoothing=0.5),
    AnGesPPConfig(window=2),
    AnGesPPConfig(consecutive=2),
    AnGesPPConfig(deadband=True),
    AnGesPPConfig(warmup_fraction=0.5),
    AnGesPPConfig(deadband=True, monitor="loss"),
    AnGesConfig(monitor="loss"),
    PatienceConfig(patience=2, monitor="loss"),
    PatiencePPConfig(patience=2, smoothing=0.5),
]


@pytest.fixture(scope="module")
def shadow(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrialResult, RunRecord, Curve]:
    tmp = tmp_path_factory.mktemp("preproc")
    raw = small_trial(
        tmp,
        mode="shadow",
        data={"limit": 120},
        model={"num_layers": 2, "emb_dim": 16},
        optim={"max_epochs": 6},
        stopping=LIVE.model_dump(mode="json"),
        shadow_rules=[rule.model_dump(mode="json") for rule in SHADOW],
    )
    result = run_trial(TrialConfig.model_validate(raw))
    (record,) = read_runs(tmp / "runs", cache_dir=tmp / "cache")  # read back from the run's files
    return result, record, curve_from_record(record)


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def _same(logged: Any, replayed: float | None) -> bool:
    a, b = _num(logged), _num(replayed)
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-15)


def test_the_curve_carries_the_validation_loss_and_standard_errors(
    shadow: tuple[TrialResult, RunRecord, Curve],
) -> None:
    result, _, curve = shadow
    assert curve.val_loss is not None and curve.val_se is not None and curve.val_loss_se is not None
    assert curve.val_loss == tuple(e.val_loss for e in result.epochs)
    assert all(math.isfinite(v) and v > 0 for v in curve.val_loss)
    assert all(math.isfinite(v) and v > 0 for v in curve.val_loss_se)
    rows = read_jsonl(result.files_dir / EPOCHS_FILE)
    assert all(_same(row["val/roc_auc_se"], se) for row, se in zip(rows, curve.val_se, strict=True))
    assert all(_same(row["val/roc_auc_se"], e.val_metric_se) for row, e in zip(rows, result.epochs, strict=True))


def test_replay_of_every_rule_reproduces_the_logged_decisions(shadow: tuple[TrialResult, RunRecord, Curve]) -> None:
    _, record, curve = shadow
    labels = [rule_label(LIVE), *(rule_label(rule) for rule in SHADOW)]
    assert record.config["derived"]["rules"] == labels
    stops = {}
    for label in labels:
        replayed = replay(curve, parse_label(label))
        live = label == labels[0]
        decision_key, aer_key, ema_key = (
            ("stop/decision", "stop/aer", "stop/ema")
            if live
            else (f"shadow/{label}/decision", f"shadow/{label}/aer", f"shadow/{label}/ema")
        )
        for row, decision in zip(record.history, replayed.decisions, strict=False):
            assert row[decision_key] == ("stop" if decision.should_stop else "continue"), (label, row["epoch"])
            assert _same(row[aer_key], decision.aer), (label, row["epoch"], row[aer_key], decision.aer)
            assert _same(row[ema_key], decision.ema), (label, row["epoch"], row[ema_key], decision.ema)
        if live:
            reasons = [row["stop/reason"] for row in record.history[: len(replayed.decisions)]]
            assert reasons == [decision.reason for decision in replayed.decisions]
        after = record.history[len(replayed.decisions) :]
        assert all(row[decision_key] == "stopped" if live else decision_key not in row for row in after), label
        logged_stop = record.summary[f"shadow/{label}/stop_epoch"]
        assert logged_stop == (replayed.stop_epoch if replayed.triggered else None), label
        stops[label] = logged_stop
    assert stops[rule_label(AnGesPPConfig())] == stops[rule_label(AnGesConfig())]  # all off: exact AN-GES
    assert len(set(stops.values())) > 1, stops  # the pre-processors changed something on this curve
