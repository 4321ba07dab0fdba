"""The embedded controller's memory: one JSON file per sweep, rewritten atomically after every change.

Why a file and not the W&B runs themselves: offline runs cannot be queried cheaply, a run killed mid-write may
not be readable, and resuming needs to know what was *proposed* (a random or Bayesian draw cannot be drawn
again), not only what ran. The file lives next to the runs (``<runs_dir>/sweeps/<name>-<id>/state.json``), is
replaced with ``os.replace`` (a reader never sees half a file, a crash never leaves one), and a lock file keeps a
second controller off a sweep that is already running.

Trial states: ``pending`` (proposed, not started), ``running``, ``finished``, ``crashed`` (an error or a dead
worker: recorded, counted, not retried unless asked), ``preempted`` (stopped by a signal: retried on resume).
A ``running`` trial found on start-up belonged to a controller that was killed outright; it is preempted.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from greenft.errors import UserError
from greenft.io import atomic_write_text, output_errors

TrialStatus = Literal["pending", "running", "finished", "crashed", "preempted"]
DONE: tuple[TrialStatus, ...] = ("finished", "crashed")
STATE_VERSION = 1


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def jsonable(value: Any) -> Any:
    """NaN -> None and +-inf -> strings, recursively: the state file stays standard JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")  # newer state files stay readable by this version


class Attempt(_Model):
    """One execution of a trial: a preempted trial gets a second attempt (and a second W&B run)."""

    number: int
    status: TrialStatus = "running"
    started_at: str = Field(default_factory=now)
    ended_at: str | None = None
    worker: int | None = None
    run_id: str | None = None
    run_path: str | None = None
    error: str | None = None
    seconds: float | None = None


class TrialRecord(_Model):
    index: int
    params: dict[str, Any]
    """The flat sweep parameters (what ``trial_config_from_sweep`` takes)."""
    wandb_config: dict[str, Any]
    """The same in W&B's run-config form (``{"alpha": {"value": 0.9}}``), as the engine expects it back."""
    status: TrialStatus = "pending"
    attempts: list[Attempt] = Field(default_factory=list)
    summary: dict[str, Any] = Field(default_factory=dict)
    history: list[dict[str, Any]] = Field(default_factory=list)
    """Per-epoch values of the sweep metric (kept for early termination)."""
    proposed_at: str = Field(default_factory=now)
    search_info: dict[str, Any] | None = None

    @property
    def trial_id(self) -> str:
        return f"t{self.index:04d}"

    @property
    def last_attempt(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None


class SweepState(_Model):
    version: int = STATE_VERSION
    sweep_id: str
    name: str
    method: str
    file: str
    config: dict[str, Any]
    created_at: str = Field(default_factory=now)
    updated_at: str = Field(default_factory=now)
    trials: list[TrialRecord] = Field(default_factory=list)

    def count(self, *statuses: TrialStatus) -> int:
        return sum(1 for t in self.trials if t.status in statuses)

    def by_index(self, index: int) -> TrialRecord:
        return self.trials[index]


class SweepBusyError(UserError, RuntimeError):
    """Another controller holds the sweep's lock."""


class SweepStateError(UserError, ValueError):
    """A state file that cannot be read; the message names it and what to do."""


class SweepStoppedError(UserError, RuntimeError):
    """The sweep stopped for a cause every later trial would meet too (its state or runs cannot be written, W&B
    cannot start); the state file keeps the last state saved, and the same command resumes."""


def one_line(err: BaseException) -> str:
    """An exception's message on one line (the CLI prints an error as one line), else its class name."""
    return " ".join(str(err).split()) or type(err).__name__


def sweep_dir(runs_dir: Path, name: str, sweep_id: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
    return Path(runs_dir) / "sweeps" / f"{safe}-{sweep_id}"


class StateStore:
    """Load, save (atomically) and lock one sweep's state file."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / "state.json"
        self.lock_path = self.directory / "controller.lock"

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> SweepState:
        """The state, or :class:`SweepStateError` naming the file, what is wrong and what to do (one line).

        A damaged file is never replaced here: it may be the only record of what a random or Bayesian sweep
        proposed, so the user decides (move it away to start afresh, or restore a copy)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise self._unusable(f"cannot read it: {one_line(err)}") from None
        if not text.strip():
            raise self._unusable(f"empty file ({len(text.encode())} bytes)")
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as err:
            raise self._unusable(f"not complete JSON, truncated or damaged: {err}") from None
        try:
            return SweepState.model_validate(raw)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "top level"
            more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
            raise self._unusable(f"not a sweep state: {where}: {first['msg']}{more}") from None

    def _unusable(self, problem: str) -> SweepStateError:
        return SweepStateError(
            f"{self.path}: unreadable sweep state ({problem}); left as it is: move it away to start the sweep "
            "afresh (finished runs stay in the runs folder), or restore a good copy"
        )

    def save(self, state: SweepState) -> None:
        state.updated_at = now()
        self.directory.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(jsonable(state.model_dump(mode="json")), indent=1, sort_keys=False)
        atomic_write_text(self.path, payload)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the sweep's lock; :class:`SweepBusyError` when another live controller has it.

        ``flock`` locks die with their process, so a controller killed with SIGKILL never leaves a stale lock.
        """
        with output_errors(self.lock_path, "sweep lock file"):
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = self.lock_path.read_text().strip() or "?"
                raise SweepBusyError(
                    f"sweep state {self.path} is in use by another controller (pid {holder}); "
                    "wait for it to end or stop it (Ctrl-C) first"
                ) from None
            with contextlib.suppress(OSError):  # the pid only informs a second controller; the lock is the flock
                os.ftruncate(fd, 0)
                os.write(fd, str(os.getpid()).encode())
            yield
        finally:
            os.close(fd)
