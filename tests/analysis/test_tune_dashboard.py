"""`greenft tune`'s study opens in the real optuna-dashboard with the one command greenft prints and reports."""

from __future__ import annotations

import json
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from tuning_helpers import curves

from greenft.analysis.tuning import tune_by_replay, write_tuning_outputs


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=5) as response:
        payload: dict[str, object] = json.loads(response.read())
        return payload


def _dashboard_executable() -> str | None:
    beside = Path(sys.executable).with_name("optuna-dashboard")  # the venv's, whatever PATH says
    return str(beside) if beside.is_file() else shutil.which("optuna-dashboard")


def test_an_in_memory_study_has_no_dashboard_command(tmp_path: Path) -> None:
    result = tune_by_replay(curves(), tmp_path, n_trials=3, storage="memory", seed=0)
    assert result.dashboard is None
    write_tuning_outputs(result, tmp_path)
    assert "optuna-dashboard" not in (tmp_path / "tune_report.md").read_text()


def test_the_printed_command_opens_the_study_with_its_trials_in_optuna_dashboard(tmp_path: Path) -> None:
    pytest.importorskip("optuna_dashboard", reason="optuna-dashboard is an optional extra: greenft[dashboard]")
    executable = _dashboard_executable()
    if executable is None:
        pytest.skip("the optuna-dashboard command is not installed")
    out = tmp_path / "tune out"  # a space: the command must quote the path
    result = tune_by_replay(curves(), out, n_trials=6, seed=0, study_name="dash-study")
    journal = (out / "optuna_journal.log").resolve()
    assert result.dashboard == f"optuna-dashboard {shlex.quote(str(journal))}"
    write_tuning_outputs(result, out)
    assert f"`{result.dashboard}`" in (out / "tune_report.md").read_text()

    program, *arguments = shlex.split(result.dashboard)
    assert program == "optuna-dashboard"
    port = _free_port()
    server = subprocess.Popen(
        [executable, *arguments, "--host", "127.0.0.1", "--port", str(port), "--quiet"],
        cwd=tmp_path.parent,  # another folder: the command's path is absolute
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline, studies = time.monotonic() + 60, None
        while studies is None:
            try:
                studies = _get(f"http://127.0.0.1:{port}/api/studies")
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    output = server.stdout.read() if server.stdout else ""
                    pytest.fail(f"optuna-dashboard did not serve (exit {server.poll()}): {output}")
                time.sleep(0.2)
        summaries = studies["study_summaries"]
        assert isinstance(summaries, list)
        (study,) = [s for s in summaries if s["study_name"] == "dash-study"]
        detail = _get(f"http://127.0.0.1:{port}/api/studies/{study['study_id']}")
        trials = detail["trials"]
        assert isinstance(trials, list) and len(trials) == result.n_trials_total == 6
        assert all(t["state"] == "Complete" for t in trials)
        assert detail["objective_names"] == list(result.objective_names)
    finally:
        server.terminate()
        server.wait(timeout=10)
