"""Registry models for graph encoders pretrained by greenft (``gin-contrastive``, ``gcn-contrastive``).

Such a model *is* its base model (``gin``, ``gcn``: same encoder, featuriser, loader and head) started from
the checkpoint ``greenft pretrain NAME`` wrote, found at the default location (:mod:`greenft.models.checkpoint_paths`)
unless ``model.checkpoint`` names another. ``model.random_init: true`` builds the base model at the
checkpoint's size with random weights: the control arm of pretrained vs random. The file is read by the one
graph loader (:mod:`greenft.models.published`), like any other graph checkpoint.

Graph checkpoint directory (written atomically, like the 1D one)::

    checkpoint/
      encoder.pt               greenft-encoder format (see greenft.models.greenft_format): weights, architecture,
                               featuriser name/version and provenance (corpus, steps, emissions, ...)
      greenft_checkpoint.json  the same metadata as JSON, for people and tools that do not load torch files
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from greenft.io import write_directory_atomically
from greenft.models.base import BuiltModel, ModelFamily
from greenft.models.checkpoint_paths import (
    checkpoint_info,
    default_checkpoint_dir,
    missing_checkpoint_error,
    resolve_checkpoint_dir,
)
from greenft.models.config import ModelConfig
from greenft.models.graph_encoder import GraphEncoder
from greenft.models.greenft_format import GREENFT_FORMAT, save_encoder
from greenft.models.sequence.checkpoint import write_json

ENCODER_FILE = "encoder.pt"
GRAPH_META_FILE = "greenft_checkpoint.json"


def graph_checkpoint_saver(
    base_model: str, family: str, architecture: dict[str, Any]
) -> Callable[[nn.Module, Any, dict[str, Any]], Path]:
    """A function writing an encoder of ``base_model`` as a greenft graph checkpoint directory for ``family``."""

    def save(encoder: nn.Module, target: Any, provenance: dict[str, Any]) -> Path:
        if not isinstance(encoder, GraphEncoder):
            raise TypeError(f"a graph checkpoint holds a GraphEncoder, not a {type(encoder).__name__}")

        def write(directory: Path) -> None:
            save_encoder(encoder, directory / ENCODER_FILE, base_model, provenance)
            write_json(
                directory / GRAPH_META_FILE,
                {
                    "format": GREENFT_FORMAT,
                    "family": family,
                    "base_model": base_model,
                    "encoder_file": ENCODER_FILE,
                    "architecture": architecture,
                    "provenance": provenance,
                },
            )

        return write_directory_atomically(Path(target), write)

    return save


class PretrainedGraphFamily(ModelFamily):
    """``<base>-contrastive``: the base graph model started from greenft's pretrained encoder."""

    def __init__(self, name: str, base: ModelFamily, objective: str) -> None:
        self.name = name
        self.base = base
        self.base_model = base.name
        self.description = f"{base.name} encoder pretrained by `greenft pretrain {name}` ({objective})"

    def encode(self, smiles: list[str], labels: np.ndarray, cache_dir: Path | None = None) -> Sequence[Any]:
        return self.base.encode(smiles, labels, cache_dir)

    def loader(
        self, items: Sequence[Any], batch_size: int, shuffle: bool, generator: torch.Generator | None = None
    ) -> Iterable[Any]:
        return self.base.loader(items, batch_size, shuffle, generator)

    def build_for_weights(
        self,
        config: ModelConfig,
        num_tasks: int,
        vocabulary: list[str] | None,
        encoder_config: dict[str, Any] | None,
    ) -> nn.Module:
        """The base model's architecture: the pretrained checkpoint only decided its sizes, recorded in ``config``."""
        return self.base.build_for_weights(config, num_tasks, vocabulary, encoder_config)

    def encode_unlabelled(self, smiles: list[str], num_tasks: int) -> Sequence[Any]:
        return self.base.encode_unlabelled(smiles, num_tasks)

    def checkpoint_file(self, config: ModelConfig) -> Path:
        """``model.checkpoint`` (a file, a checkpoint directory or a run directory) or the default location."""
        if config.checkpoint is not None:
            path = resolve_checkpoint_dir(config.checkpoint)
            return path / ENCODER_FILE if path.is_dir() else path
        path = default_checkpoint_dir(self.name)
        if not (path / ENCODER_FILE).is_file():
            raise missing_checkpoint_error(self.name, path)
        return path / ENCODER_FILE

    def build(self, config: ModelConfig, num_tasks: int) -> BuiltModel:
        """The base model on the checkpoint: its weights, or random weights at its size (``random_init``); the
        base model decides both and checks the sizes given against the checkpoint's (greenft.models.applied)."""
        path = self.checkpoint_file(config)
        built = self.base.build(config.model_copy(update={"checkpoint": path}), num_tasks)
        if not config.random_init:
            format_label, provenance = built.info["checkpoint_format"], built.info["checkpoint_provenance"]
            built.info.update(checkpoint_info(path.parent, format_label, provenance))
        built.info["family"] = self.name
        built.info["base_model"] = self.base_model
        return built
