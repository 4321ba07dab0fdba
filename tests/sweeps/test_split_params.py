"""Split sources as sweep parameters (issue 15, 6a): ``split_file`` / ``data.test_file`` go through the one alias
table and merge (greenft.agents.overrides), so a sweep over split files is checked like any other parameter."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from greenft.agents.config import TrialConfig, parse_trial_config
from greenft.sweeps import SweepFileError, load_sweep_spec
from greenft.sweeps.controller import propose
from greenft.sweeps.params import trial_config_from_sweep
from greenft.sweeps.state import SweepState


def _sweep(tmp_path: Path, parameters: dict[str, object]) -> Path:
    body = {"method": "grid", "metric": {"name": "stop/val_rmse", "goal": "minimize"}, "parameters": parameters}
    path = tmp_path / "splits.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


def _base(tmp_path: Path) -> TrialConfig:
    """A base config on the user's file (as ``greenft sweep --config``): each parameter is checked on top of it."""
    data = {"file": str(tmp_path / "main.csv"), "smiles_column": "smiles", "target_columns": ["y"]}
    return parse_trial_config({"data": data})


def test_a_grid_over_split_files_gives_one_trial_config_per_file(tmp_path: Path) -> None:
    files = [str(tmp_path / "a.json"), str(tmp_path / "b.json")]
    parameters = {"split_file": {"values": files}, "data.test_file": {"value": str(tmp_path / "t.csv")}}
    base = _base(tmp_path)
    spec = load_sweep_spec(_sweep(tmp_path, parameters), base)
    state = SweepState(sweep_id=spec.sweep_id, name=spec.name, method=spec.method, file="", config=spec.raw)
    seen = []
    while (trial := propose(spec, state)) is not None:
        state.trials.append(trial)
        config = trial_config_from_sweep(trial.params, base)
        seen.append(str(config.data.split_file))
        assert config.data.test_file == tmp_path / "t.csv" and config.data.dataset == "file"
    assert sorted(seen) == files


def test_a_sweep_combining_a_split_file_and_a_split_column_is_refused(tmp_path: Path) -> None:
    parameters = {"split_file": {"value": "a.json"}, "split_column": {"values": ["set"]}}
    with pytest.raises(SweepFileError, match=r"split_file = 'a\.json' and split_column = 'set' both give the split"):
        load_sweep_spec(_sweep(tmp_path, parameters), _base(tmp_path))
