"""Signal handling shared by the trial, the agent entry point, the sweep worker and pretraining.

Why one module: every long-running part of greenft must end the same way on Ctrl-C (SIGINT) and on SIGTERM
(``kill``, ``docker stop``, a forwarding ``wandb agent``): finish what is being written, keep every logged epoch,
mark the run. Python installs handlers only in the main thread; elsewhere these helpers do nothing, so library
callers in threads keep their own process's behaviour.
"""

from __future__ import annotations

import signal
import threading
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

Handler = Callable[[int, types.FrameType | None], None]
STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)


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
    """Turn SIGTERM into ``exception`` for the duration, so a stopped agent or controller ends the way Ctrl-C
    ends it."""

    def raise_it(signum: int, frame: types.FrameType | None) -> None:
        raise exception(f"signal {signum}")

    with handling(raise_it, (signal.SIGTERM,)):
        yield


@contextmanager
def signals_held() -> Iterator[list[int]]:
    """Hold SIGINT/SIGTERM (and W&B's stop-from-UI, which raises through the SIGINT handler) for the duration.

    The caller gets the list of signals that arrived and decides whether to re-raise them. Used around the
    logging of one epoch (a stop lands between epochs, so the W&B history and the local epoch log always hold
    the same complete epochs) and around closing the logs (a second Ctrl-C, or an agent forwarding the signal
    the child already got, cannot cut the summary short).
    """
    pending: list[int] = []

    def hold(signum: int, frame: types.FrameType | None) -> None:
        pending.append(signum)

    with handling(hold):
        yield pending


def reraise_first(pending: list[int]) -> None:
    """Deliver the first held signal to its restored handler (each kind once)."""
    if pending:
        signal.raise_signal(pending[0])
