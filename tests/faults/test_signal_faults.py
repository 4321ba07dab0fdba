"""Fault rows: signals, closed output and runs cut short (issue 12: signals, closed pipes, recovery of runs).

What greenft must do (docs/errors.md): SIGINT, SIGTERM and SIGHUP (the terminal closed) end a command with exit
130, the run marked interrupted (preempted in a sweep) and every logged epoch kept, in W&B's file and in
``greenft_epochs.jsonl`` alike; a closed stdout (``| head -3``) silences the output, not the training; after a
SIGKILL the readers take the epochs from greenft's epoch log and say so; a run file cut inside a record is
diagnosed as truncated, naming the file. Every signal here is real, sent to the real ``python -m greenft``.
"""

from __future__ import annotations

import atexit
import json
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from fault_harness import TRACEBACK_MARKS, Fault, Outcome, Workspace, assert_contract, params, run_fault

from greenft.analysis import find_offline_runs, read_offline_run, read_runs
from greenft.data import get_dataset_spec
from greenft.data.loading import resolve_paths

SMALL = ["--dataset", "b3db", "--limit", "120", "--layers", "2", "--emb-dim", "16", "--threads", "1"]
QUIET = ["--rule", "none", "--set", "logging.system_metrics=false"]
WALLCLOCK = ["--set", "tracking.meter=wallclock"]


def train(epochs: int, *extra: str, runs: str = "{runs}") -> list[str]:
    return ["train", *SMALL, *QUIET, "--max-epochs", str(epochs), "--runs-dir", runs, *extra]


def epoch_line(epoch: int) -> str:
    """The live table's row of ``epoch`` (``    2     0.6962 ...``)."""
    return rf"^\s*{epoch}\s+\d+\.\d+\s"


# ------------------------------------------------------------------------------------------------ the new run


def new_runs(runs: Path, prior: dict[str, str]) -> list[Path]:
    """The run folders (``offline-run-*``) the row made beside the prior run."""
    old = {Path(name).parts[1] for name in prior if name.startswith("wandb/offline-run-")}
    return sorted(p for p in (runs / "wandb").glob("offline-run-*") if p.name not in old)


def the_new_run(outcome: Outcome) -> Path:
    (run,) = new_runs(outcome.workspace.runs, outcome.workspace.prior)
    return run


def logged_epochs(run: Path) -> list[int]:
    return [json.loads(line)["epoch"] for line in (run / "files" / "greenft_epochs.jsonl").read_text().splitlines()]


def run_kept(statuses: set[str], min_epochs: int, exit_codes: set[int]) -> Callable[[Outcome], None]:
    """The new run closed properly: its status, every logged epoch in both copies, W&B's exit record."""

    def check(outcome: Outcome) -> None:
        run = the_new_run(outcome)
        epochs = logged_epochs(run)
        assert len(epochs) >= min_epochs and epochs == list(range(1, len(epochs) + 1)), epochs
        summary = json.loads((run / "files" / "greenft_summary.json").read_text())
        assert summary["status"] in statuses and summary.get("total/epochs", 0) == len(epochs), summary
        wandb_run = read_offline_run(run)
        assert [row["epoch"] for row in wandb_run.history if "epoch" in row] == epochs, "W&B lost logged epochs"
        assert wandb_run.summary.get("status") == summary["status"] and wandb_run.exit_code in exit_codes
        assert wandb_run.truncated_at is None

    return check


def interrupted_run(min_epochs: int = 2) -> Callable[[Outcome], None]:
    kept = run_kept({"interrupted"}, min_epochs, {130})

    def check(outcome: Outcome) -> None:
        assert "interrupted" in outcome.output
        kept(outcome)

    return check


def finished_run(epochs: int) -> Callable[[Outcome], None]:
    return run_kept({"finished"}, epochs, {0})


def nothing_half_written(outcome: Outcome) -> None:
    """A stop before the first epoch: no run, or one closed as interrupted with 0 epochs (never half a run)."""
    for run in new_runs(outcome.workspace.runs, outcome.workspace.prior):
        files = run / "files"
        summary = json.loads((files / "greenft_summary.json").read_text())
        assert summary["status"] == "interrupted", summary
        assert logged_epochs(run) == list(range(1, summary.get("total/epochs", 0) + 1))
        assert json.loads((files / "greenft_config.json").read_text())["data"]["dataset"] == "b3db"
        assert read_offline_run(run).exit_code == 130


def loading_data(pid: int, workspace: Workspace) -> bool:
    """While greenft reads the dataset (its file is open), or at the latest once W&B's run folder appears."""
    (data,) = resolve_paths(get_dataset_spec("b3db"))
    with_fds = Path(f"/proc/{pid}/fd")
    try:
        if any(os.readlink(fd) == str(data) for fd in with_fds.iterdir()):
            return True
    except OSError:
        pass  # a descriptor closed while being listed: look again
    return bool(new_runs(workspace.runs, workspace.prior))


def epochs_logged(count: int) -> Callable[[int, Workspace], bool]:
    """Once a new run's epoch log holds ``count`` epochs (for commands that print no epoch lines)."""

    def ready(pid: int, workspace: Workspace) -> bool:
        for run in new_runs(workspace.runs, workspace.prior):
            log = run / "files" / "greenft_epochs.jsonl"
            if log.is_file() and len(log.read_bytes().splitlines()) >= count:
                return True
        return False

    return ready


def starting_wandb(pid: int, workspace: Workspace) -> bool:
    """Once W&B has made the run's folder (``wandb.init`` under way)."""
    return bool(new_runs(workspace.runs, workspace.prior))


# ------------------------------------------------------------------------------------------------ recovery


@cache
def killed_run() -> Path:
    """A real run killed with SIGKILL after its third epoch, made once per session (several rows read it)."""
    root = Path(tempfile.mkdtemp(prefix="greenft-killed-"))
    atexit.register(shutil.rmtree, root, True)
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DISABLE_GIT="true", COLUMNS="200")
    command = [sys.executable, "-m", "greenft", *train(200, *WALLCLOCK, runs=str(root / "runs"))]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if re.search(epoch_line(3), line):
            process.kill()
            break
    process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL, "".join(seen)
    return root / "runs"


def copy_killed_run(name: str) -> Callable[[Workspace], None]:
    def prepare(workspace: Workspace) -> None:
        shutil.copytree(killed_run(), workspace.path(name), symlinks=True)

    return prepare


def with_prior(name: str, then: Callable[[Workspace], None] | None = None) -> Callable[[Workspace], None]:
    """A copy of the prior finished run (its own folder ``name``; the prior files stay untouched)."""

    def prepare(workspace: Workspace) -> None:
        shutil.copytree(workspace.runs, workspace.path(name), symlinks=True)
        if then is not None:
            then(workspace)

    return prepare


def cut_epoch_log(name: str, drop_wandb: bool = False) -> Callable[[Workspace], None]:
    """Cut the copy's ``greenft_epochs.jsonl`` inside its last record (and drop W&B's copy of the epochs)."""

    def then(workspace: Workspace) -> None:
        (log,) = workspace.path(name).glob("wandb/offline-run-*/files/greenft_epochs.jsonl")
        data = log.read_bytes()
        log.write_bytes(data[: len(data) - 40])
        if drop_wandb:
            (run_file,) = log.parent.parent.glob("run-*.wandb")
            run_file.unlink()

    return with_prior(name, then)


def foreign_cut_wandb_file(workspace: Workspace) -> None:
    """Only W&B's file of a run (as another tool leaves it), cut inside a record."""
    (run_file,) = find_offline_runs(workspace.runs)
    data = run_file.read_bytes()
    target = workspace.path("foreign") / run_file.name
    target.parent.mkdir()
    target.write_bytes(data[: len(data) * 2 // 3])


def killed_and_read(outcome: Outcome) -> None:
    """SIGKILL left W&B's file without (all) the epochs greenft's log holds; the reader takes the log, says so."""
    run = the_new_run(outcome)
    epochs = logged_epochs(run)
    assert len(epochs) >= 3 and not (run / "files" / "greenft_summary.json").exists()
    (record,) = [r for r in read_runs(run, use_cache=False) if r.run_id in run.name]
    assert [row["epoch"] for row in record.history] == epochs and record.state == "incomplete"
    assert record.note is not None and "killed" in record.note and "greenft_epochs.jsonl" in record.note


def says(*patterns: str) -> Callable[[Outcome], None]:
    def check(outcome: Outcome) -> None:
        for pattern in patterns:
            found = re.search(pattern, outcome.output, re.MULTILINE)
            assert found, f"no match for {pattern!r} in:\n{outcome.output[-3000:]}"

    return check


def in_report(folder: str, *patterns: str, absent: tuple[str, ...] = ()) -> Callable[[Outcome], None]:
    def check(outcome: Outcome) -> None:
        report = (outcome.workspace.path(folder) / "report.md").read_text()
        for pattern in patterns:
            assert re.search(pattern, report), f"no match for {pattern!r} in report.md"
        for text in absent:
            assert text not in report, f"{text!r} in report.md"

    return check


def both(*checks: Callable[[Outcome], None]) -> Callable[[Outcome], None]:
    def check(outcome: Outcome) -> None:
        for one in checks:
            one(outcome)

    return check


ANALYZE = ["analyze", "--no-cache", "--no-png", "--no-html", "--no-grid"]
NOTE_KILLED = (
    r"note run \w+: no summary: the run was killed \(or is still running\); [3-9] epoch\(s\) are read from "
    r"\S+greenft_epochs\.jsonl; W&B's run-\w+\.wandb holds \d+ epoch"
)


# ---------------------------------------------------------------------------------------------------- sweeps

TINY_SWEEP = """name: tiny
method: grid
parameters:
  model: {values: [gin]}
  dataset: {values: [b3db]}
  seed: {values: [0, 1]}
  limit: {value: 120}
  num_layers: {value: 2}
  emb_dim: {value: 16}
  max_epochs: {value: 200}
  beta: {value: 0.0}
  threads: {value: 1}
  tracking.meter: {value: wallclock}
  logging.system_metrics: {value: false}
"""


def sweep_file(workspace: Workspace) -> None:
    workspace.write("tiny.yaml", TINY_SWEEP)


def sweep_preempted(outcome: Outcome) -> None:
    from greenft.sweeps.state import StateStore

    (state_file,) = outcome.workspace.runs.glob("sweeps/*/state.json")
    state = StateStore(state_file.parent).load()
    assert state is not None and [t.status for t in state.trials] == ["preempted"], state
    run = the_new_run(outcome)
    summary = json.loads((run / "files" / "greenft_summary.json").read_text())
    assert summary["status"] == "preempted" and summary["total/epochs"] == len(logged_epochs(run)) >= 1
    assert [r["epoch"] for r in read_offline_run(run).history if "epoch" in r] == logged_epochs(run)


def agent_preempted(outcome: Outcome) -> None:
    run = the_new_run(outcome)
    summary = json.loads((run / "files" / "greenft_summary.json").read_text())
    assert summary["status"] == "preempted" and summary["total/epochs"] == len(logged_epochs(run)) >= 2
    wandb_run = read_offline_run(run)
    assert [r["epoch"] for r in wandb_run.history if "epoch" in r] == logged_epochs(run)
    assert wandb_run.exit_code == 130


def corpus_file(workspace: Workspace) -> None:
    from greenft.data.corpus import moses_path, read_smiles_file

    workspace.write("corpus.smi", "\n".join(read_smiles_file(moses_path())[:400]) + "\n")


def pretrain_saved(outcome: Outcome) -> None:
    (state,) = outcome.workspace.path("pretrain").rglob("pretrain_state.pt")
    assert state.stat().st_size > 0 and not list(state.parent.glob("*.tmp*"))
    assert re.search(r"stopped at step \d+ of 5,000; state saved", outcome.output)


def pretraining(pid: int, workspace: Workspace) -> bool:
    """Once pretraining has logged its first steps (its step log has a line)."""
    return any(log.stat().st_size > 0 for log in workspace.path("pretrain").rglob("pretrain_log.jsonl"))


SHARED_CACHE = os.environ.get("GREENFT_CACHE_DIR") or str(Path.home() / ".cache" / "greenft")
"""Pretraining's corpus excludes every labelled dataset's molecules: minutes the first time, then cached. The
row shares the test suite's cache instead of paying that in each fresh workspace."""

PRETRAIN = ["pretrain", "gin-contrastive", "--corpus-file", "{tmp}/corpus.smi", "--corpus-size", "200"]
PRETRAIN += ["--steps", "5000", "--layers", "1", "--emb-dim", "16", "--batch-size", "8", "--meter", "wallclock"]
PRETRAIN += ["--threads", "1", "--out", "{tmp}/pretrain"]


# ------------------------------------------------------------------------------------------------------ rows

ROWS: list[Fault] = [
    # SIGHUP (terminal closed) = SIGTERM = Ctrl-C: exit 130, run interrupted, every logged epoch in both copies
    Fault(
        "train-sighup-mid-training",
        train(200),
        exit_code=130,
        send=signal.SIGHUP,
        send_after=epoch_line(2),
        check=interrupted_run(),
    ),
    Fault(
        "train-sigterm-mid-training",
        train(200, *WALLCLOCK),
        exit_code=130,
        send=signal.SIGTERM,
        send_after=epoch_line(2),
        check=interrupted_run(),
        slow=True,  # the same as tests/agents/test_interrupt.py: the reference the SIGHUP row is held to
    ),
    Fault(
        "train-sigint-twice",
        train(200, *WALLCLOCK),
        exit_code=130,
        send=signal.SIGINT,
        send_after=epoch_line(2),
        send_times=2,
        send_interval_s=0.3,
        send_to_group=True,
        check=interrupted_run(),
    ),
    Fault(
        "train-sighup-twice",
        train(200, *WALLCLOCK),
        exit_code=130,
        send=signal.SIGHUP,
        send_after=epoch_line(2),
        send_times=2,
        send_interval_s=0.2,
        check=interrupted_run(),
        slow=True,
    ),
    Fault(
        "train-sigterm-while-loading-data",
        train(200, *WALLCLOCK),
        exit_code=130,
        send=signal.SIGTERM,
        send_when=loading_data,
        check=nothing_half_written,
    ),
    Fault(
        "train-sighup-while-loading-data",
        train(200, *WALLCLOCK),
        exit_code=130,
        send=signal.SIGHUP,
        send_when=loading_data,
        check=nothing_half_written,
        slow=True,
    ),
    Fault(
        "train-sigterm-while-wandb-starts",
        train(200, *WALLCLOCK),
        exit_code=130,
        send=signal.SIGTERM,
        send_when=starting_wandb,
        check=run_kept({"interrupted"}, 0, {130}),
    ),
    Fault(
        "train-sigterm-while-closing",
        train(3, *WALLCLOCK),
        exit_code=130,
        send=signal.SIGTERM,
        send_after=epoch_line(3),
        check=run_kept({"finished", "interrupted"}, 3, {0, 130}),
    ),
    # A closed stdout: the run completes, printing stops quietly
    Fault(
        "train-piped-to-head-3",
        train(3),
        exit_code=0,
        shell_suffix="| head -3",
        check=finished_run(3),
    ),
    Fault(
        "train-stdout-closed-mid-run",
        train(6, *WALLCLOCK),
        exit_code=0,
        shell_suffix="2>&1 | head -14",
        check=both(finished_run(6), says(r"^\s*1\s+\d")),
    ),
    Fault(
        "train-stdout-closed-from-the-start",
        train(2, *WALLCLOCK),
        exit_code=0,
        shell_suffix=">&-",
        check=finished_run(2),
        slow=True,
    ),
    Fault(
        "analyze-piped-to-head-1",
        [*ANALYZE, "--source", "{tmp}/pool", "--out", "{tmp}/report"],
        exit_code=0,
        prepare=with_prior("pool"),
        shell_suffix="| head -1",
        check=in_report("report", r"Runs read: 1; complete curves analysed: 1\."),
        slow=True,
    ),
    # Recovery after SIGKILL and of files cut mid-record
    Fault(
        "train-sigkill-epochs-recovered-from-jsonl",
        train(200, *WALLCLOCK),
        exit_code=-signal.SIGKILL,
        send=signal.SIGKILL,
        send_after=epoch_line(3),
        check=killed_and_read,
    ),
    Fault(
        "analyze-after-sigkill",
        [*ANALYZE, "--source", "{tmp}/killed", "--out", "{tmp}/report"],
        exit_code=0,
        prepare=copy_killed_run("killed"),
        message=NOTE_KILLED,
        check=in_report(
            "report",
            r"state 'incomplete': only finished runs give a full curve \(no summary: the run was killed",
            absent=("a live run that stopped",),
        ),
    ),
    Fault(
        "tune-after-sigkill",
        ["tune", "--source", "{tmp}/pool", "--out", "{tmp}/tune", "--trials", "3", "--seed", "1"],
        exit_code=0,
        prepare=with_prior("pool", then=lambda w: shutil.copytree(killed_run(), w.path("pool/killed"), symlinks=True)),
        message=NOTE_KILLED,
        slow=True,
    ),
    Fault(
        "analyze-epoch-log-cut-mid-record-read-from-wandb",
        [*ANALYZE, "--source", "{tmp}/torn", "--out", "{tmp}/report"],
        exit_code=0,
        prepare=cut_epoch_log("torn"),
        message=(
            r"note run \w+: \S+greenft_epochs\.jsonl ends inside a record, after epoch 1 \(cut while writing\); "
            r"2 epoch\(s\) are read from W&B's copy"
        ),
        check=says(r"1 complete curves analysed, 0 skipped"),
    ),
    Fault(
        "analyze-epoch-log-cut-mid-record-without-wandb",
        [*ANALYZE, "--source", "{tmp}/torn", "--out", "{tmp}/report"],
        exit_code=0,
        prepare=cut_epoch_log("torn", drop_wandb=True),
        message=r"note run \w+: truncated: \S+greenft_epochs\.jsonl ends inside a record, after epoch 1",
        check=in_report("report", r"state 'truncated'", absent=("a live run that stopped",)),
    ),
    Fault(
        "analyze-wandb-file-cut-mid-record",
        [*ANALYZE, "--source", "{tmp}/foreign", "--out", "{tmp}/report"],
        exit_code=0,
        prepare=foreign_cut_wandb_file,
        message=r"note run \w+: truncated: \S+run-\w+\.wandb ends inside a record at byte \d+ \(cut while writing\)",
        check=in_report(
            "report", r"truncated: \S+run-\w+\.wandb ends inside a record", absent=("a live run that stopped",)
        ),
    ),
    # The other long-running commands end the same way on SIGHUP
    Fault(
        "sweep-run-sighup",
        ["sweep", "run", "{tmp}/tiny.yaml", "--workers", "1", "--runs-dir", "{runs}"],
        exit_code=130,
        prepare=sweep_file,
        send=signal.SIGHUP,
        send_when=epochs_logged(2),
        message=r"preempted",
        check=sweep_preempted,
        slow=True,
    ),
    Fault(
        "agent-sighup",
        [
            "agent",
            "dataset=b3db",
            "limit=120",
            "num_layers=2",
            "emb_dim=16",
            "max_epochs=200",
            "beta=0.0",
            "threads=1",
            "tracking.meter=wallclock",
            "logging.system_metrics=false",
            "logging.runs_dir={runs}",
        ],
        exit_code=130,
        send=signal.SIGHUP,
        send_after=r"^epoch 2:",
        message=r"preempted",
        check=agent_preempted,
        slow=True,
    ),
    Fault(
        "pretrain-sighup",
        PRETRAIN,
        exit_code=130,
        prepare=corpus_file,
        env={"GREENFT_CACHE_DIR": SHARED_CACHE},
        send=signal.SIGHUP,
        send_when=pretraining,
        check=pretrain_saved,
        slow=True,
    ),
]


@pytest.mark.parametrize("fault", params(ROWS))
def test_fault(fault: Fault, workspace: Workspace) -> None:
    assert_contract(fault, run_fault(fault, workspace))


def test_closing_the_terminal_ends_training_like_sigterm(workspace: Workspace) -> None:
    """A real terminal (a pty) closed mid-training: the kernel sends SIGHUP and every later write fails (EIO)."""
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DISABLE_GIT="true", COLUMNS="200")
    argv = [sys.executable, "-m", "greenft", *(workspace.format(a) for a in train(200, *WALLCLOCK))]
    pid, terminal = pty.fork()
    if pid == 0:  # the child: a session of its own with the pty as its controlling terminal
        os.chdir(workspace.root)
        os.execve(sys.executable, argv, env)
    seen = b""
    deadline = time.monotonic() + 600
    second_epoch = re.compile(rb"\s2\s+\d+\.\d{4}\s+\d+\.\d{4}\s")  # the live table's row of epoch 2
    try:
        while not second_epoch.search(re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", seen)):
            assert time.monotonic() < deadline, seen.decode(errors="replace")[-3000:]
            seen += os.read(terminal, 65536)  # EIO here: the child ended early (the assertions below say how)
    except OSError:
        pass
    finally:
        os.close(terminal)  # the terminal is gone: SIGHUP to its session
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 130, seen.decode(errors="replace")[-3000:]
    assert not any(mark.encode() in seen for mark in TRACEBACK_MARKS)
    outcome = Outcome(130, seen.decode(errors="replace"), "", workspace)
    run_kept({"interrupted"}, 2, {130})(outcome)
