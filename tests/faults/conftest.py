"""Fixtures of the fault suite: one real finished run, trained once per session, copied into each row's
workspace as the prior run files that no fault may touch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fault_harness import Workspace, make_workspace


@pytest.fixture(scope="session")
def prior_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
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
def workspace(tmp_path: Path, prior_runs: Path) -> Workspace:
    return make_workspace(tmp_path, prior_runs)
