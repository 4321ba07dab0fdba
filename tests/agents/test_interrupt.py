"""Ctrl-C (SIGINT to the process group, as a terminal sends it) and SIGTERM (an agent being stopped) during
training keep every epoch already logged, in W&B and in the local epoch log, and mark the run interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import stop_signals_at_default
from greenft.analysis import find_offline_runs, read_offline_run


def _start(tmp_path: Path) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "greenft", "train", "--dataset", "b3db", "--limit", "800", "--layers", "2"]
    args += ["--emb-dim", "64", "--max-epochs", "200", "--rule", "none", "--runs-dir", str(tmp_path), "--threads", "1"]
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
        preexec_fn=stop_signals_at_default,  # SIGINT at its default, as from a terminal (tests/conftest.py)
    )


def _wait_for_epochs(tmp_path: Path, count: int, process: subprocess.Popen[bytes], timeout: float = 120) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = list(tmp_path.glob("wandb/*/files/greenft_epochs.jsonl"))
        if logs and len(logs[0].read_text().splitlines()) >= count:
            return logs[0]
        if process.poll() is not None:
            raise AssertionError(process.stdout.read().decode() if process.stdout else "process ended")
        time.sleep(0.1)
    raise AssertionError("no epochs logged in time")


@pytest.mark.parametrize("how", ["sigint-group", "sigterm"])
def test_interrupt_keeps_logged_epochs(tmp_path: Path, how: str) -> None:
    process = _start(tmp_path)
    epochs_log = _wait_for_epochs(tmp_path, 2, process)
    if how == "sigint-group":
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    text = output.decode()
    assert process.returncode == 130, text
    assert "interrupted" in text

    rows = [json.loads(line) for line in epochs_log.read_text().splitlines()]
    assert len(rows) >= 2 and [r["epoch"] for r in rows] == list(range(1, len(rows) + 1))
    summary = json.loads((epochs_log.parent / "greenft_summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["total/epochs"] == len(rows)

    (run_file,) = find_offline_runs(tmp_path)
    run = read_offline_run(run_file)
    assert [h["epoch"] for h in run.history] == [r["epoch"] for r in rows]
    assert run.history[-1]["emissions/cumulative_kg"] == pytest.approx(rows[-1]["emissions/cumulative_kg"])
    assert run.summary.get("status") == "interrupted"
