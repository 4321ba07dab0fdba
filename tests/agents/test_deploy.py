"""Deployed weights: the file a run saves holds the weights of the epoch its summary names, and those weights,
loaded into a freshly built model and scored with greenft's own evaluate(), give that epoch's logged test metric.

Tiny real trials (ESOL, 120 molecules, 2x16 GIN, lr 0.02: validation RMSE jumps around, so patience 2 stops a
few epochs after the best one). Every expectation is derived from the logged curve, never hard-coded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from conftest import small_trial
from greenft.agents import TrialConfig, run_trial
from greenft.agents.config import ConfigError
from greenft.agents.deploy import DEPLOYED_KEYS, DeployKeeper, EpochWeights
from greenft.agents.fit import TargetScaler, evaluate
from greenft.agents.trial import EpochRecord, TrialContext, TrialResult, load_data
from greenft.models import get_family
from greenft.schema import (
    DEPLOYED_MODEL_FILE,
    EPOCHS_FILE,
    SPLIT_FILE,
    Deploy,
    Point,
    point_key,
    read_jsonl,
    read_summary,
    shadow_key,
    shadow_stop_epochs,
)
from greenft.schema.summary import AT_EPOCH, AT_TEST, AT_VAL, SHADOW_DEPLOYED_EPOCH, SHADOW_DEPLOYED_TEST
from greenft.stopping import MetricDirection
from greenft.sweeps.params import trial_config_from_sweep

METRIC = "rmse"
ESOL: dict[str, Any] = {
    "data": {"dataset": "esol", "limit": 120},
    "model": {"num_layers": 2, "emb_dim": 16, "dropout": 0.0},
    "optim": {"max_epochs": 10, "batch_size": 64, "lr": 0.02},
    "stopping": {"rule": "patience", "patience": 2},
    "tracking": {"meter": "wallclock"},
}


def esol_trial(tmp: Path, **changes: Any) -> TrialConfig:
    return TrialConfig.model_validate(small_trial(tmp, **{**ESOL, **changes}))


@pytest.fixture(scope="module")
def best_run(tmp_path_factory: pytest.TempPathFactory) -> TrialResult:
    return run_trial(esol_trial(tmp_path_factory.mktemp("best")))


@pytest.fixture(scope="module")
def last_run(tmp_path_factory: pytest.TempPathFactory) -> TrialResult:
    return run_trial(esol_trial(tmp_path_factory.mktemp("last"), deploy="last"))


def logged(result: TrialResult) -> list[dict[str, Any]]:
    return read_jsonl(result.files_dir / EPOCHS_FILE)


def best_val_epoch(rows: list[dict[str, Any]], end_epoch: int) -> int:
    """The lowest validation RMSE among epochs 1..end_epoch (ties: earliest), computed here from the log."""
    return min((row[f"val/{METRIC}"], row["epoch"]) for row in rows if row["epoch"] <= end_epoch)[1]


def saved(result: TrialResult) -> dict[str, Any]:
    payload = torch.load(result.files_dir / DEPLOYED_MODEL_FILE, weights_only=True)
    assert isinstance(payload, dict) and set(payload) == set(DEPLOYED_KEYS)
    return payload


def read_split(files_dir: Path) -> dict[str, np.ndarray]:
    raw = json.loads((files_dir / SPLIT_FILE).read_text())
    return {part: np.asarray(indices, dtype=int) for part, indices in raw.items()}


def rebuilt_test_score(result: TrialResult, config: TrialConfig, state_dict: dict[str, torch.Tensor]) -> float:
    """The test metric of ``state_dict`` loaded into a freshly built model of ``config``, scored with greenft's
    own evaluate() on the test split the run wrote to its files (targets scaled by the training split)."""
    split = read_split(result.files_dir)
    molecules = load_data(config)
    family = get_family(config.model.name)
    items = family.encode(molecules.smiles, molecules.labels)
    torch.manual_seed(config.seed + 1)  # other initial weights than the run's: only the loaded ones may count
    model = family.build(config.model, molecules.num_tasks).model
    model.load_state_dict(state_dict)
    task = molecules.spec.task_type
    scaler = TargetScaler.fit(molecules.labels[split["train"]], task)
    loader = family.loader([items[i] for i in split["test"]], config.optim.batch_size, shuffle=False)
    return evaluate(model, loader, task, molecules.spec.metric, scaler, torch.device("cpu"))


# ----------------------------------------------------------------------------------------- deploy: best


def test_a_stopped_run_saves_the_best_validation_epoch_so_far(best_run: TrialResult) -> None:
    rows, s = logged(best_run), best_run.summary
    stop = s[point_key(Point.STOP, AT_EPOCH)]
    assert s["stop/triggered"] is True and stop == rows[-1]["epoch"] == best_run.stop_epoch
    expected = best_val_epoch(rows, stop)
    assert expected < stop  # patience stops after non-improving epochs: the test needs best != last
    payload = saved(best_run)
    assert payload["epoch"] == s[point_key(Point.DEPLOYED, AT_EPOCH)] == expected
    assert (payload["deploy"], payload["metric"]) == ("best", METRIC)
    row = rows[expected - 1]
    assert payload["val_metric"] == s[point_key(Point.DEPLOYED, AT_VAL, METRIC)] == row[f"val/{METRIC}"]
    assert payload["test_metric"] == s[point_key(Point.DEPLOYED, AT_TEST, METRIC)] == row[f"test/{METRIC}"]
    assert s[point_key(Point.STOP, AT_TEST, METRIC)] == rows[-1][f"test/{METRIC}"] != row[f"test/{METRIC}"]


def test_the_saved_weights_score_the_logged_test_metric(best_run: TrialResult) -> None:
    config = esol_trial(Path("unused"))
    payload = saved(best_run)
    score = rebuilt_test_score(best_run, config, payload["state_dict"])
    # the same float: the same weights scored on the same batches
    assert score == best_run.summary[point_key(Point.DEPLOYED, AT_TEST, METRIC)]
    assert score != pytest.approx(best_run.summary[point_key(Point.STOP, AT_TEST, METRIC)], rel=1e-6)


# ----------------------------------------------------------------------------------------- deploy: last


def test_deploy_last_saves_the_stop_epochs_weights(best_run: TrialResult, last_run: TrialResult) -> None:
    rows = logged(last_run)
    # the policy changes what is saved, never what is trained: the same seed gives the same curve
    assert [r[f"val/{METRIC}"] for r in rows] == [r[f"val/{METRIC}"] for r in logged(best_run)]
    s, payload = last_run.summary, saved(last_run)
    stop = s[point_key(Point.STOP, AT_EPOCH)]
    assert payload["epoch"] == s[point_key(Point.DEPLOYED, AT_EPOCH)] == stop == rows[-1]["epoch"]
    assert payload["deploy"] == "last"
    config = esol_trial(Path("unused"), deploy="last")
    score = rebuilt_test_score(last_run, config, payload["state_dict"])
    assert score == rows[-1][f"test/{METRIC}"]


# ------------------------------------------------------------------------------------------- shadow mode


def test_shadow_summary_names_what_each_rule_would_deploy(tmp_path: Path) -> None:
    shadow_rules = [{"rule": "patience", "patience": 1}, {"rule": "patience", "patience": 2}, {"rule": "none"}]
    config = esol_trial(tmp_path, mode="shadow", optim={**ESOL["optim"], "max_epochs": 6}, shadow_rules=shadow_rules)
    result = run_trial(config)
    rows, s = logged(result), read_summary(result.run_path)
    assert s is not None and len(rows) == 6
    stops = shadow_stop_epochs(s)
    assert set(stops) == {"patience_p2_d0.0", "patience_p1_d0.0", "none"}
    for label, stop in stops.items():
        end = stop if stop is not None else rows[-1]["epoch"]
        expected = best_val_epoch(rows, end)
        assert s[shadow_key(SHADOW_DEPLOYED_EPOCH, label)] == expected, label
        assert s[shadow_key(SHADOW_DEPLOYED_TEST, label, METRIC)] == rows[expected - 1][f"test/{METRIC}"], label
    # training ended at the full budget: the saved weights are the best validation epoch of all six
    full_best = best_val_epoch(rows, 6)
    assert s[point_key(Point.DEPLOYED, AT_EPOCH)] == saved(result)["epoch"] == full_best
    assert s[point_key(Point.BEST, AT_EPOCH)] == full_best


# ------------------------------------------------------------------------------------------- interrupted


@pytest.mark.parametrize(
    ("error", "status"), [(KeyboardInterrupt, "interrupted"), (RuntimeError, "failed")], ids=["interrupt", "failure"]
)
def test_an_interrupted_or_failed_run_saves_the_best_epoch_it_had(
    tmp_path: Path, error: type[BaseException], status: str
) -> None:
    def end_at_three(record: EpochRecord, context: TrialContext) -> None:
        if record.epoch == 3:
            raise error("ended by the test")

    with pytest.raises(error):
        run_trial(esol_trial(tmp_path), on_epoch=end_at_three)
    (files_dir,) = {p.parent for p in (tmp_path / "runs").rglob(EPOCHS_FILE)}
    rows, summary = read_jsonl(files_dir / EPOCHS_FILE), read_summary(files_dir)
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert summary is not None and summary["status"] == status
    payload = torch.load(files_dir / DEPLOYED_MODEL_FILE, weights_only=True)
    assert payload["epoch"] == summary[point_key(Point.DEPLOYED, AT_EPOCH)] == best_val_epoch(rows, 3)
    assert payload["test_metric"] == rows[payload["epoch"] - 1][f"test/{METRIC}"]
    assert not [p for p in files_dir.iterdir() if p.name.endswith(".tmp")]


# ------------------------------------------------------------------------------------------- the keeper


def test_the_keeper_copies_the_weights_only_when_the_deployed_epoch_moves() -> None:
    model = nn.Linear(2, 1)
    keeper = DeployKeeper(Deploy.BEST, MetricDirection.MAXIMIZE)
    curve: list[float] = []
    weights: list[torch.Tensor] = []
    for epoch, val in enumerate([0.5, 0.7, 0.6, 0.7, float("nan")], start=1):
        with torch.no_grad():
            model.weight.fill_(float(epoch))  # the "training" of this epoch
        curve.append(val)
        weights.append(model.weight.detach().clone())
        keeper.observe(EpochWeights(model), curve)
    assert keeper.index == 1  # epoch 2: 0.7; the later tie and the NaN do not move it
    assert keeper.state is not None
    assert torch.equal(keeper.state["weight"], weights[1])  # a copy: later epochs did not change it
    assert not torch.equal(keeper.state["weight"], model.weight)


def test_deploy_is_a_sweep_parameter_and_a_bad_value_names_the_field() -> None:
    assert trial_config_from_sweep({"deploy": "last"}).deploy is Deploy.LAST
    assert TrialConfig().deploy is Deploy.BEST
    with pytest.raises(ConfigError, match=r"deploy = 'worst': Input should be 'best' or 'last'"):
        trial_config_from_sweep({"deploy": "worst"})
