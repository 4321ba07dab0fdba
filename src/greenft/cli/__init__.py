"""The ``greenft`` command line. Each module registers its commands on the shared Typer ``app``."""

from greenft.cli import datasets, train
from greenft.cli.app import app

__all__ = ["app", "datasets", "train"]
