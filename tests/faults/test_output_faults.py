"""Fault rows: outputs that cannot be written, full disks, W&B's environment, damaged sweep state (issue 12).

Every command that writes must refuse to start, in one line naming the folder, when that folder cannot take a
file (a read-only file system, a file in the way), before any data or model is loaded, and W&B must never fall
back to a temporary folder. A disk that fills while greenft writes gives one line naming the path and "no space
left on device" (exit 2: the user frees space and runs again), and leaves every file written before whole: the
epoch log keeps complete lines, the sweep state stays readable and resumable, a report or tuning output is old or
new, never half. A damaged sweep state is named and left as it is, never silently replaced.

The read-only and full folders are real file systems (tmpfs mounts made by the row): the suite runs as root, and
root writes through permission bits. A folder that fills *during* a run is filled by a thread of this test once
the run has written its first record; the folder's contents are copied aside before it is unmounted, so a row's
``check`` can read what the run left behind.
"""

from __future__ import annotations

import csv
import errno
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from fault_harness import Fault, Outcome, Workspace, assert_contract, mounted_tmpfs, params, read_only, run_fault

from greenft.sweeps.state import SweepState, sweep_dir

SMALL = [
    "--dataset", "b3db", "--limit", "120", "--max-epochs", "2", "--threads", "1",
    "--layers", "2", "--emb-dim", "16", "--rule", "none", "--set", "logging.system_metrics=false",
]  # fmt: skip
AGENT = ["dataset=b3db", "limit=120", "max_epochs=2", "layers=2", "emb_dim=16", "threads=1", "rule=none"]
PRETRAIN = ["pretrain", "gin-contrastive", "--steps", "2", "--corpus-size", "50", "--threads", "1"]
NO_W_AND_B_KEY = {"WANDB_MODE": "<unset>", "WANDB_API_KEY": "<unset>", "WANDB_BASE_URL": "<unset>"}

TINY_SWEEP = """\
name: tiny
method: grid
parameters:
  dataset:
    value: b3db
  limit:
    value: 120
  max_epochs:
    value: 2
  layers:
    value: 2
  emb_dim:
    value: 16
  rule:
    value: none
"""
FILLER = ".filler"


# ------------------------------------------------------------------------------------------------ preparing


def write(name: str, content: str | bytes) -> Callable[[Workspace], None]:
    """``prepare``: write ``content`` (``{tmp}`` and ``{runs}`` replaced) to ``name`` in the workspace."""

    def prepare(workspace: Workspace) -> None:
        workspace.write(name, workspace.format(content) if isinstance(content, str) else content)

    return prepare


def both(*steps: Callable[[Workspace], None]) -> Callable[[Workspace], None]:
    def prepare(workspace: Workspace) -> None:
        for step in steps:
            step(workspace)

    return prepare


@functools.cache
def tiny_sweep_id() -> str:
    """The id greenft gives :data:`TINY_SWEEP`, as a user sees it (``greenft sweep validate``), once a session."""
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"greenft-faults-io-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny.yaml").write_text(TINY_SWEEP)
    done = subprocess.run(
        [sys.executable, "-m", "greenft", "sweep", "validate", str(folder / "tiny.yaml")],
        capture_output=True, text=True, env=dict(os.environ, COLUMNS="400"), check=False,
    )  # fmt: skip
    shutil.rmtree(folder, ignore_errors=True)
    found = re.search(r"sweep id (\w+)", done.stdout)
    assert found, done.stdout + done.stderr
    return found.group(1)


def state_path(workspace: Workspace) -> Path:
    return sweep_dir(workspace.runs, "tiny", tiny_sweep_id()) / "state.json"


def valid_state_text() -> str:
    state = SweepState(sweep_id=tiny_sweep_id(), name="tiny", method="grid", file="tiny.yaml", config={"x": 1})
    return state.model_dump_json(indent=1)


DAMAGED_STATES: dict[str, Callable[[], bytes]] = {
    "empty": lambda: b"",
    "truncated": lambda: valid_state_text().encode()[: len(valid_state_text()) // 2],
    "binary": lambda: b"\x00\xff\xfe garbage",
    "a-list": lambda: b'["not", "a", "sweep state"]',
    "wrong-fields": lambda: json.dumps({"sweep_id": 5, "trials": "none"}).encode(),
}
DAMAGE_MESSAGES = {
    "empty": r"empty file \(0 bytes\)",
    "truncated": r"not complete JSON, truncated or damaged",
    "binary": r"cannot read it|not complete JSON",
    "a-list": r"not a sweep state: top level",
    "wrong-fields": r"not a sweep state: \w+",
}


def damaged_state(kind: str) -> Callable[[Workspace], None]:
    def prepare(workspace: Workspace) -> None:
        workspace.write("tiny.yaml", TINY_SWEEP)
        path = state_path(workspace)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(DAMAGED_STATES[kind]())

    return prepare


def state_is_a_folder(workspace: Workspace) -> None:
    workspace.write("tiny.yaml", TINY_SWEEP)
    state_path(workspace).mkdir(parents=True)


def state_left_as_it_was(kind: str) -> Callable[[Outcome], None]:
    def check(outcome: Outcome) -> None:
        assert state_path(outcome.workspace).read_bytes() == DAMAGED_STATES[kind](), "the damaged state was replaced"

    return check


# ------------------------------------------------------------------------------------------------ full disks


def _fill(folder: Path) -> None:
    """Fill the file system of ``folder`` to the last byte (tmpfs allocates pages: smaller writes take the rest)."""
    fd = os.open(folder / FILLER, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for chunk in (1 << 16, 1 << 12, 1 << 9, 1):
            while True:
                try:
                    if os.write(fd, b"\0" * chunk) < chunk:
                        continue
                except OSError as err:
                    if err.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)


def _fill_when(folder: Path, ready: Callable[[Path], bool], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            if ready(folder):
                _fill(folder)
                return
        except OSError:
            pass  # a file listed a moment ago was just replaced
        time.sleep(0.02)


def disk(
    name: str,
    size: str,
    *,
    seed: dict[str, str] | None = None,
    fill_now: bool = False,
    fill_when: Callable[[Path], bool] | None = None,
) -> Callable[[Workspace], AbstractContextManager[Any]]:
    """For ``Fault.around``: a tmpfs of ``size`` at ``name`` holding ``seed`` (files of an earlier call), full at
    once (``fill_now``) or once ``fill_when(folder)`` holds; its contents are copied to ``name + ".after"``."""

    @contextmanager
    def around(workspace: Workspace) -> Iterator[Path]:
        with mounted_tmpfs(workspace.path(name), size=size) as folder:
            for file, text in (seed or {}).items():
                (folder / file).write_text(text)
            stop = threading.Event()
            thread = None
            if fill_now:
                _fill(folder)
            elif fill_when is not None:
                thread = threading.Thread(target=_fill_when, args=(folder, fill_when, stop), daemon=True)
                thread.start()
            try:
                yield folder
            finally:
                stop.set()
                if thread is not None:
                    thread.join(timeout=30)
                (folder / FILLER).unlink(missing_ok=True)
                shutil.copytree(folder, workspace.path(name + ".after"), symlinks=True)

    return around


def has_epoch(folder: Path) -> bool:
    return any(path.stat().st_size > 0 for path in folder.rglob("greenft_epochs.jsonl"))


def has_state(folder: Path) -> bool:
    return any(folder.rglob("state.json"))


def leftovers(folder: Path) -> list[str]:
    """Temporary files or staging folders a failed write left behind (there must be none)."""
    return [p.name for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".staging")]


def epochs_whole(name: str, at_least: int) -> Callable[[Outcome], None]:
    """The run's epoch log holds at least ``at_least`` lines, each complete JSON; no summary says finished."""

    def check(outcome: Outcome) -> None:
        after = outcome.workspace.path(name + ".after")
        logs = list(after.rglob("greenft_epochs.jsonl"))
        assert len(logs) == 1, f"expected one epoch log in {after}: {logs}"
        text = logs[0].read_text()
        assert text.endswith("\n") or not text, "the epoch log ends in half a line"
        rows = [json.loads(line) for line in text.splitlines()]
        assert len(rows) >= at_least, f"{len(rows)} epoch rows kept"
        for summary in after.rglob("greenft_summary.json"):
            assert json.loads(summary.read_text()).get("status") != "finished", "a run that failed says finished"
        assert not leftovers(after), leftovers(after)

    return check


def nothing_trained(name: str) -> Callable[[Outcome], None]:
    def check(outcome: Outcome) -> None:
        where = outcome.workspace.path(name + ".after")
        folder = where if where.exists() else outcome.workspace.path(name)
        assert not list(folder.rglob("greenft_epochs.jsonl")), "a run started although its folder was refused"
        assert "epoch" not in outcome.output.lower().split("error:")[0], "training started before the check"

    return check


def no_run_in_temp(outcome: Outcome) -> None:
    """W&B did not fall back to the system temporary folder (``TMPDIR``) and nothing was trained."""
    assert not list(outcome.workspace.path("systmp").rglob("*.wandb")), "W&B wrote the run to the temp folder"
    logs = list(outcome.workspace.root.rglob("greenft_epochs.jsonl"))
    assert logs == [outcome.workspace.prior_run / "greenft_epochs.jsonl"], f"a run was written somewhere: {logs}"


def run_lands_in(name: str) -> Callable[[Outcome], None]:
    def check(outcome: Outcome) -> None:
        logs = list(outcome.workspace.path(name).rglob("greenft_epochs.jsonl"))
        assert len(logs) == 1 and logs[0].read_text().count("\n") >= 2, f"no complete run under {name}"

    return check


def report_whole(outcome: Outcome) -> None:
    """The report folder that filled up: the earlier report.md untouched, every table complete, no leftovers."""
    after = outcome.workspace.path("report.after")
    assert (after / "report.md").read_text() == "# an earlier report\n"
    assert (after / "report.html").read_text() == "<html>an earlier page</html>\n"
    for table in after.glob("*.csv"):  # the earlier table, or a new one written whole (atomically)
        text = table.read_text()
        assert text == "old,table\n1,2\n" or (text.endswith("\n") and list(csv.reader(text.splitlines()))), table
    assert not leftovers(after), leftovers(after)


def journal_whole(outcome: Outcome) -> None:
    """The tuning journal that filled up: whole JSON lines only (a resumed study can read it); outputs of the
    earlier call untouched."""
    after = outcome.workspace.path("tune.after")
    text = (after / "optuna_journal.log").read_bytes()
    assert text.endswith(b"\n"), "the journal ends in half a line"
    assert all(json.loads(line) is not None for line in text.splitlines())
    assert (after / "best_configs.yaml").read_text() == "earlier: configs\n"
    assert not leftovers(after), leftovers(after)


def state_whole(outcome: Outcome) -> None:
    """The sweep state after its disk filled: readable, the right sweep, no trial counted as crashed."""
    after = outcome.workspace.path("disk.after")
    (path,) = after.rglob("state.json")
    state = SweepState.model_validate_json(path.read_text())
    assert state.name == "tiny" and state.sweep_id == tiny_sweep_id()
    assert state.count("crashed") == 0, [t.attempts for t in state.trials]
    assert not leftovers(after), leftovers(after)


def sweep_trial_queued_again(outcome: Outcome) -> None:
    (path,) = outcome.workspace.path("sr").rglob("state.json")
    state = SweepState.model_validate_json(path.read_text())
    assert [t.status for t in state.trials] == ["preempted"], [t.status for t in state.trials]


RO = r"cannot write: read-only file system"
FILE_IN_WAY = r"cannot write: a part of the path is a file, not a folder"
IS_A_FILE = r"cannot write: a file of that name exists where a folder is expected"
NO_SPACE = r"cannot write: no space left on device"

ROWS: list[Fault] = [
    # --- runs folders that cannot be written: refused before any data is loaded, never a temp-folder fallback
    Fault(
        "train-runs-dir-read-only",
        ["train", *SMALL, "--runs-dir", "{tmp}/ro"],
        message=rf"^error: runs folder \(--runs-dir, logging.runs_dir\) \S+/ro: {RO}",
        env={"TMPDIR": "{tmp}/systmp"},
        prepare=lambda ws: ws.path("systmp").mkdir(),
        around=read_only("ro"),
        check=no_run_in_temp,
    ),
    Fault(
        "train-runs-dir-below-read-only",
        ["train", *SMALL, "--runs-dir", "{tmp}/ro/runs"],
        message=rf"runs folder .*/ro/runs: {RO}",
        env={"TMPDIR": "{tmp}/systmp"},
        prepare=lambda ws: ws.path("systmp").mkdir(),
        around=read_only("ro"),
        check=no_run_in_temp,
    ),
    Fault(
        "train-runs-dir-under-a-file",
        ["train", *SMALL, "--runs-dir", "{tmp}/afile/runs"],
        message=rf"runs folder .*/afile/runs: {FILE_IN_WAY}",
        prepare=write("afile", "a file, not a folder\n"),
    ),
    Fault(
        "train-runs-dir-is-a-file",
        ["train", *SMALL, "--runs-dir", "{tmp}/afile"],
        message=rf"runs folder .*/afile: {IS_A_FILE}",
        prepare=write("afile", "a file, not a folder\n"),
    ),
    Fault(
        "train-config-runs-dir-read-only",
        ["train", "--config", "{tmp}/trial.yaml", *SMALL],
        message=rf"runs folder .*/ro: {RO}",
        prepare=write("trial.yaml", "logging:\n  runs_dir: {tmp}/ro\n"),
        around=read_only("ro"),
    ),
    Fault(
        "train-wandb-disabled-runs-dir-read-only",
        ["train", *SMALL, "--wandb-mode", "disabled", "--runs-dir", "{tmp}/ro"],
        message=rf"runs folder .*/ro: {RO}",
        around=read_only("ro"),
    ),
    Fault(
        "agent-runs-dir-read-only",
        ["agent", *AGENT, "runs_dir={tmp}/ro"],
        message=rf"runs folder .*/ro: {RO}",
        around=read_only("ro"),
        check=nothing_trained("ro"),
    ),
    Fault(
        "sweep-run-runs-dir-read-only",
        ["sweep", "run", "{tmp}/tiny.yaml", "--runs-dir", "{tmp}/ro", "--threads", "1"],
        message=rf"runs folder .*/ro: {RO}",
        prepare=write("tiny.yaml", TINY_SWEEP),
        around=read_only("ro"),
    ),
    Fault(
        "sweep-run-runs-dir-under-a-file",
        ["sweep", "run", "{tmp}/tiny.yaml", "--runs-dir", "{tmp}/afile/runs", "--threads", "1"],
        message=rf"runs folder .*/afile/runs: {FILE_IN_WAY}",
        prepare=both(write("tiny.yaml", TINY_SWEEP), write("afile", "x\n")),
    ),
    # --- report, tuning and pretraining folders that cannot be written: refused before reading or training
    Fault(
        "analyze-out-read-only",
        ["analyze", "--source", "{runs}", "--out", "{tmp}/ro/report"],
        message=rf"report folder \(--out\) .*/ro/report: {RO}",
        around=read_only("ro"),
    ),
    Fault(
        "analyze-out-is-a-file",
        ["analyze", "--source", "{runs}", "--out", "{tmp}/afile"],
        message=rf"report folder \(--out\) .*/afile: {IS_A_FILE}",
        prepare=write("afile", "x\n"),
    ),
    Fault(
        "tune-out-read-only",
        ["tune", "--source", "{runs}", "--out", "{tmp}/ro", "--trials", "2", "--storage", "memory"],
        message=rf"tune output folder \(--out\) .*/ro: {RO}",
        around=read_only("ro"),
    ),
    Fault(
        "tune-out-under-a-file",
        ["tune", "--source", "{runs}", "--out", "{tmp}/afile/tune", "--trials", "2", "--storage", "memory"],
        message=rf"tune output folder \(--out\) .*/afile/tune: {FILE_IN_WAY}",
        prepare=write("afile", "x\n"),
    ),
    Fault(
        "tune-journal-read-only",
        ["tune", "--source", "{runs}", "--out", "{tmp}/tune", "--trials", "2", "--storage", "{tmp}/ro/j.log"],
        message=r"journal file .*/ro/j\.log",
        around=read_only("ro"),
    ),
    Fault(
        "pretrain-out-read-only",
        [*PRETRAIN, "--out", "{tmp}/ro/gin"],
        message=rf"pretraining run folder \(--out\) .*/ro/gin: {RO}",
        around=read_only("ro"),
    ),
    Fault(
        "pretrain-default-home-read-only",
        PRETRAIN,
        message=rf"pretraining run folder \(--out\) .*/ro/checkpoints/gin-contrastive: {RO}",
        env={"GREENFT_HOME": "{tmp}/ro"},
        around=read_only("ro"),
    ),
    Fault(
        "pretrain-out-is-a-file",
        [*PRETRAIN, "--out", "{tmp}/afile"],
        message=rf"pretraining run folder \(--out\) .*/afile: {IS_A_FILE}",
        prepare=write("afile", "x\n"),
    ),
    # --- W&B's environment
    Fault(
        "train-wandb-mode-invalid",
        ["train", *SMALL, "--runs-dir", "{tmp}/r"],
        message=r"WANDB_MODE='bogus' in the environment: expected one of online, offline",
        env={"WANDB_MODE": "bogus"},
        check=nothing_trained("r"),
    ),
    Fault(
        "train-wandb-mode-upper-case",
        ["train", *SMALL, "--runs-dir", "{tmp}/r"],
        message=r"WANDB_MODE='OFFLINE' in the environment: .*lower case",
        env={"WANDB_MODE": "OFFLINE"},
    ),
    Fault(
        "train-wandb-mode-empty",
        ["train", *SMALL, "--runs-dir", "{tmp}/r"],
        message=r"WANDB_MODE='' in the environment",
        env={"WANDB_MODE": ""},
    ),
    Fault(
        "agent-wandb-mode-invalid",
        ["agent", *AGENT, "runs_dir={tmp}/r"],
        message=r"WANDB_MODE='bogus' in the environment",
        env={"WANDB_MODE": "bogus"},
        check=nothing_trained("r"),
    ),
    Fault(
        "sweep-run-wandb-mode-invalid",
        ["sweep", "run", "{tmp}/tiny.yaml", "--runs-dir", "{tmp}/r", "--threads", "1"],
        message=r"WANDB_MODE='bogus' in the environment",
        env={"WANDB_MODE": "bogus"},
        prepare=write("tiny.yaml", TINY_SWEEP),
        check=nothing_trained("r"),
    ),
    Fault(
        "tune-live-wandb-mode-invalid",
        ["tune", "--live", "--config", "{tmp}/trial.yaml", "--out", "{tmp}/tune", "--trials", "1"],
        message=r"WANDB_MODE='bogus' in the environment",
        env={"WANDB_MODE": "bogus"},
        prepare=write("trial.yaml", "logging:\n  runs_dir: {tmp}/r\n"),
        check=nothing_trained("r"),
    ),
    Fault(
        "analyze-wandb-source-wandb-mode-invalid",
        ["analyze", "--source", "wandb:someone/project", "--out", "{tmp}/report"],
        message=r"WANDB_MODE='bogus' in the environment",
        env={"WANDB_MODE": "bogus"},
    ),
    Fault(
        "analyze-wandb-source-without-api-key",
        ["analyze", "--source", "wandb:someone/project", "--out", "{tmp}/report"],
        message=r"cannot read W&B runs of wandb:someone/project: \w+: No API key configured",
        env=NO_W_AND_B_KEY,
    ),
    Fault(
        "sweep-create-wandb-mode-invalid",
        ["sweep", "create", "{tmp}/tiny.yaml"],
        message=r"WANDB_MODE='bogus' in the environment",
        env={"WANDB_MODE": "bogus"},
        prepare=write("tiny.yaml", TINY_SWEEP),
    ),
    Fault(
        "sweep-create-without-api-key",
        ["sweep", "create", "{tmp}/tiny.yaml"],
        message=r"could not create the sweep on W&B \(\w+: No API key configured.*wandb login",
        env=NO_W_AND_B_KEY,
        prepare=write("tiny.yaml", TINY_SWEEP),
    ),
    Fault(
        "train-wandb-dir-read-only",  # --runs-dir wins over WANDB_DIR: the run is where the user asked
        ["train", *SMALL, "--runs-dir", "{tmp}/r"],
        exit_code=0,
        env={"WANDB_DIR": "{tmp}/ro"},
        around=read_only("ro"),
        check=run_lands_in("r"),
    ),
    Fault(
        "train-online-without-api-key",
        ["train", *SMALL, "--wandb-mode", "online", "--runs-dir", "{tmp}/r"],
        message=r"W&B could not start an online run .*No API key configured.*wandb login",
        env=NO_W_AND_B_KEY,
        check=nothing_trained("r"),
    ),
    Fault(
        "agent-online-without-api-key",
        ["agent", *AGENT, "runs_dir={tmp}/r"],
        message=r"W&B could not start an online run .*No API key configured",
        env={**NO_W_AND_B_KEY, "WANDB_MODE": "online"},
        check=nothing_trained("r"),
    ),
    Fault(
        "sweep-run-online-without-api-key",  # one line and a stop, not one crashed trial after another
        ["sweep", "run", "{tmp}/tiny.yaml", "--runs-dir", "{tmp}/sr", "--threads", "1", "--wandb-mode", "online"],
        message=r"trial t0000 could not run: W&B could not start an online run .*; the sweep stopped",
        env=NO_W_AND_B_KEY,
        prepare=write("tiny.yaml", TINY_SWEEP),
        check=sweep_trial_queued_again,
        slow=True,
    ),
    # --- caches: a read-only cache costs time and a warning, not the run
    Fault(
        "train-cache-read-only",
        ["train", *SMALL, "--runs-dir", "{tmp}/r"],
        exit_code=0,
        message=r"cache \S+/ro/graphs not written \(read-only file system\)",
        env={"GREENFT_CACHE_DIR": "{tmp}/ro"},
        around=read_only("ro"),
        check=run_lands_in("r"),
    ),
    Fault(
        "datasets-show-cache-read-only",
        ["datasets", "show", "b3db"],
        exit_code=0,
        message=r"b3db",
        env={"GREENFT_CACHE_DIR": "{tmp}/ro"},
        around=read_only("ro"),
    ),
    # --- full disks: one line naming the path, earlier files whole
    Fault(
        "train-runs-dir-full-at-start",
        ["train", *SMALL, "--runs-dir", "{tmp}/disk"],
        message=rf"runs folder .*/disk: {NO_SPACE}; free some space",
        around=disk("disk", "64k", fill_now=True),
        check=nothing_trained("disk"),
    ),
    Fault(
        "train-disk-fills-during-run",
        ["train", *SMALL, "--max-epochs", "30", "--runs-dir", "{tmp}/disk"],
        message=rf"{NO_SPACE}.*epoch\(s\) logged before are kept in \S+greenft_epochs\.jsonl; the run did not finish",
        around=disk("disk", "4m", fill_when=has_epoch),
        check=epochs_whole("disk", at_least=1),
        slow=True,
    ),
    Fault(
        "analyze-report-disk-fills",
        ["analyze", "--source", "{runs}", "--out", "{tmp}/report"],
        message=rf"report folder .*/report: {NO_SPACE}",
        around=disk(
            "report",
            "1m",
            seed={
                "report.md": "# an earlier report\n",
                "report.html": "<html>an earlier page</html>\n",
                "runs.csv": "old,table\n1,2\n",
            },
        ),
        check=report_whole,
    ),
    Fault(
        "tune-journal-disk-fills",
        ["tune", "--source", "{runs}", "--out", "{tmp}/tune", "--trials", "2000", "--seed", "1"],
        message=r"optuna_journal\.log: .*(?i:no space left on device)",
        around=disk("tune", "48k", seed={"best_configs.yaml": "earlier: configs\n"}),
        check=journal_whole,
    ),
    Fault(
        "sweep-disk-fills-after-state",
        ["sweep", "run", "{tmp}/tiny.yaml", "--runs-dir", "{tmp}/disk", "--threads", "1"],
        message=NO_SPACE,
        prepare=write("tiny.yaml", TINY_SWEEP),
        around=disk("disk", "4m", fill_when=has_state),
        check=state_whole,
        slow=True,
    ),
    # --- a damaged sweep state: named, left as it is, shown by `sweep status` and refused by `sweep run`
    *(
        Fault(
            f"sweep-status-state-{kind}",
            ["sweep", "status", "{tmp}/tiny.yaml", "--runs-dir", "{runs}"],
            message=rf"\S+state\.json: unreadable sweep state \({DAMAGE_MESSAGES[kind]}.*move it away",
            prepare=damaged_state(kind),
            check=state_left_as_it_was(kind),
        )
        for kind in DAMAGED_STATES
    ),
    Fault(
        "sweep-status-state-is-a-folder",
        ["sweep", "status", "{tmp}/tiny.yaml", "--runs-dir", "{runs}"],
        message=r"\S+state\.json: unreadable sweep state \(cannot read it: .*Is a directory",
        prepare=state_is_a_folder,
    ),
    *(
        Fault(
            f"sweep-run-state-{kind}",
            ["sweep", "run", "{tmp}/tiny.yaml", "--runs-dir", "{runs}", "--threads", "1"],
            message=rf"\S+state\.json: unreadable sweep state \({DAMAGE_MESSAGES[kind]}.*left as it is",
            prepare=damaged_state(kind),
            check=state_left_as_it_was(kind),
        )
        for kind in ("empty", "truncated", "a-list")
    ),
]


@pytest.mark.parametrize("fault", params(ROWS))
def test_fault(fault: Fault, workspace: Workspace) -> None:
    assert_contract(fault, run_fault(fault, workspace))
