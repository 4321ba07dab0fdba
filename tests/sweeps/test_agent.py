"""The `wandb agent` path without a W&B server: what a sweep's `command` passes becomes a validated trial, the
run carries the sweep id, and SIGTERM (a stopped agent, `docker stop`) preempts the trial with nothing lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import small_trial
from greenft.agents import ConfigError, TrialConfig, run_trial
from greenft.analysis import find_offline_runs, read_offline_run
from greenft.sweeps.agent import agent_trial, agent_wandb_mode, collect_params, parse_param_args, read_param_file


def test_args_no_hyphens_and_args_forms_are_parsed_with_types() -> None:
    params = parse_param_args(
        ["alpha=0.5", "--W=3", "dataset=bbbp", "checkpoint=None", "shadow_rules=[{'rule': 'none'}]"]
    )
    assert params == {"alpha": 0.5, "W": 3, "dataset": "bbbp", "checkpoint": None, "shadow_rules": [{"rule": "none"}]}
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_param_args(["alpha"])


def test_the_agents_parameter_file_wins_over_arguments(tmp_path: Path) -> None:
    file = tmp_path / "config-run1.yaml"
    file.write_text(yaml.safe_dump({"_wandb": {"value": {}}, "dataset": {"value": "1"}, "alpha": {"value": 0.5}}))
    assert read_param_file(file) == {"dataset": "1", "alpha": 0.5}
    env = {"WANDB_SWEEP_PARAM_PATH": str(file)}
    assert collect_params(["dataset=1", "beta=0.3"], None, env) == {"dataset": "1", "alpha": 0.5, "beta": 0.3}
    assert collect_params(["beta=0.3"], None, {"WANDB_SWEEP_PARAM_PATH": str(tmp_path / "gone.yaml")}) == {"beta": 0.3}


def test_wandb_mode_under_an_agent() -> None:
    assert agent_wandb_mode({"WANDB_SWEEP_ID": "abc"}) == "online"
    assert agent_wandb_mode({"WANDB_SWEEP_ID": "abc", "WANDB_MODE": "offline"}) == "offline"
    assert agent_wandb_mode({"WANDB_MODE": "dryrun"}) == "offline"
    assert agent_wandb_mode({}) == "offline"


def test_agent_trial_runs_offline_and_the_run_carries_the_sweep(tmp_path: Path) -> None:
    base = TrialConfig.model_validate(small_trial(tmp_path, optim={"max_epochs": 2}))
    env = {"WANDB_SWEEP_ID": "abc12345", "WANDB_RUN_ID": "r1", "WANDB_MODE": "offline"}
    params = {"model": "gin", "dataset": "b3db", "alpha": 0.5, "beta": 0.1, "W": 2, "seed": 1, "lr": 0.002}
    config, metadata = agent_trial(params, env, base)
    stopping = config.stopping.model_dump()
    assert {k: stopping[k] for k in ("rule", "alpha", "beta", "warmup")} == {
        "rule": "anges",
        "alpha": 0.5,
        "beta": 0.1,
        "warmup": 2,
    }
    assert config.logging.wandb_mode == "offline" and "sweep:abc12345" in config.logging.tags
    result = run_trial(config, run_metadata=metadata, preemptible=True)
    run = read_offline_run(result.run_path)
    assert run.exit_code == 0 and "sweep:abc12345" in run.tags
    assert run.config["sweep"]["id"] == "abc12345" and run.config["sweep"]["params"]["alpha"] == 0.5
    assert run.config["optim"]["lr"] == 0.002 and run.config["seed"] == 1
    with pytest.raises(ConfigError, match="unknown sweep parameter 'alfa'"):
        agent_trial({"alfa": 0.5}, env, base)


def test_sigterm_to_an_agent_trial_keeps_every_logged_epoch_and_marks_it_preempted(tmp_path: Path) -> None:
    """As `wandb agent --forward-signals` runs it: sweep env, parameters in the agent's file and arguments."""
    params = {"dataset": {"value": "b3db"}, "alpha": {"value": 0.7}, "rule": {"value": "anges"}}
    param_file = tmp_path / "wandb" / "sweep-abc12345" / "config-run00001.yaml"
    param_file.parent.mkdir(parents=True)
    param_file.write_text(yaml.safe_dump(params))
    base = tmp_path / "base.yaml"
    base.write_text(
        yaml.safe_dump(
            small_trial(
                tmp_path,
                optim={"max_epochs": 300},
                stopping={"rule": "anges", "beta": 0.0},
                data={"limit": 250},
                tracking={"meter": "wallclock"},  # signals are under test here; CodeCarbon's stop is in test_trial
            )
        )
    )
    env = {
        **os.environ,
        "WANDB_SWEEP_ID": "abc12345",
        "WANDB_RUN_ID": "run00001",
        "WANDB_SWEEP_PARAM_PATH": str(param_file),
        "WANDB_MODE": "offline",
        "COLUMNS": "200",
    }
    args = [sys.executable, "-m", "greenft", "agent", "--config", str(base), "dataset=b3db", "alpha=0.7", "rule=anges"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    deadline = time.monotonic() + 120
    epochs_log = None
    while time.monotonic() < deadline:
        logs = list((tmp_path / "runs").glob("wandb/*/files/greenft_epochs.jsonl"))
        if logs and len(logs[0].read_text().splitlines()) >= 2:
            epochs_log = logs[0]
            break
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        time.sleep(0.1)
    assert epochs_log is not None, "no epochs logged in time"
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output.decode()
    assert "preempted" in output.decode()

    rows = [json.loads(line) for line in epochs_log.read_text().splitlines()]
    summary = json.loads((epochs_log.parent / "greenft_summary.json").read_text())
    assert summary["status"] == "preempted" and summary["total/epochs"] == len(rows) >= 2
    (run_file,) = find_offline_runs(tmp_path / "runs")
    run = read_offline_run(run_file)
    assert run.exit_code == 130 and run.run_id == "run00001"
    assert [h["epoch"] for h in run.history] == [r["epoch"] for r in rows]
    assert run.summary["status"] == "preempted"
    assert run.config["alpha"] == 0.7  # W&B's own copy of the sweep parameter
    assert run.config["sweep"]["id"] == "abc12345" and "sweep:abc12345" in run.tags
