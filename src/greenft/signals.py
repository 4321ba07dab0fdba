"""Signal handling shared by the commands, the trial, the agent entry point, the sweep worker and pretraining.

Why one module: every long-running part of greenft must end the same way on Ctrl-C (SIGINT), on SIGTERM
(``kill``, ``docker stop``, a forwarding ``wandb agent``) and on SIGHUP (the terminal or SSH session closed):
finish what is being written, keep every logged epoch, mark the run, exit 130. Python installs handlers only
in the main thread; elsewhere these helpers do nothing, so library callers in threads keep their own process's
behaviour.

Output is best effort, the work is not: ``greenft train ... | head -3`` closes greenft's stdout after three
lines, and a closed terminal turns every write into an error. Python ignores SIGPIPE, so such a write raises
(``BrokenPipeError``, or ``OSError(EIO)`` from a hung-up terminal) wherever it happens, rich's console exits
with code 1 on it, and the interpreter prints "Exception ignored" at exit. :func:`command_process` therefore
points a stream whose reader is gone at ``/dev/null`` and lets the command carry on.
"""

from __future__ import annotations

import atexit
import errno
import os
import signal
import sys
import threading
import types
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, TextIO, cast

Handler = Callable[[int, types.FrameType | None], None]
TERMINATING: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGHUP)
"""Signals that ask a process to end (``kill``, a closed terminal): greenft treats them as Ctrl-C."""
STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, *TERMINATING)
OUTPUT_GONE = frozenset({errno.EPIPE, errno.EIO})
"""``errno`` of a write whose reader is gone: a closed pipe (EPIPE) or a hung-up terminal (EIO)."""


def in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def install(handler: Handler, signals: Sequence[int] = STOP_SIGNALS) -> dict[int, object]:
    """Install ``handler`` for ``signals`` (main thread only) and return the handlers it replaced."""
    if not in_main_thread():
        return {}
    return {signum: signal.signal(signum, handler) for signum in signals}


def restore(previous: dict[int, object]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)  # type: ignore[arg-type]  # what signal.signal returned before


@contextmanager
def handling(handler: Handler, signals: Sequence[int] = STOP_SIGNALS) -> Iterator[None]:
    """``handler`` for ``signals`` for the duration of the block, the previous handlers restored after it."""
    previous = install(handler, signals)
    try:
        yield
    finally:
        restore(previous)


@contextmanager
def sigterm_as_interrupt(exception: type[BaseException] = KeyboardInterrupt) -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into ``exception`` for the duration, so a stopped agent or controller, or one
    whose terminal was closed, ends the way Ctrl-C ends it."""

    def raise_it(signum: int, frame: types.FrameType | None) -> None:
        raise exception(f"signal {signum}")

    with handling(raise_it, TERMINATING):
        yield


@contextmanager
def signals_held(*, urgent: bool = False) -> Iterator[list[int]]:
    """Hold SIGINT/SIGTERM/SIGHUP (and W&B's stop-from-UI, which raises through the SIGINT handler) for the
    duration.

    The caller gets the list of signals that arrived and decides whether to re-raise them. Used around the
    logging of one epoch (a stop lands between epochs, so the W&B history and the local epoch log always hold
    the same complete epochs) and around closing the logs (a second Ctrl-C, or an agent forwarding the signal
    the child already got, cannot cut the summary short). ``urgent``: a second Ctrl-C raises KeyboardInterrupt
    at once, for a wait that may hang (W&B's start on an unreachable server).
    """
    pending: list[int] = []

    def hold(signum: int, frame: types.FrameType | None) -> None:
        if urgent and signum == signal.SIGINT and signal.SIGINT in pending:
            raise KeyboardInterrupt("second Ctrl-C")
        pending.append(signum)

    with handling(hold):
        yield pending


def reraise_first(pending: list[int]) -> None:
    """Deliver the first held signal to its restored handler (each kind once)."""
    if pending:
        signal.raise_signal(pending[0])


# ------------------------------------------------------------------------------------------- a command process


class QuietWhenGone:
    """A text stream that, once its reader is gone, sends the rest of the output to ``/dev/null``.

    The file descriptor itself is pointed at ``/dev/null`` (``dup2``), so every later write through it is
    harmless too: Python's own buffers flushed at exit, a logging handler holding the original stream, rich's
    console. Any other error is raised as before.
    """

    def __init__(self, stream: TextIO) -> None:
        self.wrapped = stream
        self.gone = False

    def write(self, text: str) -> int:
        try:
            return self.wrapped.write(text)
        except OSError as err:
            self._silence(err)
            return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self.wrapped.flush()
        except OSError as err:
            self._silence(err)

    def __getattr__(self, name: str) -> Any:  # fileno, isatty, encoding, buffer, ...: the wrapped stream's
        return getattr(self.wrapped, name)

    def _silence(self, err: OSError) -> None:
        if err.errno not in OUTPUT_GONE:
            raise err
        self.gone = True
        with suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self.wrapped.fileno())
            finally:
                os.close(devnull)
        with suppress(OSError, ValueError):
            self.wrapped.flush()  # what was still buffered goes to /dev/null: nothing fails again at exit


def quiet_when_gone() -> None:
    """Wrap ``sys.stdout`` and ``sys.stderr`` in :class:`QuietWhenGone` (once)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, QuietWhenGone):
            setattr(sys, name, cast(TextIO, QuietWhenGone(stream)))


class _Exiting:
    """Stop signals once the command has ended and the interpreter exits (W&B's and CodeCarbon's exit handlers
    close their files): the first is ignored, since raising now would print a traceback from an exit handler and
    could cut a file short; a second ends the process at once (exit 130), for an exit handler that hangs.

    Python restores the default action of its handled signals late in its shutdown, after the exit handlers,
    where a stop signal would kill the process by signal; :meth:`last`, registered with :mod:`atexit` before
    W&B or CodeCarbon register theirs and so run after them, ignores the stop signals from there to the end.
    """

    def __init__(self) -> None:
        self.active = False
        self.seen = False
        self.registered = False

    def __call__(self, signum: int, frame: types.FrameType | None) -> None:
        if self.seen:
            os._exit(130)
        self.seen = True

    def register(self) -> None:
        if not self.registered:
            atexit.register(self.last)
            self.registered = True

    def begin(self) -> None:
        self.active = True
        install(self)

    def last(self) -> None:
        if self.active and in_main_thread():
            for signum in STOP_SIGNALS:
                signal.signal(signum, signal.SIG_IGN)


_EXITING = _Exiting()


@contextmanager
def command_process() -> Iterator[None]:
    """What a ``greenft`` command runs under (the CLI's entry point wraps every command in it).

    * SIGTERM and SIGHUP raise KeyboardInterrupt, as Ctrl-C does, from the first line of the command on:
      a signal while the data loads or features are computed ends the command with exit 130 and no traceback;
      the trial, the sweep controller, the worker and pretraining install their own handlers for their parts;
    * a closed stdout or stderr (``| head``, a closed terminal) silences the output, not the command;
    * once the command has ended and the interpreter exits, a first stop signal is ignored and a second one
      ends the process at once (:class:`_Exiting`).

    Main thread only (signal handlers are process-wide); elsewhere the block runs unchanged.
    """
    if not in_main_thread():
        yield
        return
    quiet_when_gone()
    _EXITING.register()
    previous = install(_as_interrupt, TERMINATING)
    exiting = True
    try:
        yield
        exiting = False
    finally:
        if exiting:  # SystemExit (how every Typer command ends) or an error: the interpreter exits next
            _EXITING.begin()
        else:
            restore(previous)


def _as_interrupt(signum: int, frame: types.FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
