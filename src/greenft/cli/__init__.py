"""The ``greenft`` command line. Every command module is listed here, once: importing it registers its commands
(and command groups) on the shared Typer ``app``; nothing else imports a command module."""

from greenft.agents.threads import prefer_passive_waiting
from greenft.cli import analyze, baseline, checkpoint, datasets, predict, pretrain, quantize, sweep, train, tune
from greenft.cli.app import app

prefer_passive_waiting()  # OMP_WAIT_POLICY=PASSIVE unless set: before any command imports torch (in its body)

COMMAND_MODULES = (train, datasets, checkpoint, pretrain, sweep, analyze, tune, predict, quantize, baseline)
"""Every command module: `greenft train|datasets|checkpoint|pretrain|sweep|agent|analyze|tune|predict|evaluate|
quantize|baseline`."""

__all__ = ["COMMAND_MODULES", "app"]
