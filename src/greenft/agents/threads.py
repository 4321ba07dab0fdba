"""How many torch threads a run uses, and how its OpenMP threads wait: one choice for train, sweeps and pretrain.

Why not torch's default (one thread per core): torch's OpenMP threads meet at a barrier after every operator, so
an epoch runs at the pace of the slowest thread. When another process holds one of the cores, the thread that
shares it waits for the scheduler at every barrier while the others spin. Measured with
``benchmarks/threads.py`` on a 2-core box (docs/architecture.md, "Threads", has the figures): with one core
taken by another job, two threads made an epoch several times slower than one thread, and the CPU seconds a
load-based CodeCarbon estimate follows grew as much; on an idle box two threads gained far less than that.

So the default is **the cores actually free**: the CPUs this process may run on (``os.sched_getaffinity``: a
container's or taskset's share, not the host's count) less the machine's 1-minute load average rounded to the
nearest whole core, at least 1. ``--threads N`` (or ``threads:`` in a config) and ``OMP_NUM_THREADS`` set by the
user win over it. The choice and why are recorded in the run's config (``derived.threads``).

``OMP_WAIT_POLICY=PASSIVE`` (unless the user set it) makes a waiting OpenMP thread sleep instead of spinning, so
a thread waiting at a barrier does not take CPU from the thread it waits for. OpenMP reads it once, when torch
loads it, so the command line sets it (:func:`prefer_passive_waiting`) before any command imports torch.

Pure apart from reading the environment and the load average; only :func:`apply_threads` imports torch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

WAIT_POLICY = "OMP_WAIT_POLICY"
GREENFT_WAIT_POLICY = "PASSIVE"


@dataclass(frozen=True)
class ThreadChoice:
    """The torch threads of a run and why: ``chosen_by`` is ``threads`` (the config or ``--threads``),
    ``OMP_NUM_THREADS`` (the environment) or ``free cores`` (usable CPUs less the 1-minute load)."""

    threads: int
    chosen_by: str
    usable_cores: int
    load_1min: float | None

    def describe(self, env: Mapping[str, str] | None = None) -> dict[str, Any]:
        """What the run's config records (``derived.threads``)."""
        env = os.environ if env is None else env
        return {
            "threads": self.threads,
            "chosen_by": self.chosen_by,
            "usable_cores": self.usable_cores,
            "load_1min": None if self.load_1min is None else round(self.load_1min, 2),
            "omp_wait_policy": env.get(WAIT_POLICY),
        }


def usable_cores() -> int:
    """CPUs this process may run on (a container's or taskset's share, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def load_1min() -> float | None:
    """The machine's 1-minute load average (runnable processes), None where the platform has none."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def free_cores(usable: int, load: float | None) -> int:
    """``usable`` less the cores the load keeps busy (rounded half up: a job using a core half the time counts),
    at least 1. Without a load figure, all ``usable`` cores."""
    busy = 0 if load is None else math.floor(load + 0.5)
    return max(1, usable - busy)


def choose_threads(requested: int | None, env: Mapping[str, str] | None = None) -> ThreadChoice:
    """The torch threads of a run: ``requested`` if given, else ``OMP_NUM_THREADS`` if set, else the free cores."""
    env = os.environ if env is None else env
    usable, load = usable_cores(), load_1min()
    if requested is not None:
        return ThreadChoice(requested, "threads", usable, load)
    omp = env.get("OMP_NUM_THREADS", "").strip()
    if omp.isdigit() and int(omp) >= 1:
        return ThreadChoice(int(omp), "OMP_NUM_THREADS", usable, load)
    return ThreadChoice(free_cores(usable, load), "free cores", usable, load)


def apply_threads(choice: ThreadChoice) -> int:
    """Set torch's intra-op threads to ``choice.threads``; the number torch then uses."""
    import torch

    torch.set_num_threads(choice.threads)
    return int(torch.get_num_threads())


def prefer_passive_waiting(env: MutableMapping[str, str] | None = None) -> str:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` unless the user set a policy; the policy in effect. Call it before torch
    is imported (OpenMP reads it once): the command line calls it when it starts."""
    env = os.environ if env is None else env
    return env.setdefault(WAIT_POLICY, GREENFT_WAIT_POLICY)
