"""Models: families (GIN, GCN, transformers) behind one interface, checkpoints and the model registry.

Layers: ``graph_encoder`` (the shared GNN body) < ``gin``/``gcn`` (layers) < ``graph_layouts`` (the table of
graph models) < ``greenft_format``/``published`` (the one graph checkpoint writer and loader) <
``graph_family``/``pretrained_graph`` and ``sequence`` (registry families) < ``registry``. Nothing here imports
``greenft.pretrain``, ``agents`` or anything above them.

Names are imported lazily, on first use, as in greenft.sweeps: `greenft --help` and a user error found before any
work must not pay for the heavy modules (torch, RDKit, pandas) that only some of these names need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greenft.models.base import BuiltModel, ModelFamily, count_parameters
    from greenft.models.checkpoint import read_checkpoint
    from greenft.models.config import ModelConfig
    from greenft.models.errors import CheckpointError
    from greenft.models.gin import GINEncoder
    from greenft.models.graph_encoder import GraphPropertyModel
    from greenft.models.greenft_format import save_encoder_checkpoint
    from greenft.models.names import UnknownModelError
    from greenft.models.registry import (
        MODEL_FAMILIES,
        build_model,
        get_family,
        known_models,
        register_family,
    )

_EXPORTS = {
    "BuiltModel": "greenft.models.base",
    "ModelFamily": "greenft.models.base",
    "count_parameters": "greenft.models.base",
    "read_checkpoint": "greenft.models.checkpoint",
    "ModelConfig": "greenft.models.config",
    "CheckpointError": "greenft.models.errors",
    "GINEncoder": "greenft.models.gin",
    "GraphPropertyModel": "greenft.models.graph_encoder",
    "save_encoder_checkpoint": "greenft.models.greenft_format",
    "MODEL_FAMILIES": "greenft.models.registry",
    "UnknownModelError": "greenft.models.names",
    "build_model": "greenft.models.registry",
    "get_family": "greenft.models.registry",
    "known_models": "greenft.models.registry",
    "register_family": "greenft.models.registry",
}

__all__ = [
    "MODEL_FAMILIES",
    "BuiltModel",
    "CheckpointError",
    "GINEncoder",
    "GraphPropertyModel",
    "ModelConfig",
    "ModelFamily",
    "UnknownModelError",
    "build_model",
    "count_parameters",
    "get_family",
    "known_models",
    "read_checkpoint",
    "register_family",
    "save_encoder_checkpoint",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'greenft.models' has no attribute {name!r}")
