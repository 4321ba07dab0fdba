"""`greenft sweep run` end to end with real workers and real (tiny) trials: stopped mid-sweep with Ctrl-C, then
resumed, it completes the remaining trials only; every trial is a W&B offline run carrying the sweep id.

Slow (two controller and worker start-ups, several trials: 35 s on an idle 2-core machine, minutes on a busy
one); the fast set covers the same paths in parts: test_controller.py (bookkeeping, a signalled controller
process), test_worker.py (a real worker finishing and preempting trials), test_agent.py (SIGTERM to a trial)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pytest
import yaml

from greenft.analysis import find_offline_runs, read_offline_run
from greenft.sweeps.state import StateStore, sweep_dir

ROOT = Path(__file__).resolve().parents[2]

TINY = {
    "name": "tiny",
    "method": "grid",
    "parameters": {
        "model": {"values": ["gin"]},
        "dataset": {"values": ["b3db"]},
        "seed": {"values": [0, 1, 2]},
        "alpha": {"value": 0.5},
        "beta": {"value": 0.0},  # beta 0: AN-GES never stops early, every trial runs its budget
        "limit": {"value": 250},
        "num_layers": {"value": 2},
        "emb_dim": {"value": 32},
        "dropout": {"value": 0.0},
        "max_epochs": {"value": 4},
        "tracking.measure_power_secs": {"value": 1.0},
        "logging.system_metrics": {"value": False},
    },
}


def _command(file: Path, runs: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "greenft", "sweep", "run", str(file), "--runs-dir", str(runs), *extra]


def _env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "250"}


def _read_until(stream: IO[bytes], marker: str, seen: list[str], timeout: float = 150) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline().decode()
        if not line:
            raise AssertionError("controller ended early:\n" + "".join(seen))
        seen.append(line)
        if marker in line:
            return
    raise AssertionError(f"{marker!r} not seen in time:\n" + "".join(seen))


def _epochs_of(runs: Path, trial: str) -> int:
    for config in runs.glob("wandb/*/files/greenft_config.json"):
        if json.loads(config.read_text()).get("sweep", {}).get("trial") == trial:
            log = config.with_name("greenft_epochs.jsonl")
            return len(log.read_text().splitlines()) if log.exists() else 0
    return 0


@pytest.mark.slow
def test_interrupted_sweep_resumes_with_the_remaining_trials_only(tmp_path: Path) -> None:
    file = tmp_path / "tiny.yaml"
    file.write_text(yaml.safe_dump(TINY))
    runs = tmp_path / "runs"
    process = subprocess.Popen(
        _command(file, runs, "--workers", "1"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=_env()
    )
    assert process.stdout is not None
    seen: list[str] = []
    _read_until(process.stdout, "t0001 start", seen)
    deadline = time.monotonic() + 60
    while _epochs_of(runs, "t0001") < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)  # Ctrl-C
    rest, _ = process.communicate(timeout=120)
    output = "".join(seen) + rest.decode()
    assert process.returncode == 130, output
    assert "t0001 preempted" in output and "run the same command again to resume" in output

    resumed = subprocess.run(_command(file, runs, "--workers", "1"), capture_output=True, env=_env(), timeout=300)
    output2 = resumed.stdout.decode() + resumed.stderr.decode()
    assert resumed.returncode == 0, output2
    assert "resuming with 1 done" in output2 and "t0000 start" not in output2
    assert "t0001 start" in output2 and "attempt 2" in output2 and "t0002 start" in output2

    state = StateStore(sweep_dir(runs, "tiny", _sweep_id(file))).load()
    assert [t.status for t in state.trials] == ["finished"] * 3
    assert [len(t.attempts) for t in state.trials] == [1, 2, 1]
    assert sorted(t.params["seed"] for t in state.trials) == [0, 1, 2]

    offline = [read_offline_run(f) for f in find_offline_runs(runs)]
    assert len(offline) == 4  # t0000, t0001 (preempted), t0001 again, t0002
    for run in offline:
        assert run.config["sweep"]["id"] == state.sweep_id and f"sweep:{state.sweep_id}" in run.tags
        assert run.group == "tiny" and run.config["threads"] >= 1
    preempted = [r for r in offline if r.summary.get("status") == "preempted"]
    assert len(preempted) == 1 and preempted[0].exit_code == 130 and preempted[0].config["sweep"]["attempt"] == 1
    finished = [r for r in offline if r.summary.get("status") == "finished"]
    assert sorted(r.config["sweep"]["trial"] for r in finished) == ["t0000", "t0001", "t0002"]
    assert all(r.exit_code == 0 and len(r.history) == 4 for r in finished)


def _sweep_id(file: Path) -> str:
    from greenft.sweeps.spec import sweep_id_of

    return sweep_id_of(yaml.safe_load(file.read_text()))


@pytest.mark.slow
def test_quick_sweep_acceptance_six_trials_offline(tmp_path: Path) -> None:
    """The issue's acceptance run: `greenft sweep run sweeps/quick.yaml --count 6` (two workers)."""
    runs = tmp_path / "runs"
    command = _command(ROOT / "sweeps" / "quick.yaml", runs, "--count", "6", "--workers", "2")
    result = subprocess.run(command, capture_output=True, env=_env(), timeout=900)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    offline = [read_offline_run(f) for f in find_offline_runs(runs)]
    assert len(offline) == 6 and all(r.exit_code == 0 for r in offline)
    ids = {r.config["sweep"]["id"] for r in offline}
    assert len(ids) == 1
    assert len({r.config["data"]["dataset"] for r in offline}) >= 2
    assert len({(r.config["model"]["num_layers"], r.config["model"]["emb_dim"]) for r in offline}) >= 2
    assert len({json.dumps(r.config["stopping"], sort_keys=True) for r in offline}) >= 3
    assert all(r.history and "emissions/cumulative_kg" in r.history[-1] for r in offline)
    again = subprocess.run(command, capture_output=True, env=_env(), timeout=300)
    assert again.returncode == 0 and len(find_offline_runs(runs)) == 6  # nothing repeated
