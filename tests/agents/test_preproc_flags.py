"""Flat names and flags after anges-pp joined the table: a shared parameter (AN-GES's ``alpha``) keeps the base's
rule when it has one (the default, anges-pp, does), else means exact AN-GES; anges-pp's own parameters select
anges-pp; ``--rule anges`` gives the exact rule; and ``monitor`` is every rule's."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from greenft.agents import ConfigError, TrialConfig
from greenft.agents.config import default_stopping
from greenft.agents.overrides import apply_overrides
from greenft.cli import app
from greenft.stopping import AnGesConfig, AnGesPPConfig, Monitor, PatienceConfig, RuleConfig


def _default(**changes: object) -> RuleConfig:
    """The default rule (agents.config.default_stopping) with some fields changed."""
    return default_stopping().model_copy(update=changes)


def test_alpha_keeps_the_default_rule_and_means_exact_anges_beside_a_rule_without_it() -> None:
    assert apply_overrides(None, {"alpha": 0.5}, "cli").stopping == _default(alpha=0.5)
    assert apply_overrides(None, {"rule": "anges", "alpha": 0.5}, "cli").stopping == AnGesConfig(alpha=0.5)
    patience_base = TrialConfig(stopping=PatienceConfig())
    assert apply_overrides(patience_base, {"alpha": 0.5, "W": 4}, "cli").stopping == AnGesConfig(alpha=0.5, warmup=4)


def test_anges_pp_is_selected_by_name_or_by_its_own_parameters() -> None:
    assert apply_overrides(None, {"smoothing": 0.5}, "cli").stopping == _default(smoothing=0.5)
    exact_base = TrialConfig(stopping=AnGesConfig())
    assert apply_overrides(exact_base, {"smoothing": 0.5}, "cli").stopping == AnGesPPConfig(smoothing=0.5)
    named = apply_overrides(exact_base, {"rule": "anges-pp", "alpha": 0.5, "deadband": True}, "cli").stopping
    assert named == AnGesPPConfig(alpha=0.5, deadband=True)
    on_default = apply_overrides(None, {"rule": "anges-pp", "deadband": True}, "cli").stopping
    assert on_default == _default(deadband=True)  # the rule did not change: the default's pre-processors stay
    pp_base = TrialConfig(stopping=AnGesPPConfig(window=3))
    assert apply_overrides(pp_base, {"alpha": 0.5}, "cli").stopping == AnGesPPConfig(window=3, alpha=0.5)


def test_monitor_is_every_rules_and_keeps_the_rule() -> None:
    assert apply_overrides(None, {"monitor": "loss"}, "cli").stopping == _default(monitor=Monitor.LOSS)
    exact = apply_overrides(None, {"rule": "anges", "monitor": "loss"}, "cli").stopping
    assert exact == AnGesConfig(monitor=Monitor.LOSS)
    patience = apply_overrides(None, {"rule": "patience", "monitor": "loss"}, "cli").stopping
    assert patience == PatienceConfig(monitor=Monitor.LOSS)
    with pytest.raises(ConfigError, match="monitor"):
        apply_overrides(None, {"monitor": "accuracy"}, "cli")


def test_an_anges_pp_parameter_beside_another_rule_is_one_line_naming_both() -> None:
    expected = r"'smoothing'.*parameter of stopping rule 'anges-pp', but the rule is 'anges'"
    with pytest.raises(ConfigError, match=expected):
        apply_overrides(None, {"rule": "anges", "smoothing": 0.5}, "cli")


def test_the_cli_refuses_a_bad_monitor_in_one_line() -> None:
    result = CliRunner().invoke(app, ["train", "--monitor", "accuracy"])
    assert result.exit_code == 2
    assert "accuracy" in result.output and "metric" in result.output and "loss" in result.output


def test_greenft_train_runs_anges_pp_from_its_flags(tmp_path: Path) -> None:
    """``--deadband --consecutive 2 --monitor loss --smoothing 0`` on the default rule: anges-pp watching the loss,
    smoothing off; a real tiny run."""
    quick = ["--dataset", "b3db", "--limit", "120", "--layers", "2", "--emb-dim", "16", "--max-epochs", "2"]
    quick += ["--wandb-mode", "disabled", "--meter", "wallclock", "--threads", "1", "--runs-dir", str(tmp_path)]
    args = ["train", "--smoothing", "0", "--deadband", "--consecutive", "2", "--monitor", "loss"]
    args += ["--warmup-fraction", "0.5", *quick]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "stopping anges-pp_a0.9_b0.2_w3_c2_dbTrue_f0.5_mloss (live mode)" in result.output
