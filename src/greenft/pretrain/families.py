"""Registry models for graph encoders pretrained by greenft (``gin-contrastive``, ``gcn-contrastive``).

Such a model *is* its base model (``gin``, ``gcn``: same encoder, featuriser, loader and head) started from
the checkpoint ``greenft pretrain NAME`` wrote, found at the default location (:mod:`greenft.pretrain.store`)
unless ``model.checkpoint`` names another. ``model.random_init: true`` builds the base model at the
checkpoint's size with random weights: the control arm of pretrained vs random.

Graph checkpoint directory (written atomically, like the 1D one)::

    checkpoint/
      encoder.pt               greenft-encoder format (see greenft.models.checkpoint): weights, architecture,
                               featuriser name/version and provenance (corpus, steps, emissions, ...)
      greenft_checkpoint.json  the same metadata as JSON, for people and tools that do not load torch files

The base model is looked up in the registry when first used, not at import: this module is imported by
the registry itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from greenft.models.base import BuiltModel, ModelFamily
from greenft.models.checkpoint import CheckpointError
from greenft.models.config import ModelConfig
from greenft.models.gin import GraphEncoder
from greenft.pretrain.store import (
    checkpoint_info,
    default_checkpoint_dir,
    missing_checkpoint_error,
    resolve_checkpoint_dir,
)

ENCODER_FILE = "encoder.pt"
GRAPH_META_FILE = "greenft_checkpoint.json"


def graph_encoder(base_model: str, num_layers: int, emb_dim: int, dropout: float) -> GraphEncoder:
    """A fresh encoder of registry model ``base_model`` (``gin``: Hu et al. GIN; others: published layouts)."""
    if base_model == "gin":
        from greenft.models.gin import GINEncoder

        return GINEncoder(num_layers, emb_dim, dropout)
    from greenft.models.published import LAYOUT_BY_MODEL

    if base_model not in LAYOUT_BY_MODEL:
        raise ValueError(f"no graph encoder for model {base_model!r}; known: gin, {', '.join(sorted(LAYOUT_BY_MODEL))}")
    return LAYOUT_BY_MODEL[base_model].build(num_layers, emb_dim, dropout)


def _write_encoder_file(base_model: str, encoder: nn.Module, path: Path, provenance: dict[str, Any]) -> None:
    if base_model == "gin":
        from greenft.models.checkpoint import save_encoder_checkpoint
        from greenft.models.gin import GINEncoder

        assert isinstance(encoder, GINEncoder)
        save_encoder_checkpoint(encoder, path, provenance)
        return
    from greenft.models.published import save_encoder

    assert isinstance(encoder, GraphEncoder)
    save_encoder(encoder, path, base_model, provenance)


def graph_checkpoint_saver(
    base_model: str, family: str, architecture: dict[str, Any]
) -> Callable[[nn.Module, Any, dict[str, Any]], Path]:
    """A function writing an encoder as a greenft graph checkpoint directory for ``family``."""
    from greenft.models.sequence.checkpoint import write_directory_atomically, write_json

    def save(encoder: nn.Module, target: Any, provenance: dict[str, Any]) -> Path:
        def write(directory: Path) -> None:
            _write_encoder_file(base_model, encoder, directory / ENCODER_FILE, provenance)
            write_json(
                directory / GRAPH_META_FILE,
                {
                    "format": "greenft-encoder",
                    "family": family,
                    "base_model": base_model,
                    "encoder_file": ENCODER_FILE,
                    "architecture": architecture,
                    "provenance": provenance,
                },
            )

        return write_directory_atomically(Path(target), write)

    return save


def _read_payload(path: Path) -> dict[str, Any]:
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a non-checkpoint file
        raise CheckpointError(f"{path}: cannot be read as a torch checkpoint: {err}") from err
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path}: expected a dict, found {type(raw).__name__}")
    return raw


class PretrainedGraphFamily(ModelFamily):
    """``<base>-contrastive``: the base graph model started from greenft's pretrained encoder."""

    def __init__(self, name: str, base_model: str, objective: str) -> None:
        self.name = name
        self.base_model = base_model
        self.description = f"{base_model} encoder pretrained by `greenft pretrain {name}` ({objective})"

    def base(self) -> ModelFamily:
        from greenft.models.registry import get_family

        return get_family(self.base_model)

    def encode(self, smiles: list[str], labels: np.ndarray, cache_dir: Path | None = None) -> Sequence[Any]:
        return self.base().encode(smiles, labels, cache_dir)

    def loader(
        self, items: Sequence[Any], batch_size: int, shuffle: bool, generator: torch.Generator | None = None
    ) -> Iterable[Any]:
        return self.base().loader(items, batch_size, shuffle, generator)

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
        path = self.checkpoint_file(config)
        if not path.is_file():
            raise CheckpointError(f"checkpoint not found: {path}")
        payload = _read_payload(path)
        architecture = payload.get("architecture") or {}
        provenance = dict(payload.get("provenance") or {})
        if config.random_init:
            try:
                sizes = {"num_layers": int(architecture["num_layers"]), "emb_dim": int(architecture["emb_dim"])}
            except (KeyError, TypeError, ValueError):
                raise CheckpointError(f"{path}: no architecture.num_layers/emb_dim to build a random twin") from None
            built = self.base().build(config.model_copy(update={"checkpoint": None, **sizes}), num_tasks)
            built.info["architecture_from"] = str(path)
        else:
            built = self.base().build(config.model_copy(update={"checkpoint": path}), num_tasks)
            built.info.update(checkpoint_info(path.parent, str(built.info.get("checkpoint_format")), provenance))
        built.info["family"] = self.name
        built.info["base_model"] = self.base_model
        return built


def read_graph_checkpoint_meta(directory: Path) -> dict[str, Any]:
    """The JSON sidecar of a graph checkpoint directory (architecture + provenance)."""
    path = Path(directory) / GRAPH_META_FILE
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing (not a greenft graph checkpoint directory)") from None
    except ValueError as err:
        raise CheckpointError(f"{path}: not valid JSON: {err}") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return raw
