from __future__ import annotations

import pytest

from greenft.agents import ConfigError, TrialConfig
from greenft.agents.config import default_stopping
from greenft.stopping import AnGesConfig, PatienceConfig
from greenft.sweeps import trial_config_from_sweep


def test_flat_sweep_parameters_map_onto_the_trial_config() -> None:
    config = trial_config_from_sweep(
        {"model": "gin", "dataset": "bbbp", "alpha": 0.5, "beta": 0.1, "W": 4, "seed": 2, "lr": 3e-4, "epochs": 7}
    )
    assert config.data.dataset == "bbbp" and config.seed == 2
    assert config.optim.lr == 3e-4 and config.optim.max_epochs == 7
    assert config.stopping == default_stopping().model_copy(update={"alpha": 0.5, "beta": 0.1, "warmup": 4})
    exact = trial_config_from_sweep({"rule": "anges", "alpha": 0.5, "beta": 0.1, "W": 4})
    assert exact.stopping == AnGesConfig(alpha=0.5, beta=0.1, warmup=4)


def test_dotted_paths_and_rule_switch() -> None:
    base = TrialConfig.model_validate({"stopping": {"rule": "anges", "alpha": 0.7}})
    config = trial_config_from_sweep({"patience": 3, "optim.weight_decay": 0.01}, base=base)
    assert config.stopping == PatienceConfig(patience=3)
    assert config.optim.weight_decay == 0.01


def test_unknown_parameter_is_named() -> None:
    with pytest.raises(ConfigError, match="unknown sweep parameter 'learning_rate'"):
        trial_config_from_sweep({"learning_rate": 0.1})


def test_invalid_value_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"stopping\.anges-pp\.beta = -1"):
        trial_config_from_sweep({"beta": -1})
