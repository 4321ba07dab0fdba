"""A real sweep worker process (``python -m greenft.sweeps.worker``) driven through its protocol: it finishes a
trial, then a SIGTERM mid-trial preempts the next one with every logged epoch kept, and the worker exits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import small_trial
from greenft.agents import TrialConfig
from greenft.analysis import read_offline_run
from greenft.sweeps.worker import LineReader


def _trial(tmp_path: Path, index: int, max_epochs: int) -> dict[str, Any]:
    raw = small_trial(tmp_path, optim={"max_epochs": max_epochs}, stopping={"rule": "none"}, data={"limit": 250})
    raw["tracking"] = {"meter": "wallclock"}  # the protocol is under test here, not CodeCarbon (test_trial.py)
    config = TrialConfig.model_validate(raw).model_dump(mode="json")
    sweep = {"id": "feedbeef", "name": "w", "trial": f"t{index:04d}", "attempt": 1, "params": {"seed": 0}}
    return {"cmd": "trial", "index": index, "attempt": 1, "config": config, "sweep": sweep, "metric": "val/roc_auc"}


def test_worker_finishes_a_trial_then_sigterm_preempts_the_next(tmp_path: Path) -> None:
    read_fd, write_fd = os.pipe()
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "greenft.sweeps.worker", "--result-fd", str(write_fd), "--worker", "1"],
        stdin=subprocess.PIPE,
        stdout=log,
        stderr=subprocess.STDOUT,
        pass_fds=(write_fd,),
        start_new_session=True,
    )
    os.close(write_fd)
    events = LineReader(read_fd)
    assert worker.stdin is not None

    def next_event(timeout: float = 120) -> dict[str, Any]:
        line = events.readline(timeout=timeout)
        assert line is not None, (tmp_path / "worker.log").read_text()
        event: dict[str, Any] = json.loads(line)
        return event

    def send(message: dict[str, Any]) -> None:
        assert worker.stdin is not None
        worker.stdin.write((json.dumps(message) + "\n").encode())
        worker.stdin.flush()

    try:
        assert next_event()["event"] == "ready"
        send(_trial(tmp_path, 0, max_epochs=2))
        first = [next_event() for _ in range(4)]
        assert [e["event"] for e in first] == ["started", "epoch", "epoch", "done"]
        assert first[1]["values"]["val/roc_auc"] == first[1]["val"]
        assert first[3]["status"] == "finished" and first[3]["summary"]["total/epochs"] == 2

        send(_trial(tmp_path, 1, max_epochs=500))
        started = next_event()
        assert started["event"] == "started" and started["index"] == 1
        assert next_event()["event"] == "epoch"
        worker.send_signal(signal.SIGTERM)
        rest = []
        while (event := next_event())["event"] != "done":
            rest.append(event)
        assert event["status"] == "preempted" and event["summary"]["status"] == "preempted"
        assert worker.wait(timeout=60) == 0  # a stopped worker takes no further trial
    finally:
        if worker.poll() is None:
            worker.kill()
        log.close()

    run = read_offline_run(started["run_path"])
    assert run.exit_code == 130 and run.summary["status"] == "preempted"
    assert len(run.history) == event["summary"]["total/epochs"] == 1 + len(rest)
    assert run.config["sweep"]["id"] == "feedbeef"
    epochs = Path(started["run_path"]) / "files" / "greenft_epochs.jsonl"
    assert len(epochs.read_text().splitlines()) == len(run.history)
