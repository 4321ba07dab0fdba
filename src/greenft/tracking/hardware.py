"""What the measured machine is, for the records a run or a benchmark writes beside its emissions."""

from __future__ import annotations

import contextlib
import platform
from pathlib import Path

__all__ = ["cpu_model"]


def cpu_model(default: str | None = None) -> str:
    """The CPU's model name (``/proc/cpuinfo``), else :func:`platform.processor`, else ``default`` (the machine
    type, e.g. ``x86_64``, when None)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or (platform.machine() if default is None else default)
