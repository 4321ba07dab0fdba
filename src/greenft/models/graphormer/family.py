"""The registry family ``graphormer``: random-init graph transformer on OGB-style graphs in canonical atom order.

There is no pretrained Graphormer checkpoint in greenft (transformers 5 dropped the model, and greenft has no
Graphormer pretraining yet), so ``model.checkpoint`` is refused rather than silently ignored. ``num_layers``,
``emb_dim``, ``num_heads`` and ``dropout`` size the model; ``max_length`` (tokens) and ``pooling`` (the readout
is the graph token) do not apply: as for a graph model given a transformer option, a given value is recorded at
its default with a warning, so a sweep over several families still runs (greenft.models.applied).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from greenft.data.featurize_graphormer import GRAPHORMER_FEATURES
from greenft.data.graph_cache import featurise
from greenft.data.rdkit_quiet import rdkit_quiet
from greenft.errors import GreenftWarning
from greenft.models.applied import default_of
from greenft.models.base import BuiltModel, ModelFamily, count_parameters
from greenft.models.config import ModelConfig
from greenft.models.errors import ModelOptionError
from greenft.models.graphormer.batch import MAX_PATH_EDGES, GraphormerItem, GraphormerLoader, graphormer_item
from greenft.models.graphormer.model import MAX_DISTANCE, GraphormerEncoder, GraphormerModel, default_num_heads

NAME = "graphormer"


def _heads(config: ModelConfig) -> int:
    heads = config.num_heads if config.num_heads is not None else default_num_heads(config.emb_dim)
    if config.emb_dim % heads:
        raise ModelOptionError(
            f"model.emb_dim = {config.emb_dim} (--emb-dim) is not divisible by model.num_heads = {heads} (--heads); "
            f"{NAME!r} needs a width that is a multiple of the heads"
        )
    return heads


def _model(config: ModelConfig, num_tasks: int) -> GraphormerModel:
    return GraphormerModel(
        GraphormerEncoder(config.num_layers, config.emb_dim, _heads(config), config.dropout), num_tasks
    )


class GraphormerFamily(ModelFamily):
    name = NAME
    description = (
        "Graphormer-style graph transformer (degree, shortest-path spatial and path-edge attention biases, graph "
        f"token readout), random init; featuriser {GRAPHORMER_FEATURES.name}: {GRAPHORMER_FEATURES.description}"
    )

    def build(self, config: ModelConfig, num_tasks: int) -> BuiltModel:
        if config.checkpoint is not None:
            raise ModelOptionError(
                f"model.checkpoint = {str(config.checkpoint)!r} (--checkpoint): {NAME!r} has no pretrained "
                "checkpoints and trains from random weights; leave the option out"
            )
        if config.checkpoint_format != default_of("checkpoint_format"):
            raise ModelOptionError(
                f"model.checkpoint_format = {config.checkpoint_format!r} (--checkpoint-format) applies to graph "
                f"checkpoints only; {NAME!r} reads none (leave the option out)"
            )
        applied = {
            name: default_of(name) for name in ("max_length", "pooling") if getattr(config, name) != default_of(name)
        }
        if applied:
            given = ", ".join(f"model.{name} = {getattr(config, name)!r}" for name in applied)
            warnings.warn(
                GreenftWarning(
                    f"{given} not applied: {NAME!r} reads out its graph token and takes no tokens; the run config "
                    "records the defaults"
                ),
                stacklevel=2,
            )
        model = _model(config, num_tasks)
        info: dict[str, Any] = {
            "family": NAME,
            "featurizer": GRAPHORMER_FEATURES.name,
            "init": "random",
            "num_layers": config.num_layers,
            "emb_dim": config.emb_dim,
            "num_heads": model.encoder.num_heads,
            "max_distance": MAX_DISTANCE,
            "max_path_edges": MAX_PATH_EDGES,
            "parameters": count_parameters(model),
        }
        return BuiltModel(model, "random", info, applied)

    def encode(self, smiles: list[str], labels: np.ndarray, cache_dir: Path | None = None) -> Sequence[GraphormerItem]:
        """Graphs from the graph cache (featuriser ``ogb-canonical``), then each molecule's shortest paths."""
        return [graphormer_item(graph) for graph in featurise(smiles, labels, cache_dir, GRAPHORMER_FEATURES)]

    def encode_unlabelled(self, smiles: list[str], num_tasks: int) -> Sequence[GraphormerItem]:
        """Items with NaN labels, featurised without the disk cache (a ValueError for a SMILES RDKit rejects)."""
        items = []
        with rdkit_quiet():
            for text in smiles:
                graph = GRAPHORMER_FEATURES.smiles_to_graph(text)
                graph.y = torch.full((1, num_tasks), float("nan"))
                items.append(graphormer_item(graph))
        return items

    def loader(
        self, items: Sequence[Any], batch_size: int, shuffle: bool, generator: torch.Generator | None = None
    ) -> Iterable[Any]:
        return GraphormerLoader(items, batch_size, shuffle, generator)

    def build_for_weights(
        self,
        config: ModelConfig,
        num_tasks: int,
        vocabulary: list[str] | None,
        encoder_config: dict[str, Any] | None,
    ) -> nn.Module:
        """The architecture at the recorded sizes: nothing but the model section is needed."""
        return _model(config, num_tasks)
