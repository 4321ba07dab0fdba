"""The table-driven bad-input and fault suite: one :class:`Fault` row per case, run as a new user runs greenft.

Why a table: issue 12 measured greenft on 100+ bad inputs and faults; each class of mistake (a traceback, a
silent wrong result, a lost run) must stay fixed, and a table makes a new case one line. Every row runs the real
``python -m greenft`` in a subprocess, on real files, with real signals where it sends one, and asserts:

- the exit code (0 done, 1 a run greenft cannot stand behind, 2 a user error, 130 interrupted; docs/errors.md);
- no traceback, Python's or rich's;
- for exit 2, exactly one line starting with ``error:``, last in the output, matching the row's ``message``;
- the prior run files in the workspace's runs folder are byte for byte intact (nothing already written is lost).

Rows are grouped by class in ``test_*.py`` files beside this one, each exporting ``ROWS``; ``test_table.py``
counts them.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conftest import stop_signals_at_default

TRACEBACK_MARKS = ("Traceback (most recent call last)", "Exception ignored")
"""Python's traceback header, which rich's and Typer's framed tracebacks carry in their title too (a box-drawing
character alone is no mark: every table greenft prints on success has them), and the interpreter's "Exception
ignored" report of an error at exit (e.g. flushing a closed pipe)."""
ERROR_PREFIX = "error:"


@dataclass
class Workspace:
    """A row's private folder: ``runs`` holds a copy of a real finished run (the prior run files)."""

    root: Path
    runs: Path
    prior: dict[str, str] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.root / name

    def write(self, name: str, content: str | bytes) -> Path:
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
        return target

    def format(self, text: str) -> str:
        return text.format(tmp=self.root, runs=self.runs, prior=self.prior_run)

    @property
    def prior_run(self) -> Path:
        """The folder of the prior run (the one holding ``greenft_epochs.jsonl``)."""
        (epochs,) = self.runs.glob("**/greenft_epochs.jsonl")
        return epochs.parent


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    workspace: Workspace

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.startswith(ERROR_PREFIX)]


@dataclass(frozen=True)
class Fault:
    """One bad input or fault and what greenft must do with it.

    ``argv`` follows ``greenft``; ``{tmp}``, ``{runs}`` and ``{prior}`` are replaced by the workspace's root, its
    runs folder and the prior run's folder. ``prepare`` writes the bad files; ``around`` holds a mount (read-only,
    full) for the duration; ``send`` delivers a signal once the process printed ``send_after`` (a regex), or once
    ``send_when(pid, workspace)`` is true (polled; for a moment that prints nothing, e.g. while the data loads),
    ``send_times`` times ``send_interval_s`` apart (Ctrl-C twice), to the whole process group when
    ``send_to_group`` (default: for SIGHUP only, as a closing terminal sends it); ``check`` adds the row's own
    assertions on the outcome (a warning printed, a file written, a status recorded).
    """

    id: str
    argv: Sequence[str]
    exit_code: int = 2
    message: str | None = None
    prepare: Callable[[Workspace], None] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    stdin: str | None = None
    send: int | None = None
    send_after: str | None = None
    check: Callable[[Outcome], None] | None = None
    around: Callable[[Workspace], AbstractContextManager[Any]] | None = None  # e.g. a read-only or full mount
    slow: bool = False
    timeout_s: float = 600.0
    shell_suffix: str | None = None  # e.g. "| head -3": the command runs through bash with this appended
    prefix: Sequence[str] = ()  # a command greenft runs under, e.g. UNPRIVILEGED (root without its file override)
    send_when: Callable[[int, Workspace], bool] | None = None
    send_times: int = 1
    send_interval_s: float = 0.5
    send_to_group: bool | None = None


def params(rows: Sequence[Fault]) -> list[Any]:
    """``rows`` as pytest params, slow ones marked ``slow``."""
    ids = [row.id for row in rows]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, f"duplicate fault ids: {sorted(duplicates)}"
    return [pytest.param(row, id=row.id, marks=[pytest.mark.slow] if row.slow else []) for row in rows]


def digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``. Symbolic links are left out: W&B's ``wandb/latest-run``,
    ``debug.log`` and ``debug-internal.log`` point at the newest run, and a row that starts a run beside the
    prior one moves them by design; the files they pointed at are digested under their own names."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def make_workspace(tmp_path: Path, prior_runs: Path) -> Workspace:
    runs = tmp_path / "runs"
    shutil.copytree(prior_runs, runs, symlinks=True)
    return Workspace(root=tmp_path, runs=runs, prior=digest(runs))


def _environment(fault: Fault, workspace: Workspace) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        COLUMNS="400",  # rich wraps at the terminal width: one logical line must stay one line
        PYTHONUNBUFFERED="1",
        WANDB_MODE="offline",
        WANDB_SILENT="true",
        WANDB_DISABLE_GIT="true",
        HOME=str(workspace.root / "home"),
    )
    env.update({key: workspace.format(value) for key, value in fault.env.items()})
    return {key: value for key, value in env.items() if value != "<unset>"}


def run_fault(fault: Fault, workspace: Workspace) -> Outcome:
    """Run the row's command in ``workspace`` and return what happened (assertions: :func:`assert_contract`)."""
    with fault.around(workspace) if fault.around is not None else nullcontext():
        return _run(fault, workspace)


def _run(fault: Fault, workspace: Workspace) -> Outcome:
    if fault.prepare is not None:
        fault.prepare(workspace)
    argv = [workspace.format(arg) for arg in fault.argv]
    command: list[str] = [*fault.prefix, sys.executable, "-m", "greenft", *argv]
    if fault.shell_suffix is not None:
        command = ["bash", "-o", "pipefail", "-c", " ".join(map(_quote, command)) + " " + fault.shell_suffix]
    process = subprocess.Popen(
        command,
        cwd=workspace.root,
        env=_environment(fault, workspace),
        stdin=subprocess.PIPE if fault.stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=stop_signals_at_default,  # Ctrl-C rows: the child starts as from a terminal (tests/conftest.py)
    )
    if fault.send is None:
        stdout, stderr = process.communicate(fault.stdin, timeout=fault.timeout_s)
    else:
        stdout, stderr = _signal_when_ready(process, fault, workspace)
    return Outcome(process.returncode, stdout, stderr, workspace)


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def _signal_when_ready(process: subprocess.Popen[str], fault: Fault, workspace: Workspace) -> tuple[str, str]:
    """Send ``fault.send`` once stdout matches ``fault.send_after`` (read line by line) or ``fault.send_when``
    holds (polled), then collect the rest."""
    assert process.stdout is not None and fault.send is not None
    seen: list[str] = []
    deadline = time.monotonic() + fault.timeout_s
    if fault.send_when is not None:
        while not fault.send_when(process.pid, workspace):
            if process.poll() is not None or time.monotonic() > deadline:
                out, err = process.communicate()
                raise AssertionError("the process ended before the moment to signal it:\n" + out + err)
            time.sleep(0.01)
    else:
        pattern = re.compile(fault.send_after or ".")
        for line in process.stdout:
            seen.append(line)
            if pattern.search(line):
                break
            if time.monotonic() > deadline:
                break
        else:
            raise AssertionError("the process ended before printing " + repr(fault.send_after) + ":\n" + "".join(seen))
    group = fault.send_to_group if fault.send_to_group is not None else fault.send == signal.SIGHUP
    for number in range(fault.send_times):
        if number:
            time.sleep(fault.send_interval_s)
        with suppress(ProcessLookupError):  # a repeated signal may find the process gone: that is fine
            os.killpg(process.pid, fault.send) if group else process.send_signal(fault.send)
    stdout, stderr = process.communicate(timeout=fault.timeout_s)
    return "".join(seen) + stdout, stderr


def assert_contract(fault: Fault, outcome: Outcome) -> None:
    """The assertions every row makes (see the module docstring)."""
    output = outcome.output
    context = f"\n--- exit {outcome.returncode}, output:\n{output[-4000:]}"
    for mark in TRACEBACK_MARKS:
        assert mark not in output, "a traceback was printed" + context
    assert outcome.returncode == fault.exit_code, f"expected exit {fault.exit_code}" + context
    if fault.exit_code == 2:
        lines = outcome.error_lines
        assert len(lines) == 1, f"expected exactly one '{ERROR_PREFIX}' line, got {len(lines)}" + context
        last = [line for line in output.splitlines() if line.strip()][-1]
        assert last == lines[0], "the error must be the last line printed, on one line" + context
    if fault.message is not None:
        target = "\n".join(outcome.error_lines) if fault.exit_code == 2 else output
        assert re.search(fault.message, target), f"no match for {fault.message!r}" + context
    after = digest(outcome.workspace.runs)
    for name, sha in outcome.workspace.prior.items():
        assert after.get(name) == sha, f"prior run file {name} was changed or removed" + context
    if fault.check is not None:
        fault.check(outcome)


UNPRIVILEGED: tuple[str, ...] = (
    ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--") if os.geteuid() == 0 else ()
)
"""For ``Fault.prefix``: run greenft without root's power to read and write through permission bits (the suite
runs as root here and in CI), so a file made unreadable with ``chmod 000`` is unreadable to greenft too."""


def read_only(name: str) -> Callable[[Workspace], AbstractContextManager[Any]]:
    """For ``Fault.around``: the workspace folder ``name`` cannot be written (a read-only mount as root, where
    permission bits do not stop writes; mode 0555 otherwise)."""

    @contextmanager
    def around(workspace: Workspace) -> Iterator[Path]:
        target = workspace.path(name)
        if os.geteuid() == 0:
            with mounted_tmpfs(target, read_only=True):
                yield target
        else:
            target.mkdir(parents=True, exist_ok=True)
            target.chmod(0o555)
            try:
                yield target
            finally:
                target.chmod(0o755)

    return around


def full_disk(name: str, size: str = "64k") -> Callable[[Workspace], AbstractContextManager[Any]]:
    """For ``Fault.around``: the workspace folder ``name`` is a filesystem of ``size`` bytes (skipped where this
    machine cannot mount one)."""

    @contextmanager
    def around(workspace: Workspace) -> Iterator[Path]:
        with mounted_tmpfs(workspace.path(name), size=size) as target:
            yield target

    return around


@contextmanager
def mounted_tmpfs(target: Path, size: str = "1m", read_only: bool = False) -> Iterator[Path]:
    """A small (full-able) or read-only tmpfs at ``target``; skips the row where this machine cannot mount.

    Why a mount: the suite runs as root here and in CI, and root writes through permission bits, so a read-only
    or full folder must be a real filesystem that says so.
    """
    target.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)
