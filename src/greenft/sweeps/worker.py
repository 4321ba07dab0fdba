"""A local sweep worker: one long-lived process that runs trials handed to it by the embedded controller.

Why a long-lived process per worker rather than one process per trial: importing torch, RDKit and W&B costs
several seconds, often more than a small trial itself. Why a process at all rather than a thread: trials own
the process-wide torch thread pool, signal handlers and W&B's run state, and a crash (or the OOM killer) must
take down one worker, not the sweep.

Protocol (JSON lines). The controller writes commands to the worker's stdin:
``{"cmd": "trial", "index", "attempt", "config", "sweep", "metric"}``, ``{"cmd": "stop", "index", "reason"}``
(early termination, honoured at the next epoch end) and ``{"cmd": "exit"}``. The worker answers on the file
descriptor given by ``--result-fd``: ``ready``, ``started`` (run id and path), ``epoch`` (the sweep metric) and
``done`` (``finished``, ``crashed`` with the error, or ``preempted``) events. Its stdout/stderr go to a log file.

Signals: the controller starts each worker in its own session, so a terminal's Ctrl-C reaches the controller
only, and the controller sends each busy worker exactly one SIGTERM: the trial ends at once, with every epoch
logged so far kept and its run marked preempted. A worker whose controller has vanished stops its trial the
same way at the next batch.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import sys
import time
import traceback
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from greenft.schema import epoch_row, read_summary
from greenft.signals import install, signals_held


class LineReader:
    """Newline-delimited reads from a raw file descriptor, blocking or polling (no buffering surprises)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.eof = False

    def readline(self, timeout: float | None) -> str | None:
        """The next complete line; None on timeout or end of file (then ``eof`` is set)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self.buffer:
            if self.eof:
                return None
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.fd], [], [], wait)
            if not ready:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                self.eof = True
                continue
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode("utf-8")


class _Worker:
    def __init__(self, commands: LineReader, results: TextIO, number: int) -> None:
        self.commands = commands
        self.results = results
        self.number = number
        self.parent = os.getppid()
        self.stopping = False
        self.in_setup = False
        self.stop_requests: dict[int, str] = {}

    # ------------------------------------------------------------------------------------------ signals
    def install_signal_handlers(self) -> None:
        def on_signal(signum: int, frame: types.FrameType | None) -> None:
            if self.stopping:
                return  # a repeated signal must not cut the closing of a run's logs short
            self.stopping = True
            if self.in_setup:
                return  # loading data / starting W&B: the trial stops as soon as its run exists (on_start)
            raise KeyboardInterrupt(f"signal {signum}")  # what run_trial treats as an interrupt

        install(on_signal)  # for the worker's whole life: it runs one trial after another

    def check_parent(self) -> None:
        """End the trial (as preempted) when the controller is gone: nobody would record its result."""
        if os.getppid() != self.parent:
            self.stopping = True
            raise KeyboardInterrupt("sweep controller is gone")

    # ------------------------------------------------------------------------------------------ messages
    def send(self, event: dict[str, Any]) -> None:
        from greenft.sweeps.state import jsonable

        line = json.dumps(jsonable(event), default=str) + "\n"
        with signals_held() as held:  # never half a line: the controller parses every one
            self.results.write(line)
            self.results.flush()
        if held:
            signal.raise_signal(held[0])  # now, to whichever handler is in force (trial or idle)

    def poll_commands(self) -> None:
        """Collect stop requests that arrived during a trial (the controller sends nothing else then)."""
        while (line := self.commands.readline(timeout=0)) is not None:
            message = json.loads(line)
            if message.get("cmd") == "stop":
                self.stop_requests[int(message["index"])] = str(message.get("reason") or "stopped by the sweep")
            elif message.get("cmd") == "exit":
                self.stopping = True

    # ------------------------------------------------------------------------------------------ one trial
    def run_one(self, message: dict[str, Any]) -> dict[str, Any]:
        from greenft.agents.config import TrialConfig
        from greenft.agents.trial import EpochRecord, TrialContext, run_trial

        index = int(message["index"])
        metric_name: str | None = message.get("metric")
        started = time.monotonic()
        run_path: list[Path] = []

        def done(status: str, summary: dict[str, Any] | None = None, error: str | None = None) -> dict[str, Any]:
            if summary is None and run_path:
                summary = read_summary(run_path[0])
            return {
                "event": "done",
                "index": index,
                "status": status,
                "summary": summary or {},
                "error": error,
                "seconds": round(time.monotonic() - started, 3),
            }

        def on_start(context: TrialContext) -> None:
            run_path.append(context.run_path)
            run_id = context.run_path.name.rsplit("-", 1)[-1]
            self.send({"event": "started", "index": index, "run_path": str(context.run_path), "run_id": run_id})
            self.in_setup = False
            if self.stopping:  # a stop that came during setup: end now, as a preempted run with 0 epochs
                raise KeyboardInterrupt("stopped while the trial was starting")

        def on_epoch(record: EpochRecord, context: TrialContext) -> str | None:
            row = epoch_row(record, context.metric.value, context.live_label)
            values = {metric_name: row[metric_name]} if metric_name and metric_name in row else {}
            self.send(
                {
                    "event": "epoch",
                    "index": index,
                    "epoch": record.epoch,
                    "values": values,
                    "val": record.val_metric,
                    "emissions_kg": record.fit.emissions_kg,
                }
            )
            self.poll_commands()
            return self.stop_requests.pop(index, None)

        self.in_setup = True  # a stop in here would interrupt wandb.init and leave an empty run behind
        try:
            config = TrialConfig.model_validate(message["config"])
            run_trial(
                config,
                on_start=on_start,
                on_epoch=on_epoch,
                on_batch=self.check_parent,
                run_metadata={"sweep": message["sweep"]},
                preemptible=True,
            )
        except KeyboardInterrupt:
            self.stopping = True  # whichever handler raised it (the trial's own during epochs): take no more work
            return done("preempted")
        except Exception as err:  # any error ends this trial only: the sweep goes on
            traceback.print_exc()
            sys.stdout.flush()
            return done("crashed", error=f"{type(err).__name__}: {err}")
        finally:
            self.in_setup = False
        result_summary = read_summary(run_path[0]) if run_path else None
        return done("finished", summary=result_summary)

    # ------------------------------------------------------------------------------------------ main loop
    def serve(self, prepare: Callable[[], None]) -> int:
        try:
            prepare()
            self.send({"event": "ready", "pid": os.getpid(), "worker": self.number})
            while not self.stopping:
                line = self.commands.readline(timeout=None)
                if line is None:
                    break  # controller closed our stdin: the sweep is over (or the controller died)
                message = json.loads(line)
                if message.get("cmd") == "exit":
                    break
                if message.get("cmd") != "trial":
                    continue  # a stop request for a trial that already ended
                print(f"--- trial {message['index']} attempt {message.get('attempt')}", flush=True)
                self.send(self.run_one(message))
        except KeyboardInterrupt:
            pass  # stopped while idle: nothing to close
        return 0


def _prepare() -> None:
    """Pay the heavy imports before reporting ready, so the first trial's time is the trial's own."""
    import greenft.agents.trial  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="greenft sweep worker (started by `greenft sweep run`)")
    parser.add_argument("--result-fd", type=int, required=True, help="file descriptor for result events")
    parser.add_argument("--worker", type=int, default=0, help="worker number, for logs")
    args = parser.parse_args(argv)
    results = os.fdopen(args.result_fd, "w", encoding="utf-8", buffering=1)
    worker = _Worker(LineReader(sys.stdin.fileno()), results, args.worker)
    worker.install_signal_handlers()
    return worker.serve(_prepare)


if __name__ == "__main__":
    sys.exit(main())
