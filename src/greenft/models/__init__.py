"""Models: families (GIN, GCN, transformers) behind one interface, checkpoints and the model registry.

Layers: ``graph_encoder`` (the shared GNN body) < ``gin``/``gcn`` (layers) < ``graph_layouts`` (the table of
graph models) < ``greenft_format``/``published`` (the one graph checkpoint writer and loader) <
``graph_family``/``pretrained_graph`` and ``sequence`` (registry families) < ``registry``. Nothing here imports
``greenft.pretrain``, ``agents`` or anything above them.
"""

from greenft.models.base import BuiltModel, ModelFamily, count_parameters
from greenft.models.checkpoint import read_checkpoint
from greenft.models.config import ModelConfig
from greenft.models.errors import CheckpointError
from greenft.models.gin import GINEncoder
from greenft.models.graph_encoder import GraphPropertyModel
from greenft.models.greenft_format import save_encoder_checkpoint
from greenft.models.registry import (
    MODEL_FAMILIES,
    UnknownModelError,
    build_model,
    get_family,
    known_models,
    register_family,
)

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
