"""The online path with no W&B server to reach: one line naming the server and the way out, exit 2, no
traceback, and nothing trained (no epoch is spent before W&B has accepted the run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _train_online(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    clean.update(HOME=str(tmp_path / "home"), COLUMNS="400", WANDB_SILENT="true", **env)
    args = ["--dataset", "b3db", "--limit", "100", "--max-epochs", "1", "--runs-dir", str(tmp_path / "runs")]
    return subprocess.run(
        [sys.executable, "-m", "greenft", "train", "--wandb-mode", "online", *args],
        capture_output=True,
        text=True,
        env=clean,
        timeout=300,
        check=False,
    )


def _error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error:")]


def test_no_api_key_is_one_line_with_the_way_out(tmp_path: Path) -> None:
    result = _train_online(tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output and "│" not in output  # neither Python's nor rich's traceback
    (line,) = _error_lines(result)
    assert "No API key configured" in line and "server https://api.wandb.ai" in line
    assert "wandb login" in line and "--wandb-mode offline" in line
    assert not list((tmp_path / "runs").glob("**/greenft_epochs.jsonl"))  # nothing trained


@pytest.mark.parametrize("port", [9])  # the discard port: nothing listens on loopback
def test_an_unreachable_server_is_one_line_naming_it(tmp_path: Path, port: int) -> None:
    key = "0123456789abcdef0123456789abcdef01234567"
    result = _train_online(
        tmp_path, WANDB_API_KEY=key, WANDB_BASE_URL=f"http://127.0.0.1:{port}", WANDB_INIT_TIMEOUT="5"
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output and "│" not in output
    (line,) = _error_lines(result)
    assert f"server http://127.0.0.1:{port}" in line and "connection refused" in line
    assert key not in output
