"""The registry models for the graph encoder layouts (``gin``, ``gcn``, ``gin-molclr``, ``gcn-molclr``).

One class for all four: a model is its layout's encoder (random, or the weights of ``model.checkpoint`` read by
the one graph loader), pooled into a linear head, on graphs from its layout's featuriser. So ``--checkpoint``,
``--checkpoint-format`` and the logged ``checkpoint_format`` label mean the same for every graph model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader

from greenft.data.graph_cache import featurise
from greenft.models.base import BuiltModel, ModelFamily, count_parameters
from greenft.models.config import ModelConfig
from greenft.models.graph_encoder import GraphPropertyModel
from greenft.models.graph_layouts import LAYOUTS, EncoderLayout
from greenft.models.published import load_encoder


class GraphFamily(ModelFamily):
    """A registry model for one graph layout: random init, or the authors' (or greenft's) weights."""

    def __init__(self, layout: EncoderLayout) -> None:
        self.layout = layout
        self.name = layout.model
        self.description = (
            f"{layout.description} encoder ({layout.featurizer.name} featuriser: {layout.featurizer.description})"
        )

    def build(self, config: ModelConfig, num_tasks: int) -> BuiltModel:
        info: dict[str, Any] = {"family": self.name, "featurizer": self.layout.featurizer.name}
        if config.checkpoint is not None:
            report = load_encoder(config.checkpoint, self.name, config.checkpoint_format, config.dropout)
            encoder = report.encoder
            init = f"pretrained:{report.detected.path}"
            info.update(
                checkpoint_format=report.detected.format_label,
                checkpoint_provenance=report.detected.provenance,
                checkpoint_ignored_head_keys=len(report.detected.ignored_head_keys),
            )
        else:
            encoder = self.layout.build(config.num_layers, config.emb_dim, config.dropout)
            init = "random"
        model = GraphPropertyModel(encoder, num_tasks, config.pooling)
        info.update(
            init=init, num_layers=encoder.num_layers, emb_dim=encoder.emb_dim, parameters=count_parameters(model)
        )
        return BuiltModel(model, init, info)

    def encode(self, smiles: list[str], labels: np.ndarray, cache_dir: Path | None = None) -> Sequence[Data]:
        return featurise(smiles, labels, cache_dir, self.layout.featurizer)

    def loader(
        self, items: Sequence[Any], batch_size: int, shuffle: bool, generator: torch.Generator | None = None
    ) -> Iterable[Any]:
        loader: Iterable[Any] = DataLoader(list(items), batch_size, shuffle=shuffle, generator=generator)
        return loader


def graph_families() -> list[GraphFamily]:
    """One registry model per graph layout."""
    return [GraphFamily(layout) for layout in LAYOUTS.values()]
