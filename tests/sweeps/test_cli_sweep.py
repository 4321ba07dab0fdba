"""`greenft sweep validate|create|status`: one clear line per user error, and the agent command printed by
`create` is the one the README and the Docker files use."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from greenft.cli import app
from greenft.sweeps import wandb_agent_command
from greenft.sweeps.controller import SweepOptions, run_sweep
from greenft.sweeps.spec import load_sweep_spec

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
ENV = {"COLUMNS": "250"}


def test_validate_accepts_the_shipped_sweeps_and_names_a_bad_file(tmp_path: Path) -> None:
    files = sorted(str(p) for p in (ROOT / "sweeps").glob("*.yaml"))
    result = runner.invoke(app, ["sweep", "validate", *files], env=ENV)
    assert result.exit_code == 0, result.output
    assert result.output.count("ok ") == len(files) and "567 grid points" in result.output

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"method": "grid", "parameters": {"lerning_rate": {"values": [0.1]}}}))
    result = runner.invoke(app, ["sweep", "validate", str(bad)], env=ENV)
    assert result.exit_code == 2
    assert "bad.yaml: parameters.lerning_rate = 0.1: unknown sweep parameter" in result.output
    assert "Traceback" not in result.output


def test_run_refuses_a_random_sweep_without_a_count(tmp_path: Path) -> None:
    file = tmp_path / "r.yaml"
    file.write_text(yaml.safe_dump({"method": "random", "parameters": {"lr": {"min": 0.0001, "max": 0.01}}}))
    result = runner.invoke(app, ["sweep", "run", str(file), "--runs-dir", str(tmp_path)], env=ENV)
    assert result.exit_code == 2 and "pass --count N or set run_cap" in result.output


def test_create_registers_on_wandb_and_prints_the_agent_and_compose_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    import wandb

    calls: list[dict[str, Any]] = []

    def fake_sweep(sweep: dict[str, Any], project: str | None = None, entity: str | None = None) -> str:
        calls.append({"sweep": sweep, "project": project, "entity": entity})
        return "abc123xy"

    monkeypatch.setattr(wandb, "sweep", fake_sweep)
    file = ROOT / "sweeps" / "quick.yaml"
    result = runner.invoke(app, ["sweep", "create", str(file), "--entity", "me"], env=ENV)
    assert result.exit_code == 0, result.output
    assert calls == [{"sweep": yaml.safe_load(file.read_text()), "project": "greenft", "entity": "me"}]
    assert " ".join(wandb_agent_command("me/greenft/abc123xy")) in result.output
    assert "SWEEP_ID=me/greenft/abc123xy AGENTS=4 docker compose -f docker/compose.yaml up" in result.output

    def offline(**kwargs: Any) -> str:
        raise wandb.errors.UsageError("api_key not configured (no-tty)")

    monkeypatch.setattr(wandb, "sweep", offline)
    result = runner.invoke(app, ["sweep", "create", str(file)], env=ENV)
    assert result.exit_code == 2 and "could not create the sweep on W&B" in result.output


def test_status_lists_the_trials(tmp_path: Path) -> None:
    file = tmp_path / "s.yaml"
    file.write_text(yaml.safe_dump({"name": "s", "method": "grid", "parameters": {"seed": {"values": [0, 7]}}}))
    fake = [sys.executable, str(Path(__file__).with_name("fake_worker.py"))]
    run_sweep(load_sweep_spec(file), SweepOptions(runs_dir=tmp_path, worker_command=fake), report=lambda line: None)
    result = runner.invoke(app, ["sweep", "status", str(file), "--runs-dir", str(tmp_path)], env=ENV)
    assert result.exit_code == 0, result.output
    assert "t0000" in result.output and "finished" in result.output
    assert "t0001" in result.output and "crashed" in result.output and "seed=7" in result.output
