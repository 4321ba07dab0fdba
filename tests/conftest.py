"""Shared test settings: W&B offline and quiet, a private feature cache, small trial configs, and the fault
suite's fixtures (here, not in tests/faults/conftest.py: test modules import ``small_trial`` from ``conftest``, and
a second conftest module of that name would shadow this one)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest-xdist's workers start with COLUMNS=80 and LINES=24 in their environment (execnet's gateway sets
    # them); rich would then fix every console at 80 columns, wrapping the tables tests read, and subprocesses
    # would inherit it. A plain pytest process has neither: the workers run the tests as it does.
    for _name in ("COLUMNS", "LINES"):
        os.environ.pop(_name, None)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DISABLE_GIT", "true")
    monkeypatch.setenv("GREENFT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "greenft-cache"))


def small_trial(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """A trial config dict that runs in a few seconds on a CPU: 32-wide 2-layer GIN on a B3DB sample."""
    config: dict[str, Any] = {
        "seed": 0,
        "threads": 1,
        "data": {"dataset": "b3db", "limit": 300},
        "model": {"num_layers": 2, "emb_dim": 32, "dropout": 0.0},
        "optim": {"max_epochs": 4, "batch_size": 64},
        "tracking": {"measure_power_secs": 1.0},
        "logging": {"runs_dir": str(tmp_path / "runs"), "system_metrics": False},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            base = config[key]
            if key == "data" and "file" in value:  # a file replaces the built-in set (both: a config error)
                base = {k: v for k, v in base.items() if k != "dataset"}
            config[key] = {**base, **value}
        else:
            config[key] = value
    return config


def wait_for_wandb_exit(run_path: Path, timeout_s: float = 30.0) -> None:
    """Wait until W&B's offline file of a run finished in this process holds its exit record.

    wandb-core closes the ``.wandb`` file asynchronously after ``finish()`` returns. greenft never waits for it
    (its own files are complete when a trial returns); only tests that inspect W&B's file itself do.
    """
    from greenft.analysis import read_offline_run

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if read_offline_run(run_path).exit_code is not None:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"W&B never wrote the exit record of {run_path}")


@pytest.fixture(scope="session")
def prior_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real finished run, trained once per session: the prior run files no fault row may touch."""
    runs = tmp_path_factory.mktemp("prior") / "runs"
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DISABLE_GIT="true")
    args = ["--dataset", "b3db", "--limit", "120", "--max-epochs", "2", "--threads", "1", "--runs-dir", str(runs)]
    small = ["--layers", "2", "--emb-dim", "16", "--rule", "none", "--set", "logging.system_metrics=false"]
    done = subprocess.run(
        [sys.executable, "-m", "greenft", "train", *args, *small], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return runs


@pytest.fixture
def workspace(tmp_path: Path, prior_runs: Path) -> Any:
    """A fault row's folder holding a copy of :func:`prior_runs` (tests/faults/fault_harness.py)."""
    from fault_harness import make_workspace  # on sys.path while a tests/faults module runs

    return make_workspace(tmp_path, prior_runs)


def stop_signals_at_default() -> None:
    """``preexec_fn`` for a child a test stops like a program started from a terminal: SIGINT at its default.

    Why: an ignored signal stays ignored across ``exec`` (POSIX), and Python installs its KeyboardInterrupt
    handler only when SIGINT is not ignored at start. A test worker that carries an ignored SIGINT (a background
    job of a non-interactive shell, or a library that set it) would hand that on, and a test that presses Ctrl-C
    would then measure the worker's state instead of greenft (seen once in CI: a 200-epoch run ignoring SIGINT).
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
