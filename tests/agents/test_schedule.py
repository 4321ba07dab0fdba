"""``optim.lr_schedule``: the Noam curve's shape computed by hand, a real optimiser following it, a real trial
recording the schedule it trained with (the family's default when the config names none)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from conftest import small_trial
from greenft.agents import TrialConfig, run_trial
from greenft.agents.schedule import lr_factor, make_lr_scheduler, resolve_lr_schedule
from greenft.cli import app
from greenft.schema import CONFIG_FILE

SHAPE = {"steps_per_epoch": 10, "max_epochs": 5, "warmup_epochs": 2.0, "start_ratio": 0.1, "end_ratio": 0.1}


def test_noam_warms_up_linearly_then_decays_exponentially_to_the_end_ratio_at_the_budget() -> None:
    # 20 warm-up steps from 0.1 to 1, then 30 decay steps from 1 to 0.1: by hand 0.1 * 10 ** (-k / 30) ... inverted
    assert lr_factor(0, "noam", **SHAPE) == pytest.approx(0.1)
    assert lr_factor(10, "noam", **SHAPE) == pytest.approx(0.55)
    assert lr_factor(20, "noam", **SHAPE) == pytest.approx(1.0)
    assert lr_factor(35, "noam", **SHAPE) == pytest.approx(10 ** (-15 / 30))
    assert lr_factor(50, "noam", **SHAPE) == pytest.approx(0.1)
    assert lr_factor(80, "noam", **SHAPE) == pytest.approx(0.1)  # past the budget it stays at the floor
    assert all(lr_factor(step, "constant", **SHAPE) == 1.0 for step in range(60))


def test_a_torch_optimiser_follows_the_factor_step_by_step() -> None:
    weight = torch.nn.Parameter(torch.zeros(3))
    optimizer = torch.optim.Adam([weight], lr=1e-3)
    scheduler = make_lr_scheduler(optimizer, "noam", **SHAPE)
    seen = []
    for _ in range(50):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert seen == pytest.approx([1e-3 * lr_factor(step, "noam", **SHAPE) for step in range(50)])
    assert seen.index(max(seen)) == 20


def test_unset_schedule_is_the_family_default_and_a_set_one_wins() -> None:
    assert resolve_lr_schedule(None, "noam") == "noam"
    assert resolve_lr_schedule("constant", "noam") == "constant"
    assert resolve_lr_schedule(None, "constant") == "constant"


def test_a_trial_records_the_schedule_it_trained_with_and_noam_changes_training(tmp_path: Path) -> None:
    losses = {}
    for schedule in (None, "noam"):
        optim = {"max_epochs": 2, "batch_size": 64, **({"lr_schedule": schedule} if schedule else {})}
        result = run_trial(TrialConfig.model_validate(small_trial(tmp_path / str(schedule), optim=optim)))
        recorded = json.loads((result.files_dir / CONFIG_FILE).read_text())["optim"]["lr_schedule"]
        assert recorded == (schedule or "constant")  # gin's default
        losses[schedule] = [record.train_loss for record in result.epochs]
    assert all(math.isfinite(v) for v in losses["noam"])
    assert losses["noam"][0] != pytest.approx(losses[None][0], rel=1e-6)  # first epoch at a tenth of the lr


def test_bad_schedule_is_one_line_naming_the_field(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["train", "--lr-schedule", "cosine", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "lr_schedule" in result.output or "lr-schedule" in result.output
    assert "cosine" in result.output
