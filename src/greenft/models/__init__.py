"""Models: families (GIN, ...) behind one interface, checkpoints and the model registry."""

from greenft.models.base import BuiltModel, ModelFamily, count_parameters
from greenft.models.checkpoint import CheckpointError, read_checkpoint, save_encoder_checkpoint
from greenft.models.config import ModelConfig
from greenft.models.gin import GINEncoder, GinFamily, GraphPropertyModel
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
    "GinFamily",
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
