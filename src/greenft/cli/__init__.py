"""The ``greenft`` command line. Each module registers its commands on the shared Typer ``app``."""

from greenft.cli import analyze as analyze  # registers `greenft analyze` and `greenft tune`
from greenft.cli import checkpoint as checkpoint  # `greenft checkpoint inspect` (registers on import)
from greenft.cli import datasets, train
from greenft.cli import pretrain as pretrain  # registers `greenft pretrain NAME`
from greenft.cli import sweep as sweep  # registers `greenft sweep ...` and `greenft agent`
from greenft.cli.app import app

__all__ = ["app", "datasets", "train"]
