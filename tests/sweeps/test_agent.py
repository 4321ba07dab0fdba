"""The `wandb agent` path with wandb's own code on the agent's side: its parameter-file writer, its command macro
expansion and its real `Agent` loop (tests/sweeps/wandb_server_standin.py), with only the W&B server standing in.
The trial becomes a validated config, the run carries the sweep id, and SIGTERM to the agent (`docker stop`,
`wandb agent --forward-signals`) preempts the trial with nothing lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from wandb.sdk.launch.sweeps import utils as wandb_sweep_utils
from wandb.sdk.lib import config_util

from conftest import small_trial, wait_for_wandb_exit
from greenft.agents import ConfigError, TrialConfig, run_trial
from greenft.analysis import find_offline_runs, read_offline_run
from greenft.sweeps.agent import (
    SWEEP_COMMAND,
    agent_trial,
    agent_wandb_mode,
    collect_params,
    parse_param_args,
    read_param_file,
)

ROOT = Path(__file__).resolve().parents[2]
STANDIN = Path(__file__).with_name("wandb_server_standin.py")


def _wandb_param_file(tmp_path: Path, params: dict[str, Any], run_id: str = "run00001") -> Path:
    """The file `wandb agent` writes for a trial, written by wandb's own writer (it begins `wandb_version: 1`)."""
    path = tmp_path / "wandb" / "sweep-abc12345" / f"config-{run_id}.yaml"
    config_util.save_config_file_from_dict(str(path), {k: {"value": v} for k, v in params.items()})
    return path


def _wandb_expanded_command(params: dict[str, Any]) -> list[str]:
    """The argv `wandb agent` builds from a sweep file's `command` (wandb's macro code, as in its `_command_run`)."""
    command = {"type": "run", "run_id": "run00001", "args": {k: {"value": v} for k, v in params.items()}}
    macros = wandb_sweep_utils.create_sweep_command_args(command)
    macros["env"] = ["/usr/bin/env"]
    argv: list[str] = []
    for part in wandb_sweep_utils.create_sweep_command(list(SWEEP_COMMAND)):
        argv += macros.get(part[2:-1]) or [] if part.startswith("${") else [part]
    return argv


def test_the_parameter_file_wandb_writes_is_read_exactly(tmp_path: Path) -> None:
    params = {"dataset": "b3db", "alpha": 0.5, "W": 3, "checkpoint": None, "lr": 1e-4}
    path = _wandb_param_file(tmp_path, params)
    assert path.read_text().startswith("wandb_version: 1")  # the line greenft agent used to reject
    assert read_param_file(path) == params
    assert config_util.dict_from_config_file(str(path)) == read_param_file(path)  # wandb's own reader agrees
    path.write_text(path.read_text().replace("wandb_version: 1", "wandb_version: 2"))
    with pytest.raises(ConfigError, match=r"config-run00001.yaml: wandb_version = 2: expected 1"):
        read_param_file(path)


def test_the_command_wandb_expands_parses_to_the_files_values(tmp_path: Path) -> None:
    params = {"alpha": 0.5, "W": 3, "dataset": "bbbp", "checkpoint": None, "seed": 2}
    argv = _wandb_expanded_command(params)
    assert argv[:5] == ["/usr/bin/env", "python", "-m", "greenft", "agent"]
    assert parse_param_args(argv[5:]) == params
    env = {"WANDB_SWEEP_PARAM_PATH": str(_wandb_param_file(tmp_path, params))}
    assert collect_params(argv[5:], None, env) == params


def test_args_no_hyphens_and_args_forms_are_parsed_with_types() -> None:
    params = parse_param_args(
        ["alpha=0.5", "--W=3", "dataset=bbbp", "checkpoint=None", "shadow_rules=[{'rule': 'none'}]"]
    )
    assert params == {"alpha": 0.5, "W": 3, "dataset": "bbbp", "checkpoint": None, "shadow_rules": [{"rule": "none"}]}
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_param_args(["alpha"])


def test_the_agents_parameter_file_wins_over_arguments(tmp_path: Path) -> None:
    file = tmp_path / "config-run1.yaml"
    config_util.save_config_file_from_dict(
        str(file), {"_wandb": {"value": {}}, "dataset": {"value": "1"}, "alpha": {"value": 0.5}}
    )
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
    params = {"model": "gin", "dataset": "b3db", "rule": "anges", "alpha": 0.5, "beta": 0.1, "W": 2, "seed": 1}
    params["lr"] = 0.002
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
    wait_for_wandb_exit(result.run_path)
    run = read_offline_run(result.run_path)
    assert run.exit_code == 0 and "sweep:abc12345" in run.tags
    assert run.config["sweep"]["id"] == "abc12345" and run.config["sweep"]["params"]["alpha"] == 0.5
    assert run.config["optim"]["lr"] == 0.002 and run.config["seed"] == 1
    with pytest.raises(ConfigError, match="unknown sweep parameter 'alfa'"):
        agent_trial({"alfa": 0.5}, env, base)


def _standin_agent(
    tmp_path: Path, count: int, fixed: dict[str, Any], sweep: Path = ROOT / "sweeps" / "quick.yaml"
) -> subprocess.Popen[bytes]:
    """wandb's real agent loop on a shipped sweep file, in its own process (it installs signal handlers)."""
    env = {
        **os.environ,
        "WANDB_MODE": "offline",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # the command's `python`
        "COLUMNS": "200",
    }
    args = [sys.executable, str(STANDIN), str(sweep), "--count", str(count), "--record", str(tmp_path / "rec.json")]
    for name, value in fixed.items():
        args += ["--set", f"{name}={value}"]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)


def test_a_trial_started_by_the_real_wandb_agent_finishes_and_carries_the_sweep(tmp_path: Path) -> None:
    process = _standin_agent(tmp_path, count=1, fixed={"threads": 1, "max_epochs": 2})
    output, _ = process.communicate(timeout=300)
    text = output.decode()
    assert process.returncode == 0, text
    record = json.loads((tmp_path / "rec.json").read_text())
    (command,) = record["commands"]
    assert "Detected" not in text and "failed runs" not in text  # the agent did not give up on failing trials
    assert (tmp_path / "wandb" / "sweep-standin01" / "config-standinrun01.yaml").read_text().startswith("wandb_ver")
    (run_file,) = find_offline_runs(tmp_path / "runs")
    run = read_offline_run(run_file)
    assert run.exit_code == 0 and run.run_id == "standinrun01"
    assert "sweep:standin01" in run.tags and run.config["sweep"]["id"] == "standin01"
    sent = {k: v["value"] for k, v in command["args"].items()}
    assert run.config["sweep"]["params"] == sent  # exactly what the server handed over, types kept
    assert run.config["model"] == sent["model"]  # W&B locks swept names: the run config shows the swept value
    trial = json.loads((run_file.parent / "files" / "greenft_config.json").read_text())
    assert trial["model"]["name"] == sent["model"] and trial["data"]["dataset"] == sent["dataset"]
    assert trial["optim"]["max_epochs"] == 2 and trial["threads"] == 1
    assert [h["epoch"] for h in run.history] == [1, 2] and run.summary["status"] == "finished"
    assert any(states == {"standinrun01": True} for states in record["heartbeats"])  # the agent watched it run


def test_sigterm_to_the_real_wandb_agent_preempts_its_trial_and_keeps_every_logged_epoch(tmp_path: Path) -> None:
    """`wandb agent --forward-signals` (or `docker stop` on its container) passes SIGTERM on to the trial."""
    fixed = {"threads": 1, "max_epochs": 300, "W": 299, "limit": 250, "tracking.meter": "wallclock"}
    process = _standin_agent(tmp_path, count=1, fixed=fixed)
    deadline = time.monotonic() + 180
    epochs_log = None
    while time.monotonic() < deadline:
        logs = list((tmp_path / "runs").glob("wandb/*/files/greenft_epochs.jsonl"))
        if logs and len(logs[0].read_text().splitlines()) >= 2:
            epochs_log = logs[0]
            break
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        time.sleep(0.2)
    assert epochs_log is not None, "no epochs logged in time"
    process.send_signal(signal.SIGTERM)  # to the agent, not the trial
    output, _ = process.communicate(timeout=120)
    text = output.decode()
    assert process.returncode == 0, text
    assert "SIGTERM received" in text and "preempted" in text

    rows = [json.loads(line) for line in epochs_log.read_text().splitlines()]
    summary = json.loads((epochs_log.parent / "greenft_summary.json").read_text())
    assert summary["status"] == "preempted" and summary["total/epochs"] == len(rows) >= 2
    (run_file,) = find_offline_runs(tmp_path / "runs")
    run = read_offline_run(run_file)
    assert run.exit_code == 130 and run.run_id == "standinrun01"
    assert [h["epoch"] for h in run.history] == [r["epoch"] for r in rows]
    assert run.summary["status"] == "preempted" and "sweep:standin01" in run.tags
