"""Encoder checkpoints: greenft's own documented format, and raw state dicts as published authors ship them.

greenft format (a ``torch.save`` of a plain dict, loadable with ``weights_only=True``)::

    {"format": "greenft-encoder", "version": 1,
     "architecture": {"family": "gin", "num_layers": 5, "emb_dim": 300},
     "featurizer": {"name": "hu2020", "version": 1},
     "provenance": {...free-form: who/what/when pretrained it, corpus, emissions...},
     "state_dict": {<encoder parameter name>: tensor}}

A raw state dict (e.g. Hu et al.'s ``*.pth``) is accepted too; a ``gnn.`` prefix (their fine-tuned models)
is stripped, and the architecture is read off the tensor shapes. Loading is strict about the encoder: a
missing or unexpected encoder key is an error, because silently half-loaded weights would make every
"pretrained vs random" comparison meaningless.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from greenft.data.featurize import FEATURIZER_NAME, FEATURIZER_VERSION
from greenft.models.gin import GINEncoder, GraphEncoder

GREENFT_FORMAT = "greenft-encoder"
GREENFT_FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class GinArchitecture:
    num_layers: int
    emb_dim: int


@dataclass
class LoadedCheckpoint:
    path: Path
    format: str  # "greenft-encoder/v1" or "raw-state-dict"
    architecture: GinArchitecture
    state_dict: dict[str, torch.Tensor]
    provenance: dict[str, Any] = field(default_factory=dict)


def infer_gin_architecture(state_dict: dict[str, torch.Tensor], path: Path) -> GinArchitecture:
    layers = {int(m.group(1)) for key in state_dict if (m := re.match(r"gnns\.(\d+)\.", key))}
    if "x_embedding1.weight" not in state_dict or not layers:
        raise CheckpointError(f"{path}: not a GIN encoder state dict (no x_embedding1 / gnns.<i> keys)")
    return GinArchitecture(num_layers=max(layers) + 1, emb_dim=int(state_dict["x_embedding1.weight"].shape[1]))


def read_checkpoint(path: Path) -> LoadedCheckpoint:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a non-checkpoint file
        raise CheckpointError(f"{path}: cannot be read as a torch checkpoint: {err}") from err
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path}: expected a dict, found {type(raw).__name__}")
    if raw.get("format") == GREENFT_FORMAT:
        if raw.get("version") != GREENFT_FORMAT_VERSION:
            raise CheckpointError(f"{path}: greenft checkpoint version {raw.get('version')} is not supported")
        featurizer = raw.get("featurizer", {})
        if featurizer.get("name") != FEATURIZER_NAME:
            raise CheckpointError(f"{path}: made for featurizer {featurizer.get('name')!r}, not {FEATURIZER_NAME!r}")
        arch = raw.get("architecture", {})
        if arch.get("family") != "gin":
            raise CheckpointError(f"{path}: architecture family {arch.get('family')!r} is not a GIN")
        state = dict(raw["state_dict"])
        return LoadedCheckpoint(
            path,
            f"{GREENFT_FORMAT}/v{GREENFT_FORMAT_VERSION}",
            GinArchitecture(int(arch["num_layers"]), int(arch["emb_dim"])),
            state,
            dict(raw.get("provenance", {})),
        )
    tensors = {str(k): v for k, v in raw.items() if isinstance(v, torch.Tensor)}
    if any(k.startswith("gnn.") for k in tensors):
        tensors = {k.removeprefix("gnn."): v for k, v in tensors.items() if k.startswith("gnn.")}
    from greenft.models.published import layout_of_state_dict  # lazy: that module imports this one

    layout = layout_of_state_dict(tensors)
    if layout is not None and layout.model != "gin":
        raise CheckpointError(
            f"{path}: is a {layout.description} checkpoint, not a Hu et al. GIN; use --model {layout.model} "
            f"(greenft checkpoint inspect {path} shows what it holds)"
        )
    return LoadedCheckpoint(path, "raw-state-dict", infer_gin_architecture(tensors, path), tensors)


def load_into_encoder(checkpoint: LoadedCheckpoint, encoder: GINEncoder) -> None:
    """Copy the weights; an error naming every missing/unexpected key when they do not match exactly."""
    try:
        result = encoder.load_state_dict(checkpoint.state_dict, strict=False)
    except RuntimeError as err:  # tensors of the wrong shape (another vocabulary or width)
        raise CheckpointError(
            f"{checkpoint.path}: does not fit a GIN encoder ({checkpoint.architecture}): {err}"
        ) from None
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(
            f"{checkpoint.path}: does not fit a GIN encoder ({checkpoint.architecture}); "
            f"missing keys {result.missing_keys[:8]}, unexpected keys {result.unexpected_keys[:8]}"
        )


def save_encoder_checkpoint(
    encoder: GraphEncoder,
    path: Path,
    provenance: dict[str, Any] | None = None,
    *,
    family: str = "gin",
    featurizer: tuple[str, int] = (FEATURIZER_NAME, FEATURIZER_VERSION),
) -> Path:
    """Write an encoder checkpoint in greenft's format atomically (temporary file, then rename).

    ``family`` and ``featurizer`` (name, version) record what the weights mean; the defaults are the GIN on
    Hu et al. graphs. Other layouts (GCN, MolCLR) pass theirs (see ``greenft.models.published.save_encoder``).
    """
    payload = {
        "format": GREENFT_FORMAT,
        "version": GREENFT_FORMAT_VERSION,
        "architecture": {"family": family, "num_layers": encoder.num_layers, "emb_dim": encoder.emb_dim},
        "featurizer": {"name": featurizer[0], "version": featurizer[1]},
        "provenance": provenance or {},
        "state_dict": {k: v.detach().cpu() for k, v in encoder.state_dict().items()},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path
