"""Reading a torch file greenft did not necessarily write: the one place ``torch.load`` is called.

Checkpoints come from users and from other projects, so they are loaded with ``weights_only=True`` (tensors and
plain containers, never arbitrary pickled code) onto the CPU, and every way that can fail (missing file, not a
torch file, pickled objects, a bare tensor instead of a dict) becomes one :class:`CheckpointError` that names
the file. Graph checkpoints, greenft's encoder format and the pretraining state all read through here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from greenft.models.errors import CheckpointError


def load_torch_file(path: Path, what: str = "checkpoint") -> dict[str, Any]:
    """The dict saved in ``path``; ``what`` ("checkpoint", "pretraining state") names the file in errors."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} not found: {path}")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a file that is not a (safe) torch file
        raise CheckpointError(f"{path}: cannot be read as a torch {what} (weights_only=True): {err}") from err
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path}: expected a dict in this torch {what}, found {type(raw).__name__}")
    return raw
