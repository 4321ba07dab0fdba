"""``loss`` and ``optimizer`` as sweep parameters: the checker takes them, each proposed trial carries them into
its trial config, and a loss that does not fit the sweep's dataset is refused naming the combination."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from greenft.sweeps import SweepFileError, load_sweep_spec
from greenft.sweeps.controller import propose
from greenft.sweeps.params import trial_config_from_sweep
from greenft.sweeps.state import SweepState

SWEEPS_DIR = Path(__file__).resolve().parents[2] / "sweeps"
COMMAND = ["${env}", "python", "-m", "greenft", "agent", "${args_no_hyphens}"]


def _sweep(tmp_path: Path, parameters: dict[str, object]) -> Path:
    raw = {"name": "t", "project": "greenft", "program": "src/greenft/__main__.py", "method": "grid"}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({**raw, "parameters": parameters, "command": COMMAND}))
    return path


def test_the_descriptor_loss_grid_proposes_every_loss_and_optimizer() -> None:
    spec = load_sweep_spec(SWEEPS_DIR / "descriptors-loss.yaml")
    state = SweepState(sweep_id=spec.sweep_id, name=spec.name, method=spec.method, file="", config=spec.raw)
    seen = set()
    while (trial := propose(spec, state)) is not None:
        state.trials.append(trial)
        config = trial_config_from_sweep(trial.params)
        assert config.data.dataset == "desc-logp" and config.optim.weight_decay == 0.01
        seen.add((config.optim.loss, config.optim.optimizer))
    assert seen == {(loss, opt) for loss in ("mse", "l1", "huber") for opt in ("adam", "adamw")}
    assert len(state.trials) == 18  # 3 losses x 2 optimisers x 3 seeds


def test_a_regression_loss_on_a_classification_set_is_refused_naming_the_combination(tmp_path: Path) -> None:
    path = _sweep(tmp_path, {"dataset": {"values": ["bbbp"]}, "loss": {"values": ["l1", "huber"]}})
    with pytest.raises(SweepFileError, match=r"combination dataset='bbbp', loss='l1'.*does not fit dataset bbbp"):
        load_sweep_spec(path)
    path = _sweep(tmp_path, {"dataset": {"value": "esol"}, "optimizer": {"values": ["adamw", "sgd"]}})
    with pytest.raises(SweepFileError, match=r"parameters.optimizer = 'sgd'"):
        load_sweep_spec(path)
