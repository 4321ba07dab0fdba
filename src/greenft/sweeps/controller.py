"""The embedded sweep controller: W&B's own search engine, run locally, with no W&B server.

``greenft sweep run FILE`` does what W&B's server and ``wandb agent`` do together: it asks W&B's open-source
``sweeps`` engine for the next parameters (grid, random or Bayesian; hyperband ``early_terminate`` too), runs
each trial on one of K local worker processes, and records every trial in a state file so that:

* re-running the same command continues the same sweep (the sweep id is a hash of the YAML's content);
* a finished trial is never run again: the engine sees every recorded trial (a grid skips their points) and
  ``--count`` is the sweep's total, not this invocation's;
* a trial that crashed is recorded as ``crashed`` with its error, counted, and the sweep goes on;
* a trial stopped by Ctrl-C / SIGTERM is ``preempted`` and runs again, with the same parameters, on resume.

Random and Bayesian proposals are seeded from the sweep id and the trial number, so a sweep file proposes the
same trials on every machine (W&B's server does not promise that; greenft's own runs do).

Every trial is an ordinary greenft run (W&B offline by default) whose config carries ``sweep`` (id, name,
method, trial, attempt, params), W&B group = the sweep name and tag ``sweep:<id>``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenft.agents.config import ConfigError, TrialConfig
from greenft.agents.run_log import RUNS_FOLDER, WandbSettingsError, WandbUnavailableError, check_wandb_environment
from greenft.agents.threads import free_cores, load_1min, usable_cores
from greenft.io import OutputError, ensure_writable_directory, output_errors
from greenft.schema import Point, point_key
from greenft.schema.codec import tidy
from greenft.schema.summary import AT_EMISSIONS, AT_EPOCH, AT_VAL, METRIC, STOP_EXTERNAL, STOP_REASON, TOTAL_EPOCHS
from greenft.signals import sigterm_as_interrupt
from greenft.sweeps.params import trial_config_from_sweep
from greenft.sweeps.spec import SweepFileError, SweepSpec, plain, sweep_engine
from greenft.sweeps.state import (
    DONE,
    Attempt,
    StateStore,
    SweepState,
    SweepStoppedError,
    TrialRecord,
    TrialStatus,
    jsonable,
    now,
    sweep_dir,
)
from greenft.sweeps.worker import LineReader

Report = Callable[[str], None]

STOPS_THE_SWEEP: tuple[str, ...] = tuple(
    cls.__name__ for cls in (OutputError, WandbUnavailableError, WandbSettingsError)
)
"""Errors a trial reports (as ``"<class name>: <message>"``, the worker's form) that every later trial would meet
too: a runs folder that is full or cannot be written, W&B that cannot start. The sweep stops with the error as its
one line and the trial is queued again (preempted), instead of crashing trial after trial and counting them."""


class _Stop(Exception):
    """Internal: leave the main loop because :attr:`SweepController.failure` is set."""


@dataclass(frozen=True)
class SweepProgress:
    """Where the sweep stands, for a progress bar: trials done (finished or crashed, earlier calls included) out
    of the target, and the trials running now."""

    done: int
    target: int
    running: tuple[str, ...]


ProgressHook = Callable[[SweepProgress], None]
WORKER_MODULE = "greenft.sweeps.worker"


@dataclass
class SweepOptions:
    """How to run a sweep here (the YAML says *what* to run)."""

    count: int | None = None
    workers: int = 1
    runs_dir: Path = Path("runs")
    wandb_mode: str = "offline"
    threads: int | None = None
    retry_crashed: bool = False
    grace_s: float = 120.0
    base: TrialConfig | None = None
    worker_command: list[str] | None = None
    """Override the worker process (tests); default ``python -m greenft.sweeps.worker``."""


@dataclass
class SweepOutcome:
    state: SweepState
    state_path: Path
    interrupted: bool
    ran: int


def seed_for(sweep_id: str, trial: int) -> int:
    return int(hashlib.sha256(f"{sweep_id}:{trial}".encode()).hexdigest()[:8], 16)


def target_trials(spec: SweepSpec, count: int | None) -> int:
    """How many trials the sweep has in all: ``--count``, capped by ``run_cap`` and by a grid's size."""
    caps = [c for c in (count, spec.run_cap, spec.grid_size()) if c is not None]
    if not caps:
        raise SweepFileError(
            f"{spec.path}: a {spec.method} sweep never ends by itself: pass --count N or set run_cap in the file"
        )
    return min(caps)


_ENGINE_STATE = {"pending": "pending", "preempted": "pending", "running": "running"}


def engine_run(trial: TrialRecord) -> Any:
    """A recorded trial as the engine's ``SweepRun`` (finished/crashed as such; queued ones as pending)."""
    engine = sweep_engine()
    state = trial.status if trial.status in DONE else _ENGINE_STATE[trial.status]
    return engine.SweepRun(
        name=trial.trial_id,
        state=state,
        config=trial.wandb_config,
        summary_metrics={k: v for k, v in trial.summary.items() if v is not None},
        history=trial.history,
    )


def propose(spec: SweepSpec, state: SweepState) -> TrialRecord | None:
    """The engine's next trial given every recorded one; None when a grid is exhausted."""
    engine = sweep_engine()
    index = len(state.trials)
    seed = seed_for(spec.sweep_id, index)
    random.seed(seed)
    import numpy as np

    np.random.seed(seed)
    suggestion = engine.next_run(spec.config, [engine_run(t) for t in state.trials], validate=False)
    if suggestion is None:
        return None
    wandb_config = tidy(plain(suggestion.config))  # 0.82, not the engine's 0.8200000000000001 (a q_* step)
    params = {name: entry["value"] for name, entry in wandb_config.items()}
    info = plain(suggestion.search_info) if suggestion.search_info else None
    return TrialRecord(index=index, params=params, wandb_config=wandb_config, search_info=info)


def describe(params: dict[str, Any], spec: SweepSpec | None = None) -> str:
    """``name=value`` for the parameters the sweep varies (its ``value:`` constants would only add noise)."""
    if spec is None:
        return " ".join(f"{k}={v}" for k, v in params.items())
    order = [n for n, p in spec.config["parameters"].items() if p.get("distribution") != "constant"]
    return " ".join(f"{k}={_short(params[k])}" for k in order if k in params)


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@dataclass
class _Worker:
    number: int
    process: subprocess.Popen[bytes]
    reader: LineReader
    result_fd: int
    log_path: Path
    ready: bool = False
    trial: int | None = None
    stop_sent: set[int] = field(default_factory=set)

    def send(self, message: dict[str, Any]) -> bool:
        stdin = self.process.stdin
        if stdin is None:
            return False
        try:
            stdin.write((json.dumps(jsonable(message), default=str) + "\n").encode())
            stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False


class SweepController:
    """Runs one sweep spec to its target with K workers; see the module docstring."""

    def __init__(
        self, spec: SweepSpec, options: SweepOptions, report: Report = print, progress: ProgressHook | None = None
    ) -> None:
        self.spec = spec
        self.options = options
        self.report = report
        self.progress = progress
        self.directory = sweep_dir(options.runs_dir, spec.name, spec.sweep_id)
        self.store = StateStore(self.directory)
        self.state: SweepState | None = None
        self.workers: list[_Worker] = []
        self.selector = selectors.DefaultSelector()
        self.target = target_trials(spec, options.count)
        self.exhausted = False
        self.ran = 0
        self.deaths = 0
        self.failure: SweepStoppedError | None = None
        """Why the sweep must stop (set once, by a state that cannot be saved or a trial's environment error)."""
        self.base = self._base_config()

    # ------------------------------------------------------------------------------------------ setup
    def _base_config(self) -> TrialConfig:
        """The options' base trial config plus what every trial of this sweep shares (logging, threads)."""
        base = (self.options.base or TrialConfig()).model_dump(mode="json")
        logging = base["logging"]
        logging["runs_dir"] = str(self.options.runs_dir)
        logging["wandb_mode"] = self.options.wandb_mode
        logging["group"] = self.spec.name
        logging["tags"] = [*logging.get("tags", []), f"sweep:{self.spec.sweep_id}"]
        if self.spec.raw.get("project"):
            logging["project"] = self.spec.raw["project"]
        if self.spec.raw.get("entity"):
            logging["entity"] = self.spec.raw["entity"]
        if self.options.threads is not None:
            base["threads"] = self.options.threads
        elif base.get("threads") is None:
            # the cores free now, shared by the workers (the default a single trial uses: greenft.agents.threads)
            base["threads"] = max(1, free_cores(usable_cores(), load_1min()) // max(1, self.options.workers))
        return TrialConfig.model_validate(base)

    def _load_state(self) -> SweepState:
        if self.store.exists():
            state = self.store.load()
            if state.sweep_id != self.spec.sweep_id:
                raise SweepFileError(f"{self.store.path} belongs to sweep {state.sweep_id}, not {self.spec.sweep_id}")
            for trial in state.trials:
                if trial.status == "running":  # its controller was killed outright
                    trial.status = "preempted"
                    attempt = trial.last_attempt
                    if attempt is not None and attempt.status == "running":
                        attempt.status, attempt.ended_at = "preempted", now()
                        attempt.error = "controller ended without recording this attempt"
                if self.options.retry_crashed and trial.status == "crashed":
                    trial.status = "pending"
            return state
        return SweepState(
            sweep_id=self.spec.sweep_id,
            name=self.spec.name,
            method=self.spec.method,
            file=str(self.spec.path),
            config=self.spec.raw,
        )

    # ------------------------------------------------------------------------------------------ bookkeeping
    @property
    def _state(self) -> SweepState:
        assert self.state is not None
        return self.state

    def _save(self) -> None:
        """Write the state, then tell the progress hook: every change a user should see passes through here.

        A state that cannot be written (a full disk) does not raise here, in the middle of bookkeeping: the file
        keeps its last good version (atomic writes), :attr:`failure` is set, and the main loop stops the sweep
        as it stops on Ctrl-C, so the trials running now are closed and queued again for the resume."""
        try:
            self.store.save(self._state)
        except OutputError as err:
            self._stop_for(
                f"{err}; the sweep stopped and {self.store.path.name} keeps its last saved state: free space and "
                "run the same command again to resume"
            )
            return
        if self.progress is not None:
            running = tuple(self._state.by_index(w.trial).trial_id for w in self.workers if w.trial is not None)
            self.progress(SweepProgress(self._done(), self.target, running))

    def _stop_for(self, message: str) -> None:
        if self.failure is None:
            self.failure = SweepStoppedError(message)

    def _in_flight(self) -> int:
        return sum(1 for w in self.workers if w.trial is not None)

    def _done(self) -> int:
        return self._state.count(*DONE)

    def _retryable(self) -> list[TrialRecord]:
        busy = {w.trial for w in self.workers}
        return [t for t in self._state.trials if t.status in ("pending", "preempted") and t.index not in busy]

    def _take_work(self) -> TrialRecord | None:
        """The next trial to start: a queued/preempted one first, else a new proposal, else None."""
        if self._done() + self._in_flight() >= self.target:
            return None
        queued = self._retryable()
        if queued:
            return queued[0]
        if self.exhausted or len(self._state.trials) >= self.target:
            return None
        trial = propose(self.spec, self._state)
        if trial is None:
            self.exhausted = True
            return None
        self._state.trials.append(trial)
        self._save()
        return trial

    def _remaining_work(self) -> bool:
        if self._done() >= self.target:
            return False
        if self._retryable():
            return True
        return not self.exhausted and len(self._state.trials) < self.target

    # ------------------------------------------------------------------------------------------ workers
    def _spawn(self, number: int) -> _Worker:
        read_fd, write_fd = os.pipe()
        log_path = self.directory / f"worker-{number}.log"
        command = self.options.worker_command or [sys.executable, "-m", WORKER_MODULE]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [*command, "--result-fd", str(write_fd), "--worker", str(number)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
                start_new_session=True,  # Ctrl-C reaches the controller only; it stops workers one signal each
                env=env,
            )
        os.close(write_fd)
        worker = _Worker(number, process, LineReader(read_fd), read_fd, log_path)
        self.selector.register(read_fd, selectors.EVENT_READ, worker)
        return worker

    def _retire(self, worker: _Worker, timeout: float = 10.0) -> None:
        with suppress(KeyError, ValueError):
            self.selector.unregister(worker.result_fd)
        if worker.process.stdin is not None:
            with suppress(OSError):
                worker.process.stdin.close()
        try:
            worker.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()
        with suppress(OSError):
            os.close(worker.result_fd)

    def _log_tail(self, worker: _Worker, lines: int = 12) -> str:
        try:
            text = worker.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    # ------------------------------------------------------------------------------------------ trials
    def _dispatch(self, worker: _Worker, trial: TrialRecord) -> None:
        attempt = Attempt(number=len(trial.attempts) + 1, worker=worker.number)
        trial.attempts.append(attempt)
        try:
            config = trial_config_from_sweep(trial.params, self.base)
        except ConfigError as err:
            self._finish(trial, "crashed", error=str(err).replace("\n", " "))
            return
        suffix = f"-a{attempt.number}" if attempt.number > 1 else ""
        config.logging.name = f"{self.spec.name}-{trial.trial_id}{suffix}"
        trial.status = "running"
        trial.history = []
        worker.trial = trial.index
        self._save()
        if self.failure is not None:  # the state could not record the start: run nothing it does not know of
            worker.trial = None
            trial.status = "preempted"
            trial.attempts.pop()
            return
        metadata = {
            "id": self.spec.sweep_id,
            "name": self.spec.name,
            "method": self.spec.method,
            "file": str(self.spec.path),
            "trial": trial.trial_id,
            "index": trial.index,
            "attempt": attempt.number,
            "params": trial.params,
            "controller": "greenft",
        }
        message = {
            "cmd": "trial",
            "index": trial.index,
            "attempt": attempt.number,
            "config": config.model_dump(mode="json"),
            "sweep": metadata,
            "metric": self.spec.metric_name,
        }
        retry = f", attempt {attempt.number}" if attempt.number > 1 else ""
        self.report(f"{trial.trial_id} start   {describe(trial.params, self.spec)} (worker {worker.number}{retry})")
        if not worker.send(message):
            worker.trial = None
            self._finish(trial, "crashed", error="worker did not accept the trial (its process ended)")

    def _finish(
        self,
        trial: TrialRecord,
        status: TrialStatus,
        summary: dict[str, Any] | None = None,
        error: str | None = None,
        seconds: float | None = None,
    ) -> None:
        trial.status = status
        if summary:
            trial.summary = summary
        attempt = trial.last_attempt
        if attempt is not None:
            attempt.status = status
            attempt.ended_at = now()
            attempt.error = error
            attempt.seconds = seconds
        self.ran += 1
        self._save()
        self.report(self._result_line(trial, status, error, seconds))

    def _result_line(self, trial: TrialRecord, status: TrialStatus, error: str | None, seconds: float | None) -> str:
        took = f" in {seconds:.1f} s" if seconds is not None else ""
        if status == "finished":
            s = trial.summary
            metric = s.get(METRIC, "")
            val = s.get(point_key(Point.STOP, AT_VAL, metric))
            kg = s.get(point_key(Point.STOP, AT_EMISSIONS))
            parts = [f"stop epoch {s.get(point_key(Point.STOP, AT_EPOCH))}/{s.get(TOTAL_EPOCHS)}"]
            if isinstance(val, int | float):
                parts.append(f"val {metric} {val:.4f}")
            if isinstance(kg, int | float):
                parts.append(f"{kg:.2e} kg CO2")
            if s.get(STOP_EXTERNAL):
                parts.append(f"early-terminated ({s.get(STOP_REASON)})")
            return f"{trial.trial_id} finished{took}: {', '.join(parts)}"
        if status == "crashed":
            return f"{trial.trial_id} crashed{took}: {error}"
        return f"{trial.trial_id} preempted{took}: will run again when the sweep is resumed"

    def _handle(self, worker: _Worker, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "ready":
            worker.ready = True
            return
        index = event.get("index")
        if index is None or index != worker.trial:
            return
        trial = self._state.by_index(int(index))
        attempt = trial.last_attempt
        if kind == "started" and attempt is not None:
            attempt.run_id, attempt.run_path = event.get("run_id"), event.get("run_path")
            self._save()
        elif kind == "epoch":
            if event.get("values"):
                trial.history.append(event["values"])
            if self.spec.early_terminate:
                self._save()
                self._early_terminate()
        elif kind == "done":
            worker.trial = None
            reported, error = event.get("status"), event.get("error")
            status: TrialStatus = "crashed"
            if reported in ("finished", "preempted", "crashed"):
                status = reported
            else:
                error = f"worker reported status {reported!r}: {error}"
            kind_name, _, message = str(error or "").partition(": ")
            if status == "crashed" and kind_name in STOPS_THE_SWEEP:
                status = "preempted"  # not the trial's fault: it runs again once the cause is fixed
                self._stop_for(
                    f"trial {trial.trial_id} could not run: {message}; the sweep stopped (the trial runs again "
                    "when the same command is run again)"
                )
            self._finish(trial, status, event.get("summary"), error, event.get("seconds"))

    def _early_terminate(self) -> None:
        """Ask the engine (hyperband) which running trials to stop; they end cleanly at their next epoch."""
        engine = sweep_engine()
        runs = [engine_run(t) for t in self._state.trials if t.history or t.status in DONE]
        for run in engine.stop_runs(self.spec.config, runs, validate=False):
            index = int(str(run.name)[1:])
            for worker in self.workers:
                if worker.trial == index and index not in worker.stop_sent:
                    lines = (run.early_terminate_info or {}).get("lines", [])
                    reason = f"early_terminate (hyperband): {lines[-1].strip() if lines else 'below its band'}"
                    worker.stop_sent.add(index)
                    worker.send({"cmd": "stop", "index": index, "reason": reason})

    def _handle_death(self, worker: _Worker) -> None:
        code = worker.process.returncode
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        tail = self._log_tail(worker)
        if worker.trial is not None:
            trial = self._state.by_index(worker.trial)
            worker.trial = None
            self._finish(trial, "crashed", error=f"worker {worker.number} died ({how}); log {worker.log_path}")
        elif not worker.ready:
            raise RuntimeError(f"sweep worker {worker.number} could not start ({how}); its log ends:\n{tail}")
        self._retire(worker, timeout=0)
        self.workers.remove(worker)
        self.deaths += 1

    # ------------------------------------------------------------------------------------------ main loop
    def _events(self, timeout: float) -> Iterator[tuple[_Worker, dict[str, Any]]]:
        for key, _ in self.selector.select(timeout):
            worker: _Worker = key.data
            while True:
                line = worker.reader.readline(timeout=0)
                if line is None:
                    break
                if line.strip():
                    yield worker, json.loads(line)
            if worker.reader.eof:
                with suppress(KeyError, ValueError):
                    self.selector.unregister(worker.result_fd)

    def _drain_events(self, worker: _Worker) -> list[dict[str, Any]]:
        events = []
        while (line := worker.reader.readline(timeout=0)) is not None:
            if line.strip():
                events.append(json.loads(line))
        return events

    def _loop(self) -> None:
        while True:
            if self.failure is not None:
                raise _Stop
            for worker in self.workers:
                if worker.ready and worker.trial is None:
                    trial = self._take_work()
                    if trial is None:
                        break
                    self._dispatch(worker, trial)
            if self._in_flight() == 0 and not self._remaining_work():
                return
            wanted = min(self.options.workers, self._remaining_slots())
            while len(self.workers) < wanted and self.deaths <= 3 * self.options.workers:
                self.workers.append(self._spawn(self._next_worker_number()))
            if not self.workers:
                raise RuntimeError("every sweep worker died; see the worker logs in " + str(self.directory))
            for worker, event in self._events(timeout=0.5):
                self._handle(worker, event)
            for worker in list(self.workers):
                if worker.process.poll() is not None:
                    for event in self._drain_events(worker):  # what it wrote before it died still counts
                        self._handle(worker, event)
                    self._handle_death(worker)

    def _remaining_slots(self) -> int:
        return max(0, self.target - self._done())

    def _next_worker_number(self) -> int:
        used = {w.number for w in self.workers}
        return next(n for n in range(1, 10_000) if n not in used)

    def _drain(self) -> None:
        """Stop: each busy worker gets one SIGTERM, closes its run's logs, and reports the trial preempted."""
        busy = [w for w in self.workers if w.trial is not None]
        if busy:
            self.report(
                f"stopping: {len(busy)} running trial(s) close their logs and are marked preempted "
                f"(up to {self.options.grace_s:.0f} s; Ctrl-C again to kill them)"
            )
        for worker in busy:
            with suppress(ProcessLookupError):
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.options.grace_s
        try:
            while any(w.trial is not None for w in self.workers) and time.monotonic() < deadline:
                for worker, event in self._events(timeout=0.5):
                    self._handle(worker, event)
                for worker in list(self.workers):
                    if worker.trial is not None and worker.process.poll() is not None:
                        for event in self._drain_events(worker):
                            self._handle(worker, event)
                        self._mark_preempted(worker, "worker ended without reporting")
        except KeyboardInterrupt:
            pass
        for worker in list(self.workers):
            if worker.trial is not None:
                with suppress(ProcessLookupError):
                    worker.process.kill()
                self._mark_preempted(worker, "killed while stopping")

    def _mark_preempted(self, worker: _Worker, why: str) -> None:
        if worker.trial is None:
            return
        trial = self._state.by_index(worker.trial)
        worker.trial = None
        self._finish(trial, "preempted", error=why)

    def run(self) -> SweepOutcome:
        """Run (or resume) the sweep until its target; Ctrl-C / SIGTERM stop it cleanly (``interrupted``).

        Before anything starts, the runs folder must take a file and the W&B environment must be one wandb
        accepts (one-line errors). A cause that would fail every trial (see :data:`STOPS_THE_SWEEP`, a state file
        that cannot be saved) stops the sweep like Ctrl-C and is raised, once everything is closed, as
        :class:`SweepStoppedError`."""
        ensure_writable_directory(self.options.runs_dir, RUNS_FOLDER)
        if self.options.wandb_mode != "disabled":
            check_wandb_environment()
        with output_errors(self.directory, "sweep folder"):
            self.directory.mkdir(parents=True, exist_ok=True)
        interrupted = False
        with self.store.locked(), sigterm_as_interrupt(KeyboardInterrupt):
            self.state = self._load_state()
            self._save()
            if self.failure is not None:
                raise self.failure
            self.report(self._opening_line())
            try:
                self._loop()
            except KeyboardInterrupt:
                interrupted = True
                self._drain()
            except _Stop:
                self._drain()
            finally:
                for worker in list(self.workers):
                    if worker.trial is not None:  # an unexpected error in the loop: nothing may stay "running"
                        with suppress(ProcessLookupError):
                            worker.process.send_signal(signal.SIGTERM)
                        self._mark_preempted(worker, "controller error")
                    worker.send({"cmd": "exit"})
                for worker in list(self.workers):
                    self._retire(worker)
                self.workers.clear()
                self.selector.close()
                self._save()
        if self.failure is not None:
            raise self.failure
        return SweepOutcome(self._state, self.store.path, interrupted, self.ran)

    def _opening_line(self) -> str:
        state = self._state
        done, finished, crashed = self._done(), state.count("finished"), state.count("crashed")
        queued = len(self._retryable())
        line = f"sweep {self.spec.name} ({self.spec.sweep_id}, {self.spec.method}): {self.target} trial(s)"
        if state.trials:
            line += f"; resuming with {done} done ({finished} finished, {crashed} crashed)"
            if queued:
                line += f" and {queued} to run again"
        line += f"; {self.options.workers} worker(s); state {self.store.path}"
        return line


def run_sweep(
    spec: SweepSpec, options: SweepOptions, report: Report = print, progress: ProgressHook | None = None
) -> SweepOutcome:
    """Run or resume ``spec`` locally; see :class:`SweepController`."""
    return SweepController(spec, options, report, progress).run()


def read_state(spec: SweepSpec, runs_dir: Path) -> SweepState | None:
    store = StateStore(sweep_dir(runs_dir, spec.name, spec.sweep_id))
    return store.load() if store.exists() else None
