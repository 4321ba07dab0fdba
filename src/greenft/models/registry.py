"""Model names a config or a sweep can use, and the factory that builds them (and loads checkpoints)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenft.models.checkpoint import load_into_encoder, read_checkpoint
from greenft.models.gin import GINEncoder, GraphPropertyModel

KNOWN_MODELS = ("gin",)


class UnknownModelError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


@dataclass
class BuiltModel:
    model: GraphPropertyModel
    init: str  # "random" or "pretrained:<path>"
    info: dict[str, Any]  # logged to the run config: parameters, architecture, checkpoint format/provenance


def count_parameters(model: GraphPropertyModel) -> int:
    return sum(p.numel() for p in model.parameters())


def build_model(
    name: str,
    num_tasks: int,
    num_layers: int,
    emb_dim: int,
    dropout: float,
    pooling: str,
    checkpoint: Path | None = None,
) -> BuiltModel:
    """Build ``name``; with a checkpoint its architecture wins over ``num_layers``/``emb_dim`` (and is logged)."""
    if name not in KNOWN_MODELS:
        raise UnknownModelError(f"unknown model {name!r}; known models: {', '.join(KNOWN_MODELS)}")
    info: dict[str, Any] = {}
    if checkpoint is not None:
        loaded = read_checkpoint(checkpoint)
        num_layers, emb_dim = loaded.architecture.num_layers, loaded.architecture.emb_dim
        encoder = GINEncoder(num_layers, emb_dim, dropout)
        load_into_encoder(loaded, encoder)
        init = f"pretrained:{loaded.path}"
        info.update(checkpoint_format=loaded.format, checkpoint_provenance=loaded.provenance)
    else:
        encoder = GINEncoder(num_layers, emb_dim, dropout)
        init = "random"
    model = GraphPropertyModel(encoder, num_tasks, pooling)
    info.update(init=init, num_layers=num_layers, emb_dim=emb_dim, parameters=count_parameters(model))
    return BuiltModel(model, init, info)
