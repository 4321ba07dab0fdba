"""Models: the 2D GIN family (Hu et al. 2020 layout), checkpoints and the model registry."""

from greenft.models.checkpoint import CheckpointError, read_checkpoint, save_encoder_checkpoint
from greenft.models.gin import GINEncoder, GraphPropertyModel
from greenft.models.registry import KNOWN_MODELS, BuiltModel, UnknownModelError, build_model

__all__ = [
    "KNOWN_MODELS",
    "BuiltModel",
    "CheckpointError",
    "GINEncoder",
    "GraphPropertyModel",
    "UnknownModelError",
    "build_model",
    "read_checkpoint",
    "save_encoder_checkpoint",
]
