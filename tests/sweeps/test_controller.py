"""The embedded controller's bookkeeping with a fake worker (same protocol, no training): resume, no repeats,
crashed trials, dead workers, preemption and retry, early termination, locking."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from greenft.sweeps.controller import SweepOptions, propose, run_sweep, target_trials
from greenft.sweeps.spec import SweepFileError, load_sweep_spec
from greenft.sweeps.state import StateStore, SweepBusyError, SweepState, sweep_dir

FAKE_WORKER = [sys.executable, str(Path(__file__).with_name("fake_worker.py"))]


def _spec(tmp_path: Path, parameters: dict[str, Any], method: str = "grid", **extra: Any) -> Any:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "method": method, "parameters": parameters, **extra}))
    return load_sweep_spec(path)


def _options(tmp_path: Path, **kw: Any) -> SweepOptions:
    return SweepOptions(runs_dir=tmp_path / "runs", worker_command=FAKE_WORKER, grace_s=20, **kw)


def _grid(seeds: list[int], lrs: tuple[float, ...] = (0.001,)) -> dict[str, Any]:
    return {"seed": {"values": seeds}, "lr": {"values": list(lrs)}}


class Interrupt:
    """A report callback that raises KeyboardInterrupt (as Ctrl-C would) when a line contains ``marker``."""

    def __init__(self, marker: str | None) -> None:
        self.marker = marker
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        if self.marker is not None and self.marker in line:
            self.marker = None
            raise KeyboardInterrupt


def test_grid_runs_every_point_once_and_a_rerun_repeats_nothing(tmp_path: Path) -> None:
    spec = _spec(tmp_path, _grid([0, 1, 2], (0.001, 0.01)))
    outcome = run_sweep(spec, _options(tmp_path, workers=2), report=lambda line: None)
    assert not outcome.interrupted and outcome.ran == 6
    points = {(t.params["seed"], t.params["lr"]) for t in outcome.state.trials}
    assert len(points) == 6 and all(t.status == "finished" for t in outcome.state.trials)
    assert outcome.state.trials[0].summary["stop/val_roc_auc"] == pytest.approx(0.1)
    assert all(t.wandb_config["seed"] == {"value": t.params["seed"]} for t in outcome.state.trials)

    again = run_sweep(spec, _options(tmp_path, workers=2), report=lambda line: None)
    assert again.ran == 0 and len(again.state.trials) == 6
    assert all(len(t.attempts) == 1 for t in again.state.trials)
    logs = "".join(p.read_text() for p in outcome.state_path.parent.glob("worker-*.log"))
    assert logs.count("trial ") == 6 and f"sweep {spec.sweep_id}" in logs


def test_count_is_the_sweeps_total_so_a_rerun_with_more_extends_it(tmp_path: Path) -> None:
    spec = _spec(tmp_path, _grid([0, 1, 2, 3]))
    assert run_sweep(spec, _options(tmp_path, count=2), report=lambda line: None).ran == 2
    assert run_sweep(spec, _options(tmp_path, count=2), report=lambda line: None).ran == 0
    outcome = run_sweep(spec, _options(tmp_path, count=3), report=lambda line: None)
    assert outcome.ran == 1 and [t.params["seed"] for t in outcome.state.trials] == [0, 1, 2]


def test_a_crashed_trial_is_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    spec = _spec(tmp_path, _grid([0, 7, 1]))
    report = Interrupt(None)
    outcome = run_sweep(spec, _options(tmp_path), report=report)
    statuses = [(t.params["seed"], t.status) for t in outcome.state.trials]
    assert statuses == [(0, "finished"), (7, "crashed"), (1, "finished")]
    crashed = outcome.state.trials[1]
    assert crashed.attempts[0].error == "ValueError: boom" and crashed.attempts[0].run_id == "fake1"
    assert any("t0001 crashed" in line and "boom" in line for line in report.lines)
    # crashed trials count as done: not retried, unless asked to
    assert run_sweep(spec, _options(tmp_path), report=lambda line: None).ran == 0
    retried = run_sweep(spec, _options(tmp_path, retry_crashed=True), report=lambda line: None)
    assert retried.ran == 1 and len(retried.state.trials[1].attempts) == 2


def test_a_dead_worker_crashes_its_trial_only_and_is_replaced(tmp_path: Path) -> None:
    spec = _spec(tmp_path, _grid([8, 0, 1]))
    outcome = run_sweep(spec, _options(tmp_path), report=lambda line: None)
    assert [t.status for t in outcome.state.trials] == ["crashed", "finished", "finished"]
    assert "died (exit code 3)" in (outcome.state.trials[0].attempts[0].error or "")


def test_stop_preempts_the_running_trial_and_resume_runs_it_again_but_nothing_finished(tmp_path: Path) -> None:
    spec = _spec(tmp_path, _grid([0, 9, 1]))
    first = run_sweep(spec, _options(tmp_path), report=Interrupt("t0001 start"))
    assert first.interrupted
    assert [t.status for t in first.state.trials] == ["finished", "preempted"]
    on_disk = StateStore(first.state_path.parent).load()
    assert [t.status for t in on_disk.trials] == ["finished", "preempted"]

    second = run_sweep(spec, _options(tmp_path), report=Interrupt("attempt 2"))
    assert second.interrupted
    trials = second.state.trials
    assert len(trials[0].attempts) == 1  # the finished trial did not run again
    assert len(trials[1].attempts) == 2 and trials[1].status == "preempted"
    assert [a.status for a in trials[1].attempts] == ["preempted", "preempted"]


def test_a_trial_left_running_by_a_killed_controller_is_retried(tmp_path: Path) -> None:
    spec = _spec(tmp_path, _grid([0, 1]))
    outcome = run_sweep(spec, _options(tmp_path, count=1), report=lambda line: None)
    store = StateStore(outcome.state_path.parent)
    state = store.load()
    state.trials[0].status = state.trials[0].attempts[0].status = "running"  # as if SIGKILLed mid-trial
    store.save(state)
    resumed = run_sweep(spec, _options(tmp_path, count=1), report=lambda line: None)
    assert resumed.ran == 1 and len(resumed.state.trials) == 1
    assert [a.status for a in resumed.state.trials[0].attempts] == ["preempted", "finished"]


def test_hyperband_early_termination_stops_a_lagging_trial_cleanly(tmp_path: Path) -> None:
    spec = _spec(
        tmp_path,
        _grid([0, 1, 10]),
        metric={"name": "val/roc_auc", "goal": "maximize"},
        early_terminate={"type": "hyperband", "min_iter": 1, "eta": 2},
    )
    outcome = run_sweep(spec, _options(tmp_path), report=lambda line: None)
    lagging = outcome.state.trials[2]
    assert lagging.params["seed"] == 10 and lagging.status == "finished"
    assert lagging.summary.get("stop/external") is True and lagging.summary["total/epochs"] < 5
    assert lagging.history and "val/roc_auc" in lagging.history[0]


def test_random_proposals_are_seeded_by_the_sweep_and_need_a_count(tmp_path: Path) -> None:
    spec = _spec(tmp_path, {"lr": {"min": 0.0001, "max": 0.01}, "seed": {"values": [0, 1, 2]}}, method="random")
    with pytest.raises(SweepFileError, match="never ends by itself"):
        target_trials(spec, None)
    state = SweepState(sweep_id=spec.sweep_id, name="t", method="random", file="x", config=spec.raw)
    first = propose(spec, state)
    assert first is not None and first == propose(spec, state)
    assert isinstance(first.params["lr"], float) and 0.0001 <= first.params["lr"] <= 0.01
    json.dumps(first.model_dump())  # plain values only (no numpy scalars)


def test_bayes_uses_finished_trials_metric(tmp_path: Path) -> None:
    spec = _spec(
        tmp_path,
        {"lr": {"min": 0.0001, "max": 0.01}, "seed": {"value": 0}},
        method="bayes",
        metric={"name": "stop/val_roc_auc", "goal": "maximize"},
    )
    outcome = run_sweep(spec, _options(tmp_path, count=4), report=lambda line: None)
    assert outcome.ran == 4 and all(t.status == "finished" for t in outcome.state.trials)
    assert outcome.state.trials[-1].search_info is not None
    assert len({t.params["lr"] for t in outcome.state.trials}) == 4


def test_one_controller_per_sweep(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s")
    with (
        store.locked(),
        pytest.raises(SweepBusyError, match="in use by another controller"),
        StateStore(tmp_path / "s").locked(),
    ):
        pass


def test_unreadable_state_names_the_file(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s")
    store.directory.mkdir(parents=True)
    store.path.write_text("{not json")
    with pytest.raises(ValueError, match=r"state\.json: unreadable sweep state"):
        store.load()


def test_a_controller_process_killed_mid_sweep_resumes_with_the_remaining_trials(tmp_path: Path) -> None:
    """`kill PID` / `docker stop` on the controller: the same clean stop as Ctrl-C (exit 130), then a re-run
    completes the preempted and the unstarted trials and nothing else."""
    spec = _spec(tmp_path, _grid([0, 9, 1]))
    driver = (
        "import sys\n"
        "from pathlib import Path\n"
        "from greenft.sweeps.controller import SweepOptions, run_sweep\n"
        "from greenft.sweeps.spec import load_sweep_spec\n"
        f"options = SweepOptions(runs_dir=Path(sys.argv[2]), worker_command={FAKE_WORKER!r})\n"
        "out = run_sweep(load_sweep_spec(sys.argv[1]), options, report=lambda line: print(line, flush=True))\n"
        "sys.exit(130 if out.interrupted else 0)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", driver, str(spec.path), str(tmp_path / "runs")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "t0001 start" in line:
            time.sleep(0.3)
            process.send_signal(signal.SIGTERM)
            break
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 130, "".join(lines) + rest
    assert "t0001 preempted" in rest
    state = StateStore(sweep_dir(tmp_path / "runs", "t", spec.sweep_id)).load()
    assert [t.status for t in state.trials] == ["finished", "preempted"]

    resumed = run_sweep(spec, _options(tmp_path), report=lambda line: None)  # the same sweep, run again
    assert resumed.ran == 2 and [t.status for t in resumed.state.trials] == ["finished"] * 3
    assert [len(t.attempts) for t in resumed.state.trials] == [1, 2, 1]


def test_the_progress_hook_sees_done_out_of_target_and_the_running_trials(tmp_path: Path) -> None:
    from greenft.sweeps.controller import SweepProgress

    spec = _spec(tmp_path, _grid([0, 7, 1, 2]))  # seed 7 crashes in the fake worker: crashed counts as done
    seen: list[SweepProgress] = []
    outcome = run_sweep(spec, _options(tmp_path, workers=2), report=lambda line: None, progress=seen.append)
    assert outcome.ran == 4
    assert [p.done for p in seen] == sorted(p.done for p in seen)  # never goes back
    assert seen[-1] == SweepProgress(done=4, target=4, running=())
    assert max(len(p.running) for p in seen) == 2 and all(len(p.running) <= 2 for p in seen)
    started = {trial for p in seen for trial in p.running}
    assert started == {t.trial_id for t in outcome.state.trials}
