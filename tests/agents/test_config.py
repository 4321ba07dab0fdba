from __future__ import annotations

from pathlib import Path

import pytest

from greenft.agents import ConfigError, TrialConfig, load_trial_config, parse_trial_config
from greenft.stopping import AnGesConfig, AnGesPPConfig, PatienceConfig


def test_default_rule_is_anges_with_smoothing_and_two_triggers_and_the_exact_rule_is_one_field_away() -> None:
    config = TrialConfig()
    assert isinstance(config.stopping, AnGesPPConfig)  # the frontier benchmark's pick (docs/stopping.md)
    stopping = config.stopping
    assert (stopping.alpha, stopping.beta, stopping.warmup) == (0.9, 0.2, 3)  # the draft's AN-GES parameters
    assert (stopping.smoothing, stopping.consecutive, stopping.window, stopping.deadband) == (0.6, 2, 1, False)
    assert config.deploy == "best" and config.logging.wandb_mode == "offline" and config.mode == "live"
    exact = parse_trial_config({"stopping": {"rule": "anges"}}).stopping
    assert isinstance(exact, AnGesConfig) and (exact.alpha, exact.beta, exact.warmup) == (0.9, 0.2, 3)
    assert any(isinstance(rule, AnGesConfig) for rule in config.shadow_rules)  # shadow runs record the exact rule


def test_yaml_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "trial.yaml"
    path.write_text("data:\n  dataset: freesolv\nstopping:\n  rule: patience\n  patience: 3\noptim:\n  lr: 0.0005\n")
    config = load_trial_config(path)
    assert config.data.dataset == "freesolv" and config.optim.lr == 0.0005
    assert isinstance(config.stopping, PatienceConfig) and config.stopping.patience == 3


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"stopping": {"rule": "anges", "alpha": 1.5}}, "stopping.anges.alpha = 1.5"),
        ({"stopping": {"rule": "anges", "warmup": -1}}, "stopping.anges.warmup = -1"),
        ({"stopping": {"rule": "greedy"}}, "stopping"),
        ({"optim": {"max_epochs": 0}}, "optim.max_epochs = 0"),
        ({"optim": {"learning_rate": 0.1}}, "optim.learning_rate"),
        ({"data": {"split": "temporal"}}, "data.split = 'temporal'"),
        ({"data": {"file": "x.csv"}}, "smiles_column"),
        ({"mode": "dry"}, "mode = 'dry'"),
    ],
)
def test_malformed_configs_name_field_and_value(raw: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_trial_config(raw, "sweep.yaml")
    assert "sweep.yaml" in str(err.value) and expected in str(err.value)


def test_yaml_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML"):
        load_trial_config(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_trial_config(listing)
    with pytest.raises(ConfigError, match="not found"):
        load_trial_config(tmp_path / "absent.yaml")
