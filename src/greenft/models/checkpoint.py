"""The GIN view of a graph checkpoint, for callers of greenft's first (GIN-only) reader: :func:`read_checkpoint`.

``gin`` once had a reader of its own, which ignored ``--checkpoint-format``, refused a state dict nested in a
training checkpoint and labelled files differently from ``greenft checkpoint inspect``. Reading is now the one
graph loader's (:func:`greenft.models.published.detect_checkpoint`); this module only reshapes its answer for
a GIN into the record the old reader returned. The format is in :mod:`greenft.models.greenft_format`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from greenft.models.errors import CheckpointError
from greenft.models.published import NotAnEncoderError, detect_checkpoint, require_model


@dataclass(frozen=True)
class GinArchitecture:
    num_layers: int
    emb_dim: int


@dataclass
class LoadedCheckpoint:
    path: Path
    format: str  # the container: "greenft-encoder/v1" or "raw-state-dict" (the logged label is the loader's)
    architecture: GinArchitecture
    state_dict: dict[str, torch.Tensor]
    provenance: dict[str, Any] = field(default_factory=dict)


def read_checkpoint(path: Path) -> LoadedCheckpoint:
    """A Hu et al. GIN encoder checkpoint (greenft format or a raw state dict); an error for anything else."""
    try:
        detected = require_model(detect_checkpoint(path), "gin")
    except NotAnEncoderError as err:
        raise CheckpointError(f"{path}: not a GIN encoder ({err.reason})") from None
    container = detected.format_label if detected.format == "greenft" else "raw-state-dict"
    architecture = GinArchitecture(detected.num_layers, detected.emb_dim)
    return LoadedCheckpoint(Path(path), container, architecture, detected.encoder_state, detected.provenance)
