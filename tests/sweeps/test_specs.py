"""Every sweep YAML in sweeps/ is a valid W&B sweep (W&B's own schema, from the `sweeps` engine) and a valid
greenft search space; broken files are rejected before any trial runs, naming the file, field and value."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from greenft.sweeps import SWEEP_COMMAND, SweepFileError, load_sweep_spec
from greenft.sweeps.controller import propose
from greenft.sweeps.spec import sweep_id_of
from greenft.sweeps.state import SweepState

SWEEPS_DIR = Path(__file__).resolve().parents[2] / "sweeps"
SWEEP_FILES = sorted(SWEEPS_DIR.glob("*.yaml"))


def test_the_sweeps_directory_has_the_required_searches() -> None:
    specs = {p.stem: load_sweep_spec(p) for p in SWEEP_FILES}
    assert {"quick", "anges-grid", "bayes-b3db", "shadow-full-budget", "seed-study"} <= set(specs)
    grid = specs["anges-grid"]
    assert grid.method == "grid"
    assert {"model", "dataset", "alpha", "beta", "W", "seed"} <= set(grid.parameter_names)
    assert specs["bayes-b3db"].method == "bayes" and specs["bayes-b3db"].metric_name == "stop/val_roc_auc"
    assert specs["shadow-full-budget"].raw["parameters"]["mode"] == {"value": "shadow"}
    assert {"lr", "batch_size", "epochs"} <= set(specs["seed-study"].parameter_names)


@pytest.mark.parametrize("path", SWEEP_FILES, ids=lambda p: p.name)
def test_every_sweep_file_passes_wandb_schema_and_greenft_checks(path: Path) -> None:
    raw = yaml.safe_load(path.read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import sweeps  # type: ignore[import-untyped]

    assert sweeps.schema_violations_from_proposed_config(raw) == []
    sweeps.SweepConfig(raw)  # raises jsonschema.ValidationError when W&B's server would refuse the file
    spec = load_sweep_spec(path)
    assert tuple(raw["command"]) == SWEEP_COMMAND  # `wandb agent` runs `python -m greenft agent key=value ...`
    assert raw.get("project") == "greenft"
    assert (SWEEPS_DIR.parent / raw["program"]).exists()  # `wandb agent` reads command["program"] even if unused
    # the engine can propose a first trial, and it is a valid trial config
    first = propose(spec, SweepState(sweep_id=spec.sweep_id, name=spec.name, method=spec.method, file="", config=raw))
    assert first is not None and first.params


def test_quick_sweep_covers_two_model_configurations_two_datasets_and_several_anges_settings() -> None:
    spec = load_sweep_spec(SWEEPS_DIR / "quick.yaml")
    state = SweepState(sweep_id=spec.sweep_id, name=spec.name, method=spec.method, file="", config=spec.raw)
    for _ in range(6):
        trial = propose(spec, state)
        assert trial is not None
        state.trials.append(trial)
    params = [t.params for t in state.trials]
    assert len({p["dataset"] for p in params}) >= 2
    assert len({(p["model"], p["num_layers"], p["emb_dim"]) for p in params}) >= 2
    assert len({(p["alpha"], p["beta"], p["W"]) for p in params}) >= 3


def _write(tmp_path: Path, body: dict[str, Any]) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"method": "grid", "parameters": {"learning_rate": {"values": [0.1]}}}, r"parameters\.learning_rate = 0\.1"),
        ({"method": "grid", "parameters": {"model": {"values": ["gin", "nope"]}}}, r"model = 'nope': unknown model"),
        ({"method": "grid", "parameters": {"dataset": {"values": ["b3dbb"]}}}, r"dataset = 'b3dbb': unknown dataset"),
        ({"method": "grid", "parameters": {"beta": {"values": [0.2, -1]}}}, r"parameters\.beta = -1"),
        ({"method": "grid", "parameters": {"alpha": {"min": 0.1, "max": 0.9}}}, "grid search needs"),
        (
            {"method": "random", "parameters": {"alpha": {"min": 0.1, "max": 2.0}}},
            r"parameters\.alpha = 1\.05 \(drawn from .*'max': 2\.0",
        ),
        ({"method": "grid", "parameters": {"optim": {"parameters": {"lr": {"value": 1}}}}}, "use dotted names"),
        ({"method": "bayes", "parameters": {"lr": {"min": 0.001, "max": 0.01}}}, "needs a metric"),
        ({"method": "grid", "parameters": {"lr": {"value": 0.1}}, "typo_key": 1}, "not a valid W&B sweep config"),
        ({"method": "hyperopt", "parameters": {"lr": {"value": 0.1}}}, "not a valid W&B sweep config"),
        (
            {"method": "grid", "metric": {"name": "accuracy"}, "parameters": {"lr": {"value": 0.1}}},
            "metric.name = 'accuracy' is not a key greenft logs",
        ),
        (
            {
                "method": "grid",
                "metric": {"name": "stop/val_roc_auc", "goal": "maximize"},
                "parameters": {"dataset": {"values": ["b3db", "freesolv"]}},
            },
            "never logged for datasets scored by rmse",
        ),
        (
            {
                "method": "grid",
                "metric": {"name": "stop/val_roc_auc", "goal": "maximize"},
                "early_terminate": {"type": "hyperband", "min_iter": 2},
                "parameters": {"lr": {"value": 0.1}},
            },
            "early_terminate needs a per-epoch metric",
        ),
        (
            {"method": "grid", "parameters": {"rule": {"value": "patience"}, "alpha": {"values": [0.5]}}},
            "the combination",
        ),
    ],
)
def test_bad_sweep_files_are_rejected_before_any_trial(tmp_path: Path, body: dict[str, Any], message: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(SweepFileError, match=message) as info:
        load_sweep_spec(path)
    assert str(path) in str(info.value)


def test_sweep_id_follows_content_not_formatting() -> None:
    a = {"name": "x", "method": "grid", "parameters": {"lr": {"values": [1, 2]}}}
    b = {"parameters": {"lr": {"values": [1, 2]}}, "method": "grid", "name": "x"}
    assert sweep_id_of(a) == sweep_id_of(b)
    assert sweep_id_of(a) != sweep_id_of({**a, "name": "y"})
    assert len(sweep_id_of(a)) == 8
