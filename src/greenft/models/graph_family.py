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
from torch import nn
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader

from greenft.data.graph_cache import featurise
from greenft.data.rdkit_quiet import rdkit_quiet
from greenft.models.applied import architecture_applied, options_of_other_families
from greenft.models.base import BuiltModel, ModelFamily, count_parameters
from greenft.models.config import ModelConfig
from greenft.models.graph_encoder import GraphPropertyModel
from greenft.models.graph_layouts import LAYOUTS, EncoderLayout
from greenft.models.published import detect_checkpoint, load_encoder, require_model


class GraphFamily(ModelFamily):
    """A registry model for one graph layout: random init, or the authors' (or greenft's) weights."""

    def __init__(self, layout: EncoderLayout) -> None:
        self.layout = layout
        self.name = layout.model
        self.description = (
            f"{layout.description} encoder ({layout.featurizer.name} featuriser: {layout.featurizer.description})"
        )

    def build(self, config: ModelConfig, num_tasks: int) -> BuiltModel:
        """Random, the checkpoint's weights, or (``random_init``) random weights at the checkpoint's size.

        ``random_init`` with a checkpoint used to load the weights anyway while the run config said
        ``random_init: true``: the control arm of a pretrained-vs-random comparison was pretrained.
        """
        applied = options_of_other_families(config, self.name, graph=True, has_checkpoint=config.checkpoint is not None)
        info: dict[str, Any] = {"family": self.name, "featurizer": self.layout.featurizer.name}
        if config.checkpoint is not None and config.random_init:
            detected = require_model(detect_checkpoint(config.checkpoint, config.checkpoint_format), self.name)
            sizes = {"num_layers": detected.num_layers, "emb_dim": detected.emb_dim}
            applied.update(architecture_applied(config, f"checkpoint {detected.path}", sizes))
            encoder = self.layout.build(detected.num_layers, detected.emb_dim, config.dropout)
            init = "random"
            info["architecture_from"] = str(detected.path)
        elif config.checkpoint is not None:
            report = load_encoder(config.checkpoint, self.name, config.checkpoint_format, config.dropout)
            encoder = report.encoder
            sizes = {"num_layers": encoder.num_layers, "emb_dim": encoder.emb_dim}
            applied.update(architecture_applied(config, f"checkpoint {report.detected.path}", sizes))
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
        return BuiltModel(model, init, info, applied)

    def encode(self, smiles: list[str], labels: np.ndarray, cache_dir: Path | None = None) -> Sequence[Data]:
        return featurise(smiles, labels, cache_dir, self.layout.featurizer)

    def build_for_weights(
        self,
        config: ModelConfig,
        num_tasks: int,
        vocabulary: list[str] | None,
        encoder_config: dict[str, Any] | None,
    ) -> nn.Module:
        """The layout's encoder at the recorded sizes (the checkpoint's, when one trained) with the run's head."""
        encoder = self.layout.build(config.num_layers, config.emb_dim, config.dropout)
        return GraphPropertyModel(encoder, num_tasks, config.pooling)

    def encode_unlabelled(self, smiles: list[str], num_tasks: int) -> Sequence[Data]:
        """Graphs with NaN labels, featurised without the disk cache (a ValueError for a SMILES RDKit rejects)."""
        graphs = []
        with rdkit_quiet():
            for text in smiles:
                graph = self.layout.featurizer.smiles_to_graph(text)
                graph.y = torch.full((1, num_tasks), float("nan"))
                graphs.append(graph)
        return graphs

    def loader(
        self, items: Sequence[Any], batch_size: int, shuffle: bool, generator: torch.Generator | None = None
    ) -> Iterable[Any]:
        loader: Iterable[Any] = DataLoader(list(items), batch_size, shuffle=shuffle, generator=generator)
        return loader


def graph_families() -> list[GraphFamily]:
    """One registry model per graph layout."""
    return [GraphFamily(layout) for layout in LAYOUTS.values()]
