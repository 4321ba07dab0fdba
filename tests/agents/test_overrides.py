"""The one merge path and alias table shared by ``greenft train`` and the sweeps (greenft.agents.overrides)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_args

import pytest
import typer
from pydantic import BaseModel
from typer.testing import CliRunner

from greenft.agents import ConfigError, TrialConfig
from greenft.agents.overrides import (
    apply_overrides,
    field_at,
    flat_names,
    overrides,
    parse_assignments,
    resolve,
    value_type,
)
from greenft.cli import app
from greenft.models.config import EncoderSize
from greenft.pretrain.recipes import RECIPES, Preset, PretrainSettings
from greenft.stopping import AnGesConfig, FullBudgetConfig, PatienceConfig
from greenft.sweeps import FLAT_NAMES, trial_config_from_sweep
from greenft.tracking.config import TrackingConfig

runner = CliRunner()


def _options(command: str) -> dict[str, list[str]]:
    """``{parameter name: its option strings}`` of a ``greenft`` command, as click parses them."""
    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    return {p.name: [*p.opts, *p.secondary_opts] for p in click_command.params}


def _leaf_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    paths: list[str] = []
    for name, info in model.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel) and name != "stopping":
            paths += _leaf_paths(kind, f"{prefix}{name}.")
        else:
            paths.append(f"{prefix}{name}")
    return paths


# ------------------------------------------------------------------------------------------- the table


def test_train_flags_and_sweep_names_are_the_same_table() -> None:
    table = overrides()
    options = _options("train")
    assert set(options) == {row.name for row in table} | {"config_file", "assignments"}
    for row in table:
        expected = [row.switch.on, row.switch.off] if row.switch else [row.flag]
        assert options[row.name] == expected, row
    assert options["assignments"] == ["--set"] and options["config_file"] == ["--config"]
    names = flat_names()
    assert all(names[row.name] == row.path for row in table)
    assert names == FLAT_NAMES  # the sweeps' names, built-in rules only
    # the spellings sweep files already use stay valid, but each field has one flag on the command line
    assert (names["W"], names["epochs"], names["num_layers"]) == (
        "stopping.warmup",
        "optim.max_epochs",
        "model.num_layers",
    )
    assert len({row.path for row in table}) == len(table)


def test_every_flag_and_flat_name_points_at_a_real_field() -> None:
    for path in flat_names().values():
        field_at(path)  # raises ConfigError when a row names no field


def test_choice_flags_list_their_choices_and_refuse_other_values() -> None:
    assert get_args(value_type("stopping.rule")) == (
        "anges",
        "anges-pp",
        "patience",
        "patience-pp",
        "none",
        "co2budget",
    )
    assert get_args(value_type("device")) == ("auto", "cpu", "cuda")
    assert get_args(value_type("model.checkpoint_format")) == ("auto", "greenft", "hu2020", "molclr")
    assert value_type("data.limit") is int and value_type("model.checkpoint") is Path
    help_text = " ".join(runner.invoke(app, ["train", "--help"], env={"COLUMNS": "200"}).output.split())
    assert "--rule <anges|anges-pp|patience|patience-pp|none|co2budget>" in help_text
    assert "--meter <codecarbon|wallclock>" in help_text
    for flag, value in (("--rule", "greedy"), ("--wandb-mode", "loud"), ("--checkpoint-format", "onnx")):
        result = runner.invoke(app, ["train", flag, value], env={"COLUMNS": "200"})
        assert result.exit_code == 2 and "Invalid value" in result.output, (flag, result.output)


# ------------------------------------------------------------------------------------------- merging


def test_a_rule_parameter_on_another_rules_base_switches_rule_and_drops_the_old_fields() -> None:
    anges = TrialConfig.model_validate({"seed": 1, "stopping": {"rule": "anges", "alpha": 0.7}})
    assert apply_overrides(anges, {"patience": 3}, "cli").stopping == PatienceConfig(patience=3)
    assert apply_overrides(anges, {"rule": "none"}, "cli").stopping == FullBudgetConfig()
    assert apply_overrides(anges, {"stopping.rule": "none"}, "cli").stopping == FullBudgetConfig()
    assert apply_overrides(anges, {"beta": 0.1}, "cli").stopping == AnGesConfig(alpha=0.7, beta=0.1)
    assert apply_overrides(anges, {"rule": "anges"}, "cli").stopping == AnGesConfig(alpha=0.7)
    patience = TrialConfig.model_validate({"stopping": {"rule": "patience", "patience": 3}})
    merged = apply_overrides(patience, {"min_delta": 0.1}, "cli")
    assert merged.stopping == PatienceConfig(patience=3, min_delta=0.1)
    skip = apply_overrides(patience, {"stopping.on_non_finite_metric": "skip"}, "cli")
    assert skip.stopping == PatienceConfig(patience=3, on_non_finite_metric="skip")
    assert apply_overrides(anges, {"alpha": 0.5}, "cli").seed == 1  # the rest of the base stays


def test_flags_and_sweeps_build_the_same_config() -> None:
    values = {"dataset": "bbbp", "lr": 3e-4, "W": 4, "alpha": 0.5, "optim.weight_decay": 0.01, "mode": "shadow"}
    assert apply_overrides(None, values, "cli") == trial_config_from_sweep(values)


def test_mixed_rules_and_bad_values_name_the_field() -> None:
    with pytest.raises(ConfigError, match=r"stopping\.patience\.alpha"):
        apply_overrides(None, {"rule": "patience", "alpha": 0.5}, "cli")
    with pytest.raises(ConfigError, match=r"^invalid trial config \(cli\): optim\.lr = 2: [^\n]*$"):  # one line
        apply_overrides(None, {"lr": 2}, "cli")


def test_a_data_file_without_a_dataset_name_means_that_file() -> None:
    config = apply_overrides(None, {"data_file": "x.csv", "smiles_column": "s", "target_column": ["y"]}, "cli")
    assert config.data.dataset == "file" and config.data.file == Path("x.csv")


def test_section_values_and_paths_merge() -> None:
    config = apply_overrides(None, {"limit": 50, "data": {"dataset": "esol"}, "data.split": "random"}, "cli")
    assert (config.data.dataset, config.data.limit, config.data.split.value) == ("esol", 50, "random")


# ------------------------------------------------------------------------------------------------ --set


def test_set_reaches_every_trial_config_field() -> None:
    defaults = TrialConfig().model_dump(mode="json")
    stopping_paths = [f"stopping.{name}" for name in defaults["stopping"]]
    paths = [p for p in _leaf_paths(TrialConfig) if p != "stopping"] + stopping_paths
    assert len(paths) > 40
    for path in paths:
        node: Any = defaults
        for part in path.split("."):
            node = node[part]
        assert resolve(path) == path
        assert apply_overrides(None, {path: node}, "--set") == TrialConfig(), path


def test_set_values_are_yaml_scalars() -> None:
    values = parse_assignments(
        ["optim.lr=1e-3", "data.split_fractions=[0.7, 0.2, 0.1]", "logging.tags=[a, b]", "data.limit=", "seed=7"]
    )
    assert values == {
        "optim.lr": "1e-3",  # YAML 1.1 reads this as text; pydantic then parses the number
        "data.split_fractions": [0.7, 0.2, 0.1],
        "logging.tags": ["a", "b"],
        "data.limit": None,
        "seed": 7,
    }
    config = apply_overrides(None, values, "--set")
    assert config.optim.lr == 1e-3 and config.data.split_fractions == (0.7, 0.2, 0.1) and config.seed == 7
    assert parse_assignments(["lr=0.5"]) == {"optim.lr": 0.5}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("optim.lrr=0.1", "unknown setting 'optim.lrr': optim has no field 'lrr' (it has lr, "),
        ("optim.lr.x=1", "unknown setting 'optim.lr.x': optim.lr is a value, it has no field 'x'"),
        ("stopping.gamma=1", "unknown setting 'stopping.gamma': stopping has no field 'gamma'"),
        ("learning_rate=1", "unknown setting 'learning_rate': the trial config has no field 'learning_rate'"),
        ("optim.lr", "--set 'optim.lr': expected dotted.path=value"),
    ],
)
def test_set_names_an_unknown_path_in_one_line_and_exits_2(item: str, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        parse_assignments([item])
    result = runner.invoke(app, ["train", "--set", item], env={"COLUMNS": "400"})
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


# ------------------------------------------------------------------------------------------- pretraining


def test_pretraining_settings_reuse_the_model_and_tracking_fields() -> None:
    for shared in (EncoderSize, TrackingConfig):
        assert issubclass(PretrainSettings, shared)
        for name, info in shared.model_fields.items():
            assert PretrainSettings.model_fields[name].default == info.default
            assert PretrainSettings.model_fields[name].metadata == info.metadata
    assert all(set(recipe.presets) == set(get_args(Preset)) for recipe in RECIPES.values())


def test_pretrain_spells_shared_settings_as_train_does() -> None:
    train_flag = {row.path.rsplit(".", 1)[-1]: row.flag for row in overrides() if "." in row.path}
    options = {opt for opts in _options("pretrain").values() for opt in opts}
    for field in (*EncoderSize.model_fields, *TrackingConfig.model_fields, "threads"):
        spellings = {f"--{field.replace('_', '-')}", train_flag.get(field, f"--{field.replace('_', '-')}")}
        used = spellings & options
        assert used <= {train_flag.get(field, f"--{field.replace('_', '-')}")}, (field, used)
    assert {"--layers", "--emb-dim", "--heads", "--max-length", "--country", "--meter"} <= options
    result = runner.invoke(app, ["pretrain", "smiles-mlm", "--preset", "tpu"], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "Invalid value" in result.output
